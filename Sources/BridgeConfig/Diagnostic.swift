/// A place in a configuration or rule file.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in a user's file, printed as `file:line:col: error: message`.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error, warning
    }

    public var severity: Severity
    public var location: SourceLocation?
    /// The key path of the offending value (`rules[2].match.body.size`), when known.
    public var keyPath: String?
    public var message: String

    public init(_ severity: Severity = .error, _ message: String, at location: SourceLocation?, keyPath: String? = nil) {
        self.severity = severity
        self.message = message
        self.location = location
        self.keyPath = keyPath
    }

    public var description: String {
        let place = location.map { "\($0): " } ?? ""
        let path = keyPath.map { $0.isEmpty ? "" : " (at \($0))" } ?? ""
        return "\(place)\(severity.rawValue): \(message)\(path)"
    }
}

/// Gathers diagnostics so a check reports every problem, not just the first.
public struct Diagnostics: Sendable {
    public private(set) var items: [Diagnostic] = []

    public init() {}

    /// `true` when at least one error (not warning) was recorded.
    public var hasErrors: Bool { items.contains { $0.severity == .error } }

    /// Records an error at a node's position.
    public mutating func error(_ message: String, at node: ConfigNode?) {
        items.append(Diagnostic(.error, message, at: node?.location, keyPath: node?.path))
    }

    /// Records an error at an explicit location.
    public mutating func error(_ message: String, location: SourceLocation?, keyPath: String? = nil) {
        items.append(Diagnostic(.error, message, at: location, keyPath: keyPath))
    }

    /// Records a warning at a node's position.
    public mutating func warning(_ message: String, at node: ConfigNode?) {
        items.append(Diagnostic(.warning, message, at: node?.location, keyPath: node?.path))
    }

    /// Appends diagnostics gathered elsewhere.
    public mutating func append(contentsOf other: [Diagnostic]) { items.append(contentsOf: other) }

    /// Appends one diagnostic.
    public mutating func append(_ d: Diagnostic) { items.append(d) }
}

/// The error thrown when a file has problems: all of them, in file order.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Suggests the closest of `candidates` to a misspelt `name` ("did you mean 'prefix'?").
public func didYouMean(_ name: String, _ candidates: some Sequence<String>) -> String? {
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(name.lowercased(), c.lowercased())
        if d <= max(2, c.count / 3), best == nil || d < best!.1 { best = (c, d) }
    }
    return best?.0
}

/// Levenshtein distance between two strings (by Unicode scalar).
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}
