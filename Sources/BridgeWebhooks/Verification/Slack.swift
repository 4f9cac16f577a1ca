import BridgeCore

extension WebhookVerifier {
    /// Slack: `X-Slack-Signature: v0=<hex>` over `v0:<X-Slack-Request-Timestamp>:body`.
    func verifySlack(tolerance: Double, headers: [String: String], body: [UInt8], now: Double) throws(Rejection) -> Verified {
        let ts = try timestamp(try header(headers, "x-slack-request-timestamp"), now: now, tolerance: tolerance)
        let value = try header(headers, "x-slack-signature")
        guard value.hasPrefix("v0="), let sig = Hex.decode(String(value.dropFirst(3))) else {
            throw reject("malformed signature header", "X-Slack-Signature is not v0=<hex>")
        }
        let content = Array("v0:\(ts):".utf8) + body
        guard let mac = matchingMAC(content, [sig]) else { throw reject("invalid signature", "Slack signature mismatch") }
        let mark = try remember(mac, now: now, ttl: 2 * tolerance)
        return Verified(contentID: Self.contentID(body), replay: mark)
    }
}
