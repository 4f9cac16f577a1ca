/// A compiled `wildcard` operand: `*` matches any run of characters (also none),
/// `\*` is a literal star and `\\` a literal backslash.
///
/// Matching is greedy and never backtracks more than one segment at a time, so its
/// cost is bounded by the value length times the number of segments; the
/// compiler caps the number of stars (``maxStars``) and forbids `**`.
struct Wildcard: Sendable {
    /// The operand as written, for messages.
    let source: String
    /// The literal pieces between stars (one more than the number of stars).
    let segments: [[UInt8]]

    /// The most `*` one wildcard may hold.
    static let maxStars = 10

    /// Why an operand is not a valid wildcard.
    struct Problem: Error {
        var message: String
    }

    init(_ source: String) throws(Problem) {
        self.source = source
        var segments: [[UInt8]] = [[]]
        var bytes = source.utf8.makeIterator()
        var lastWasStar = false
        var stars = 0
        while let b = bytes.next() {
            if b == UInt8(ascii: "\\") {
                guard let n = bytes.next(), n == UInt8(ascii: "*") || n == UInt8(ascii: "\\") else {
                    throw Problem(message: "wildcard '\(source)': a backslash may only escape '*' or '\\' (write '\\\\' for a backslash)")
                }
                segments[segments.count - 1].append(n)
                lastWasStar = false
            } else if b == UInt8(ascii: "*") {
                if lastWasStar {
                    throw Problem(message: "wildcard '\(source)' has consecutive '*' characters; one '*' already matches any run of characters")
                }
                stars += 1
                segments.append([])
                lastWasStar = true
            } else {
                segments[segments.count - 1].append(b)
                lastWasStar = false
            }
        }
        if stars > Wildcard.maxStars {
            throw Problem(message: "wildcard '\(source)' has \(stars) '*' characters; at most \(Wildcard.maxStars) are allowed (matching cost grows with each)")
        }
        self.segments = segments
    }

    /// Whether `value` matches.
    func matches(_ value: String) -> Bool {
        if let r = value.utf8.withContiguousStorageIfAvailable({ matches(bytes: $0) }) { return r }
        return Array(value.utf8).withUnsafeBufferPointer { matches(bytes: $0) }
    }

    func matches(bytes v: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = v.count
        let first = segments[0]
        if segments.count == 1 { return n == first.count && v.elementsEqual(first) }
        let last = segments[segments.count - 1]
        guard n >= first.count + last.count else { return false }
        let base = 0
        guard v[base..<(base + first.count)].elementsEqual(first),
            v[(base + n - last.count)..<(base + n)].elementsEqual(last)
        else { return false }
        var pos = base + first.count
        let end = base + n - last.count
        for seg in segments[1..<(segments.count - 1)] where !seg.isEmpty {
            guard let found = Wildcard.find(seg, in: v, from: pos, to: end) else { return false }
            pos = found + seg.count
        }
        return true
    }

    /// First index `i` in `from..<to` where `needle` occurs entirely before `to`.
    private static func find(_ needle: [UInt8], in v: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        guard to - from >= needle.count else { return nil }
        let head = needle[0]
        var i = from
        while i + needle.count <= to {
            if v[i] == head {
                var j = 1
                while j < needle.count, v[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}
