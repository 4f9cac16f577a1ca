import BridgeCore

extension WebhookVerifier {
    /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body)>`; the event id is `X-GitHub-Delivery`.
    func verifyGitHub(headers: [String: String], body: [UInt8]) throws(Rejection) -> String? {
        let value = try header(headers, "x-hub-signature-256")
        guard value.hasPrefix("sha256="), let sig = Hex.decode(String(value.dropFirst(7))) else {
            throw reject("malformed signature header", "X-Hub-Signature-256 is not sha256=<hex>")
        }
        guard macs.contains(where: { constantTimeEqual($0.code(body), sig) }) else {
            throw reject("invalid signature", "GitHub signature mismatch")
        }
        return headers["x-github-delivery"]
    }
}
