import BridgeCore

extension WebhookVerifier {
    /// Any HMAC scheme: header, algorithm, encoding, prefix and signed-content template.
    func verifyHMAC(_ spec: HMACScheme, headers: [String: String], body: [UInt8], now: Double) throws(Rejection) -> Verified {
        let value = try header(headers, spec.header)
        guard value.hasPrefix(spec.prefix) else { throw reject("malformed signature header", "\(spec.header) lacks '\(spec.prefix)'") }
        let text = String(value.dropFirst(spec.prefix.count)).trimmingSpaces
        let decoded = spec.encoding == .hex ? Hex.decode(text) : Base64.decode(text)
        guard let sig = decoded else { throw reject("malformed signature header", "\(spec.header) is not \(spec.encoding.rawValue)") }
        var ts: String?
        if let th = spec.timestampHeader { ts = try timestamp(try header(headers, th), now: now, tolerance: spec.tolerance) }
        let content = try signedContent(spec.signedContent, headers: headers, body: body, timestamp: ts ?? "")
        guard let mac = matchingMAC(content, [sig]) else { throw reject("invalid signature", "HMAC mismatch on \(spec.header)") }
        guard ts != nil else { return Verified(contentID: Self.contentID(content)) }
        let mark = try remember(mac, now: now, ttl: 2 * spec.tolerance)
        // The id leaves the timestamp out, so a retry signed again later maps to the same event.
        return Verified(
            contentID: Self.contentID(try signedContent(spec.signedContent, headers: headers, body: body, timestamp: "")), replay: mark)
    }

    /// `template` with `{body}`, `{timestamp}` and `{header:Name}` replaced; other text as is.
    func signedContent(_ template: String, headers: [String: String], body: [UInt8], timestamp: String) throws(Rejection) -> [UInt8] {
        var content: [UInt8] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            content += Array(rest[..<open].utf8)
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            let token = rest[rest.index(after: open)..<close]
            if token == "body" {
                content += body
            } else if token == "timestamp" {
                content += Array(timestamp.utf8)
            } else if token.hasPrefix("header:") {
                content += Array((try header(headers, token.dropFirst(7).lowercased())).utf8)
            } else {
                content += Array(rest[open...close].utf8)
            }
            rest = rest[rest.index(after: close)...]
        }
        content += Array(rest.utf8)
        return content
    }
}
