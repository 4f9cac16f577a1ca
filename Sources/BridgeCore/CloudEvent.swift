/// Reads CloudEvents (v1.0) attributes from HTTP deliveries.
///
/// - Binary mode (what Eventarc sends): attributes in `ce-*` headers, the body is `data`.
/// - Structured mode (`application/cloudevents+json`): one JSON object with the
///   attributes and `data` (or `data_base64`).
public enum CloudEvent {
    /// The attributes from `ce-*` headers (names lower-cased, `ce-` removed), or `nil`
    /// when `ce-specversion` or `ce-id` is absent.
    public static func fromBinary(headers: [String: String]) -> JSONObject? {
        guard headers["ce-specversion"] != nil, headers["ce-id"] != nil else { return nil }
        var attrs = JSONObject()
        for key in headers.keys.sorted() where key.hasPrefix("ce-") {
            attrs[String(key.dropFirst(3))] = .string(headers[key]!)
        }
        return attrs
    }

    /// Splits a structured-mode event into attributes and data.
    /// - Returns: `nil` when `object` lacks `specversion` or `id`.
    public static func fromStructured(_ object: JSONObject) -> (attributes: JSONObject, data: JSONValue)? {
        guard object["specversion"]?.stringValue != nil, object["id"] != nil else { return nil }
        var attrs = JSONObject()
        var data: JSONValue = .null
        for (k, v) in object.members {
            switch k {
            case "data": data = v
            case "data_base64":
                if let s = v.stringValue, let bytes = Base64.decode(s) {
                    data = Event.parseBody(bytes)
                }
            default: attrs[k] = v
            }
        }
        return (attrs, data)
    }
}

/// Standard and URL-safe base64 (padding optional), without Foundation.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let decodeTable: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        t[Int(UInt8(ascii: "-"))] = 62
        t[Int(UInt8(ascii: "_"))] = 63
        return t
    }()

    /// Encodes bytes as standard, padded base64.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var it = bytes.makeIterator()
        while let a = it.next() {
            let b = it.next()
            let c = it.next()
            out.append(alphabet[Int(a >> 2)])
            out.append(alphabet[Int((a & 0x03) << 4 | (b ?? 0) >> 4)])
            out.append(b == nil ? UInt8(ascii: "=") : alphabet[Int(((b ?? 0) & 0x0F) << 2 | (c ?? 0) >> 6)])
            out.append(c == nil ? UInt8(ascii: "=") : alphabet[Int((c ?? 0) & 0x3F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes standard or URL-safe base64; padding optional; whitespace ignored. `nil` when invalid.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var acc: UInt32 = 0
        var n = 0
        var padding = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") { padding += 1; continue }
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { continue }
            guard padding == 0 else { return nil }
            let v = decodeTable[Int(c)]
            guard v != 0xFF else { return nil }
            acc = acc << 6 | UInt32(v)
            n += 1
            if n == 4 {
                out.append(UInt8(truncatingIfNeeded: acc >> 16))
                out.append(UInt8(truncatingIfNeeded: acc >> 8))
                out.append(UInt8(truncatingIfNeeded: acc))
                acc = 0
                n = 0
            }
        }
        switch n {
        case 0: break
        case 2: out.append(UInt8(truncatingIfNeeded: acc >> 4))
        case 3:
            out.append(UInt8(truncatingIfNeeded: acc >> 10))
            out.append(UInt8(truncatingIfNeeded: acc >> 2))
        default: return nil
        }
        guard padding <= 2 else { return nil }
        return out
    }
}
