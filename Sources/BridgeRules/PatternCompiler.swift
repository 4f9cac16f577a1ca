public import BridgeConfig
public import BridgeCore

/// Compiles EventBridge-style event patterns (a rule's `match:`) into ``Pattern``s.
///
/// ```yaml
/// match:
///   cloudevent: { type: ["google.cloud.storage.object.v1.finalized"] }
///   body:
///     name: [{ prefix: "incoming/" }]
///     size: [{ numeric: [">", 0] }]
/// ```
///
/// Every leaf must be a non-empty list of values (strings, numbers, booleans,
/// `null`) or operators (`prefix`, `suffix`, `equals-ignore-case`,
/// `anything-but`, `numeric`, `exists`, `wildcard`, `cidr`); `$or` takes a list
/// of at least two sub-patterns; a nested mapping may not be empty. As in
/// event-ruler, a `numeric` range names its lower bound first and its bounds
/// differ, and `anything-but`'s `prefix`/`suffix` text is not empty. Keys
/// directly under `headers` are lower-cased, so header names match
/// case-insensitively. Pathological patterns are refused:
/// nesting deeper than ``maxDepth``, an `$or` expansion beyond ``maxDisjuncts``,
/// wildcards with `**` or more than 10 stars.
public enum PatternCompiler {
    /// The deepest nesting of objects (and `$or` levels) a pattern may have.
    public static let maxDepth = 16
    /// The most alternatives one pattern's `$or`s may expand to.
    public static let maxDisjuncts = 256
    /// The most values or operators one field may list.
    public static let maxValuesPerField = 1024

    /// Compiles a `match:` node; records every problem with its position (file:line:col via the node) in `diagnostics`.
    ///
    /// An empty mapping or a null node (`match:` with nothing after it) gives ``matchAll``.
    /// - Returns: the pattern, or `nil` when at least one problem was recorded.
    public static func compile(_ node: ConfigNode, diagnostics: inout Diagnostics) -> Pattern? {
        if node.isNull { return matchAll }
        var builder = PatternBuilder()
        let pattern = builder.build(PatternSource(node))
        for p in builder.problems {
            diagnostics.error(p.message, location: p.location, keyPath: p.keyPath)
        }
        return builder.problems.isEmpty ? pattern : nil
    }

    /// Compiles a pattern given as JSON (tests, admin API).
    ///
    /// `null` and `{}` give ``matchAll``.
    /// - Throws: ``PatternError`` listing every problem with its key path.
    public static func compile(json: JSONValue) throws(PatternError) -> Pattern {
        if json.isNull { return matchAll }
        var builder = PatternBuilder()
        let pattern = builder.build(PatternSource(json, path: ""))
        if !builder.problems.isEmpty {
            throw PatternError(problems: builder.problems.map { PatternError.Problem(keyPath: $0.keyPath, message: $0.message) })
        }
        return pattern!
    }

    /// The always-matching pattern (rule without `match:`).
    public static var matchAll: Pattern { Pattern(root: ObjectPattern(), conditions: [], disjuncts: [[]]) }
}

/// Why a JSON pattern does not compile: every problem, each with its key path.
public struct PatternError: Error, Sendable, CustomStringConvertible {
    /// One problem.
    public struct Problem: Sendable, Equatable {
        /// Where in the pattern, like `body.size[0].numeric` (empty for the root).
        public var keyPath: String
        /// What is wrong and what to write instead.
        public var message: String
    }

    /// All problems, in pattern order (never empty).
    public var problems: [Problem]

    /// The first problem's message.
    public var message: String { problems.first?.message ?? "invalid pattern" }

    /// `body.size[0].numeric: …`, one line per problem.
    public var description: String {
        problems.map { ($0.keyPath.isEmpty ? "pattern" : $0.keyPath) + ": " + $0.message }.joined(separator: "\n")
    }
}

/// A pattern document, from YAML (with positions) or JSON, in one shape the builder walks.
struct PatternSource {
    enum Kind {
        case scalar(JSONValue)
        case list([PatternSource])
        case map([Entry])
    }

    struct Entry {
        var key: String
        var keyLocation: SourceLocation?
        var value: PatternSource
    }

    var kind: Kind
    var location: SourceLocation?
    var keyPath: String

    init(_ node: ConfigNode) {
        location = node.location
        keyPath = node.path
        switch node.kind {
        case .scalar: kind = .scalar(node.json)
        case .sequence(let items): kind = .list(items.map(PatternSource.init))
        case .mapping(let pairs):
            kind = .map(pairs.map { Entry(key: $0.key.scalar ?? "", keyLocation: $0.key.location, value: PatternSource($0.value)) })
        }
    }

    init(_ json: JSONValue, path: String) {
        location = nil
        keyPath = path
        switch json {
        case .array(let items):
            kind = .list(items.enumerated().map { PatternSource($1, path: "\(path)[\($0)]") })
        case .object(let o):
            kind = .map(o.members.map { k, v in Entry(key: k, keyLocation: nil, value: PatternSource(v, path: path.isEmpty ? k : "\(path).\(k)")) })
        default:
            kind = .scalar(json)
        }
    }

    /// "a string 'abc'", "a number 3", "a list", "a mapping", for messages.
    var describe: String {
        switch kind {
        case .scalar(let v):
            switch v {
            case .null: return "null"
            case .string(let s): return "a string '\(s)'"
            default: return "a \(v.typeName) \(v.description)"
            }
        case .list: return "a list"
        case .map: return "a mapping"
        }
    }

    var string: String? {
        if case .scalar(.string(let s)) = kind { return s }
        return nil
    }

    var number: Double? {
        if case .scalar(let v) = kind { return v.doubleValue }
        return nil
    }
}
