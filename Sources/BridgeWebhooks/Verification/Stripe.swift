import BridgeCore

extension WebhookVerifier {
    /// Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=…]` over `t.body`.
    func verifyStripe(tolerance: Double, headers: [String: String], body: [UInt8], now: Double) throws(Rejection) -> Verified {
        let value = try header(headers, "stripe-signature")
        var ts: String?
        var sigs: [[UInt8]] = []
        for item in value.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            let k = kv[0].trimmingSpaces
            if k == "t" { ts = kv[1].trimmingSpaces }
            if k == "v1", let s = Hex.decode(kv[1].trimmingSpaces) { sigs.append(s) }
        }
        guard let ts, !sigs.isEmpty else { throw reject("malformed signature header", "Stripe-Signature lacks t= or v1=") }
        _ = try timestamp(ts, now: now, tolerance: tolerance)
        let content = Array("\(ts).".utf8) + body
        guard let mac = matchingMAC(content, sigs) else { throw reject("invalid signature", "Stripe signature mismatch") }
        let mark = try remember(mac, now: now, ttl: 2 * tolerance)
        return Verified(contentID: Self.contentID(body), replay: mark)
    }
}
