import BridgeCore
import Crypto

extension WebhookVerifier {
    /// Standard Webhooks: `v1` HMAC-SHA256 (`whsec_` keys) or `v1a` Ed25519 (`whpk_` keys) over `id.timestamp.body`.
    func verifyStandardWebhooks(secrets: [Secret], tolerance: Double, headers: [String: String], body: [UInt8], now: Double) throws(Rejection) -> Verified {
        let id = try header(headers, "webhook-id")
        let ts = try timestamp(try header(headers, "webhook-timestamp"), now: now, tolerance: tolerance)
        let sigHeader = try header(headers, "webhook-signature")
        let content = Array("\(id).\(ts).".utf8) + body
        var ok = false
        for entry in sigHeader.split(separator: " ") {
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, let sig = Base64.decode(String(parts[1])) else { continue }
            for secret in secrets {
                if parts[0] == "v1", let key = Self.standardWebhooksKey(secret.value, prefix: "whsec_"),
                    constantTimeEqual(hmac(.sha256, key: key, content), sig)
                {
                    ok = true
                } else if parts[0] == "v1a", let key = Self.standardWebhooksKey(secret.value, prefix: "whpk_"),
                    let pub = try? Curve25519.Signing.PublicKey(rawRepresentation: key),
                    pub.isValidSignature(sig, for: content)
                {
                    ok = true
                }
            }
        }
        guard ok else { throw reject("invalid signature", "no webhook-signature entry matched") }
        // Keyed on the signed content (Ed25519 entries have no MAC of ours to key on).
        let mark = try remember(Array(SHA256.hash(data: content)), now: now, ttl: 2 * tolerance)
        return Verified(senderID: id, replay: mark)
    }
}
