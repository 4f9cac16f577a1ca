import BridgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One alternative of a pattern leaf: an exact value or an operator.
///
/// String operators compare UTF-8 bytes (no Unicode normalisation), as
/// EventBridge does; ignore-case forms compare lower-cased text. Numbers
/// compare numerically, so `300`, `300.0` and `3.0e2` are equal.
enum Matcher: Sendable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case prefix(String)
    case suffix(String)
    /// Lower-cased at compile time.
    case prefixIgnoreCase(String)
    /// Lower-cased at compile time.
    case suffixIgnoreCase(String)
    /// Lower-cased at compile time.
    case equalsIgnoreCase(String)
    case wildcard(Wildcard)
    case numeric(NumericRange)
    case cidr(CIDRBlock)
    case exists(Bool)
    case anythingBut(AnythingBut)

    /// Whether a leaf value (never an object or array) satisfies this alternative.
    func matches(leaf: JSONValue) -> Bool {
        switch self {
        case .string(let s):
            if case .string(let v) = leaf { return PatternText.bytesEqual(v, s) }
            return false
        case .number(let n):
            return leaf.doubleValue == n
        case .bool(let b):
            if case .bool(let v) = leaf { return v == b }
            return false
        case .null:
            return leaf.isNull
        case .prefix(let p):
            if case .string(let v) = leaf { return v.utf8.starts(with: p.utf8) }
            return false
        case .suffix(let p):
            if case .string(let v) = leaf { return PatternText.hasSuffix(v, p) }
            return false
        case .prefixIgnoreCase(let p):
            if case .string(let v) = leaf { return v.lowercased().utf8.starts(with: p.utf8) }
            return false
        case .suffixIgnoreCase(let p):
            if case .string(let v) = leaf { return PatternText.hasSuffix(v.lowercased(), p) }
            return false
        case .equalsIgnoreCase(let p):
            if case .string(let v) = leaf { return PatternText.bytesEqual(v.lowercased(), p) }
            return false
        case .wildcard(let w):
            if case .string(let v) = leaf { return w.matches(v) }
            return false
        case .numeric(let r):
            if let d = leaf.doubleValue { return r.contains(d) }
            return false
        case .cidr(let block):
            if case .string(let v) = leaf, let ip = IPAddress(v) { return block.contains(ip) }
            return false
        case .exists(let present):
            return present
        case .anythingBut(let a):
            return !a.excludes(leaf)
        }
    }

    /// A short human form for explanations: `'abc'`, `prefix 'inc'`, `> 0`, `cidr 10.0.0.0/8`.
    var summary: String {
        switch self {
        case .string(let s): return "'\(s)'"
        case .number(let n): return PatternText.number(n)
        case .bool(let b): return "\(b)"
        case .null: return "null"
        case .prefix(let p): return "prefix '\(p)'"
        case .suffix(let p): return "suffix '\(p)'"
        case .prefixIgnoreCase(let p): return "prefix '\(p)' (ignoring case)"
        case .suffixIgnoreCase(let p): return "suffix '\(p)' (ignoring case)"
        case .equalsIgnoreCase(let p): return "'\(p)' (ignoring case)"
        case .wildcard(let w): return "wildcard '\(w.source)'"
        case .numeric(let r): return r.description
        case .cidr(let c): return "cidr \(c.source)"
        case .exists(let e): return "exists: \(e)"
        case .anythingBut(let a): return "anything but \(a.description)"
        }
    }

    /// `true` for plain values (strings, numbers, booleans, null), which read as "one of [...]" in messages.
    var isPlainValue: Bool {
        switch self {
        case .string, .number, .bool, .null: return true
        default: return false
        }
    }
}

/// The `anything-but` forms. A missing field never matches; a present leaf
/// matches when it is not excluded (a non-string is never excluded by a string operator).
enum AnythingBut: Sendable, CustomStringConvertible {
    case strings([String])
    case numbers([Double])
    case prefixes([String])
    case suffixes([String])
    case wildcards([Wildcard])
    /// Lower-cased at compile time.
    case equalsIgnoreCase([String])

    func excludes(_ leaf: JSONValue) -> Bool {
        switch self {
        case .numbers(let ns):
            guard let d = leaf.doubleValue else { return false }
            return ns.contains(d)
        default:
            guard case .string(let v) = leaf else { return false }
            return excludes(string: v)
        }
    }

    func excludes(string v: String) -> Bool {
        switch self {
        case .strings(let ss): return ss.contains { PatternText.bytesEqual(v, $0) }
        case .numbers: return false
        case .prefixes(let ps): return ps.contains { v.utf8.starts(with: $0.utf8) }
        case .suffixes(let ps): return ps.contains { PatternText.hasSuffix(v, $0) }
        case .wildcards(let ws): return ws.contains { $0.matches(v) }
        case .equalsIgnoreCase(let ss):
            let lower = v.lowercased()
            return ss.contains { PatternText.bytesEqual(lower, $0) }
        }
    }

    var description: String {
        switch self {
        case .strings(let ss): return PatternText.list(ss.map { "'\($0)'" })
        case .numbers(let ns): return PatternText.list(ns.map(PatternText.number))
        case .prefixes(let ps): return "prefix " + PatternText.list(ps.map { "'\($0)'" })
        case .suffixes(let ps): return "suffix " + PatternText.list(ps.map { "'\($0)'" })
        case .wildcards(let ws): return "wildcard " + PatternText.list(ws.map { "'\($0.source)'" })
        case .equalsIgnoreCase(let ss): return "(ignoring case) " + PatternText.list(ss.map { "'\($0)'" })
        }
    }
}

/// A numeric interval with optional, open or closed bounds.
struct NumericRange: Sendable, Equatable, CustomStringConvertible {
    var lower: Double?
    var lowerInclusive = false
    var upper: Double?
    var upperInclusive = false

    func contains(_ d: Double) -> Bool {
        if let lower { if lowerInclusive ? d < lower : d <= lower { return false } }
        if let upper { if upperInclusive ? d > upper : d >= upper { return false } }
        return true
    }

    /// `true` for `["=", x]`.
    var isEquality: Bool { lower != nil && lower == upper && lowerInclusive && upperInclusive }

    var description: String {
        if isEquality { return "= \(PatternText.number(lower!))" }
        var parts: [String] = []
        if let lower { parts.append("\(lowerInclusive ? ">=" : ">") \(PatternText.number(lower))") }
        if let upper { parts.append("\(upperInclusive ? "<=" : "<") \(PatternText.number(upper))") }
        return parts.joined(separator: " and ")
    }
}

/// Small text helpers for matching and messages.
enum PatternText {
    /// Byte equality of two strings (no Unicode normalisation, unlike `==`).
    @inline(__always)
    static func bytesEqual(_ a: String, _ b: String) -> Bool {
        let au = a.utf8, bu = b.utf8
        guard au.count == bu.count else { return false }
        if let r = au.withContiguousStorageIfAvailable({ ab in
            bu.withContiguousStorageIfAvailable { bb in
                ab.count == 0 || memcmp(ab.baseAddress!, bb.baseAddress!, ab.count) == 0
            }
        }), let r { return r }
        return au.elementsEqual(bu)
    }

    static func hasSuffix(_ s: String, _ suffix: String) -> Bool {
        let su = s.utf8, pu = suffix.utf8
        guard su.count >= pu.count else { return false }
        return su.suffix(pu.count).elementsEqual(pu)
    }

    /// A number without a needless `.0`.
    static func number(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    static func list(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }

    /// A leaf value for messages: strings in single quotes, others as JSON.
    static func value(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return "'\(s)'"
        case .int(let i): return String(i)
        case .double(let d): return number(d)
        default: return v.description
        }
    }
}
