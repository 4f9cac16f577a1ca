/// A secret value that never prints itself.
///
/// `description`, `debugDescription` and string interpolation all show
/// `<redacted>`; code that needs the value reads ``value`` explicitly.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret itself. Read it only where it is sent.
    public let value: String
    /// Where it came from (`env:NAME`, `file:/path` or `inline`), safe to log.
    public let origin: String

    public init(_ value: String, origin: String = "inline") {
        self.value = value
        self.origin = origin
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "Secret(<redacted>, from \(origin))" }
}

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
}
