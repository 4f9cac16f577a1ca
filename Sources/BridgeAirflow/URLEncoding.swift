import Foundation

/// Percent-encoding for URL paths, queries and forms (RFC 3986 unreserved characters stay as they are).
enum URLEncoding {
    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Encodes everything but unreserved characters (`/` too): for one path segment or a query value.
    static func component(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            if isUnreserved(b) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `a=1&b=2` with both sides encoded.
    static func query(_ items: [(String, String)]) -> String {
        items.map { "\(component($0.0))=\(component($0.1))" }.joined(separator: "&")
    }

    /// Decodes `%XX` escapes (and `+` as space when `plusAsSpace`).
    static func decode(_ s: Substring, plusAsSpace: Bool = false) -> String {
        var out: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while i < u.count {
            if u[i] == UInt8(ascii: "%"), i + 2 < u.count, let h = hexValue(u[i + 1]), let l = hexValue(u[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else if plusAsSpace, u[i] == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
                i += 1
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Splits an absolute URL into scheme, host (with port) and the rest.
struct URLParts {
    var scheme: String
    /// `host` or `host:port`.
    var authority: String
    /// Path starting with `/` (or empty), without the query.
    var path: String
    /// Query without `?`, or empty.
    var query: String

    init?(_ url: String) {
        guard let sep = url.range(of: "://") else { return nil }
        scheme = String(url[..<sep.lowerBound]).lowercased()
        let rest = url[sep.upperBound...]
        let authEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        authority = String(rest[..<authEnd])
        guard !authority.isEmpty else { return nil }
        var tail = rest[authEnd...]
        if let hash = tail.firstIndex(of: "#") { tail = tail[..<hash] }
        if let q = tail.firstIndex(of: "?") {
            path = String(tail[..<q])
            query = String(tail[tail.index(after: q)...])
        } else {
            path = String(tail)
            query = ""
        }
    }

    /// The host without a port or user info.
    var host: String {
        var a = Substring(authority)
        if let at = a.lastIndex(of: "@") { a = a[a.index(after: at)...] }
        if a.hasPrefix("["), let close = a.firstIndex(of: "]") { return String(a[...close]) }
        if let colon = a.lastIndex(of: ":") { return String(a[..<colon]) }
        return String(a)
    }
}
