/// Serialises ``JSONValue`` to compact (or indented) UTF-8 JSON.
public enum JSONWriter {
    /// Compact JSON bytes.
    public static func bytes(_ value: JSONValue, pretty: Bool = false, sortedKeys: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out, pretty: pretty, sortedKeys: sortedKeys, indent: 0)
        return out
    }

    /// Compact JSON text.
    public static func string(_ value: JSONValue, pretty: Bool = false, sortedKeys: Bool = false) -> String {
        String(decoding: bytes(value, pretty: pretty, sortedKeys: sortedKeys), as: UTF8.self)
    }

    /// Appends the JSON encoding of `value` to `out`.
    public static func write(_ value: JSONValue, into out: inout [UInt8], pretty: Bool = false, sortedKeys: Bool = false, indent: Int = 0) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): out.append(contentsOf: formatDouble(d).utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { newline(&out, indent + 1) }
                write(item, into: &out, pretty: pretty, sortedKeys: sortedKeys, indent: indent + 1)
            }
            if pretty, !items.isEmpty { newline(&out, indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            let keys = object.keys
            let values = object.values
            if sortedKeys {
                let order = keys.indices.sorted { keys[$0] < keys[$1] }
                for (n, i) in order.enumerated() {
                    writeMember(keys[i], values[i], first: n == 0, into: &out, pretty: pretty, sortedKeys: true, indent: indent)
                }
            } else {
                for i in keys.indices {
                    writeMember(keys[i], values[i], first: i == 0, into: &out, pretty: pretty, sortedKeys: false, indent: indent)
                }
            }
            if pretty, !object.isEmpty { newline(&out, indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeMember(
        _ key: String, _ value: JSONValue, first: Bool, into out: inout [UInt8], pretty: Bool, sortedKeys: Bool, indent: Int
    ) {
        if !first { out.append(UInt8(ascii: ",")) }
        if pretty { newline(&out, indent + 1) }
        writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
        if pretty { out.append(UInt8(ascii: " ")) }
        write(value, into: &out, pretty: pretty, sortedKeys: sortedKeys, indent: indent + 1)
    }

    private static func newline(_ out: inout [UInt8], _ level: Int) {
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: level * 2))
    }

    /// The shortest text that reads back as the same double; integral values print without ".0".
    public static func formatDouble(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `s` as a quoted, escaped JSON string.
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { writeString(utf8: $0, into: &out) }
    }

    /// Appends the UTF-8 text `bytes` as a quoted, escaped JSON string. Runs that need no escape
    /// (everything but `"`, `\` and control bytes) are copied in one append each.
    public static func writeString(utf8 bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var start = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                i += 1
                continue
            }
            if i > start { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i])) }
            out.append(0x5C)
            switch b {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            default:
                out.append(UInt8(ascii: "u"))
                out.append(0x30)
                out.append(0x30)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
            i += 1
            start = i
        }
        if n > start { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<n])) }
        out.append(UInt8(ascii: "\""))
    }
}
