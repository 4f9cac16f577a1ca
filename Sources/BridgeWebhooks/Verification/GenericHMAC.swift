import BridgeCore

extension WebhookVerifier {
    /// Any HMAC scheme: header, algorithm, encoding, prefix and signed-content template.
    func verifyHMAC(_ spec: HMACScheme, headers: [String: String], body: [UInt8], now: Double) throws(Rejection)
        -> String?
    {
        let value = try header(headers, spec.header)
        guard value.hasPrefix(spec.prefix) else { throw reject("malformed signature header", "\(spec.header) lacks '\(spec.prefix)'") }
        let text = String(value.dropFirst(spec.prefix.count)).trimmingSpaces
        let decoded = spec.encoding == .hex ? Hex.decode(text) : Base64.decode(text)
        guard let sig = decoded else { throw reject("malformed signature header", "\(spec.header) is not \(spec.encoding.rawValue)") }
        var ts: String?
        if let th = spec.timestampHeader { ts = try timestamp(try header(headers, th), now: now, tolerance: spec.tolerance) }
        // Build the signed content from the template.
        var content: [UInt8] = []
        var rest = Substring(spec.signedContent)
        while let open = rest.firstIndex(of: "{") {
            content += Array(rest[..<open].utf8)
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            let token = rest[rest.index(after: open)..<close]
            if token == "body" {
                content += body
            } else if token == "timestamp" {
                content += Array((ts ?? "").utf8)
            } else if token.hasPrefix("header:") {
                content += Array((try header(headers, token.dropFirst(7).lowercased())).utf8)
            } else {
                content += Array(rest[open...close].utf8)
            }
            rest = rest[rest.index(after: close)...]
        }
        content += Array(rest.utf8)
        guard macs.contains(where: { constantTimeEqual($0.code(content), sig) }) else {
            throw reject("invalid signature", "HMAC mismatch on \(spec.header)")
        }
        if let ts { try replays.check("hmac:\(ts):\(text)", now: now, ttl: 2 * spec.tolerance) }
        return nil
    }
}
