import BridgeCore

extension WebhookVerifier {
    /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body)>`; the event id is `X-GitHub-Delivery`
    /// (a digest of the body when a GitHub-compatible sender leaves it out). No timestamp is signed, so
    /// there is no replay window: a replay maps to the same event id and so to no second run.
    func verifyGitHub(headers: [String: String], body: [UInt8]) throws(Rejection) -> Verified {
        let value = try header(headers, "x-hub-signature-256")
        guard value.hasPrefix("sha256="), let sig = Hex.decode(String(value.dropFirst(7))) else {
            throw reject("malformed signature header", "X-Hub-Signature-256 is not sha256=<hex>")
        }
        guard matchingMAC(body, [sig]) != nil else { throw reject("invalid signature", "GitHub signature mismatch") }
        if let delivery = headers["x-github-delivery"], !delivery.isEmpty { return Verified(senderID: delivery) }
        return Verified(contentID: Self.contentID(body))
    }
}
