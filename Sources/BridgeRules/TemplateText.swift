import BridgeCore
import Foundation

/// Text helpers shared by the filters and interpolation.
enum TemplateText {
    /// Appends a value's text form: strings as is, null as nothing, others as compact JSON.
    @inline(__always)
    static func append(_ v: JSONValue, to out: inout String) {
        switch v {
        case .string(let s): out += s
        case .null: break
        case .int(let i): out += String(i)
        case .bool(let b): out += b ? "true" : "false"
        case .double(let d): out += JSONWriter.formatDouble(d)
        case .array, .object: out += JSONWriter.string(v)
        }
    }

    /// A value's text form (see ``append(_:to:)``).
    static func text(_ v: JSONValue) -> String {
        if case .string(let s) = v { return s }
        var out = ""
        append(v, to: &out)
        return out
    }

    /// A value for error messages: its type and a short excerpt.
    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return "the string \(quote(s))"
        case .null: return "null"
        case .array, .object: return "an \(v.typeName)"
        default: return "the \(v.typeName) \(JSONWriter.string(v))"
        }
    }

    /// `'text'`, cut to 40 characters so a hostile value cannot flood a message.
    static func quote(_ s: String) -> String {
        if s.utf8.count <= 40 { return "'\(s)'" }
        let head = s.prefix(40)
        return head.endIndex == s.endIndex ? "'\(s)'" : "'\(head)…'"
    }

    /// `true` for plain decimal number text (no hex floats, `nan`, `inf`).
    static func isDecimal(_ s: String) -> Bool {
        !s.isEmpty
            && s.utf8.allSatisfy {
                ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+")
                    || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
            }
    }

    /// Removes leading and trailing whitespace (Unicode).
    static func trim(_ s: String) -> String {
        guard let first = s.utf8.first, let last = s.utf8.last else { return s }
        if first > 0x20, first < 0x80, last > 0x20, last < 0x80 { return s }
        guard let start = s.firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let end = s.lastIndex(where: { !$0.isWhitespace })!
        return String(s[start...end])
    }

    /// Every `find` replaced by `with`, or `nil` when the result would exceed `limit` bytes.
    /// Works on UTF-8 bytes, which for valid text always matches whole Unicode scalars.
    static func replace(_ s: String, _ find: String, _ with: String, limit: Int) -> String? {
        let src = Array(s.utf8)
        let pat = Array(find.utf8)
        let rep = Array(with.utf8)
        let m = pat.count
        guard m > 0, src.count >= m else { return src.count <= limit ? s : nil }
        // First pass: find the matches, so the size is known before anything grows.
        var hits: [Int] = []
        var i = 0
        let first = pat[0]
        while i <= src.count - m {
            if src[i] == first {
                var j = 1
                while j < m, src[i + j] == pat[j] { j += 1 }
                if j == m {
                    hits.append(i)
                    i += m
                    continue
                }
            }
            i += 1
        }
        if hits.isEmpty { return src.count <= limit ? s : nil }
        let size = src.count + hits.count * (rep.count - m)
        guard size <= limit else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        var from = 0
        for h in hits {
            out.append(contentsOf: src[from..<h])
            out.append(contentsOf: rep)
            from = h + m
        }
        out.append(contentsOf: src[from...])
        return String(decoding: out, as: UTF8.self)
    }

    /// Maps text into Airflow's run-id alphabet: accents are dropped (`é` → `e`),
    /// each run of other characters becomes one `_`, and the result is cut to
    /// ``RunID/maxLength`` bytes (see ``RunID/sanitize(_:)``).
    static func slug(_ s: String) -> String {
        // Common case: already in the alphabet, returned without copying.
        if s.utf8.count <= RunID.maxLength, allInRunIDAlphabet(s) { return s }
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return RunID.sanitize(s) }
        var scalars = String.UnicodeScalarView()
        for scalar in s.decomposedStringWithCanonicalMapping.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: continue
            default: scalars.append(scalar)
            }
        }
        return RunID.sanitize(String(scalars))
    }

    /// `true` when every byte is in `[A-Za-z0-9_.~:+-]` (scanned over contiguous UTF-8).
    static func allInRunIDAlphabet(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { buf in
            for b in buf {
                switch b {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"),
                    UInt8(ascii: ":"), UInt8(ascii: "+"), UInt8(ascii: "-"):
                    continue
                default:
                    return false
                }
            }
            return true
        }
    }

}
