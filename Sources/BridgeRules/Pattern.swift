public import BridgeCore

/// One compiled EventBridge-style event pattern: the `match:` of one rule.
///
/// A pattern is a tree of objects whose leaves are lists of allowed values or
/// operators. It matches an envelope when every field of the pattern matches;
/// a field matches when any listed value matches any leaf value at that path
/// (arrays in the event are flattened); `$or` needs one of its sub-patterns.
/// Fields inside objects that sit in an event array must all match within the
/// same array element (event-ruler's array-consistent matching), and so is
/// `exists: false` judged: see ``PatternScope``.
///
/// Build one with ``PatternCompiler``; match many at once with ``PatternIndex``.
public struct Pattern: Sendable {
    /// The pattern tree, for the reference walk and ``explain(_:)``.
    let root: ObjectPattern
    /// Every leaf of the tree, in pattern order; `FieldPattern.Kind.leaf` points here.
    let conditions: [Condition]
    /// The `$or` expansion: each disjunct is the set of condition indices that must all hold.
    let disjuncts: [[Int]]
    /// Each disjunct as a tree of the object levels its conditions sit in (the reference semantics).
    let scopes: [PatternScope]

    init(root: ObjectPattern, conditions: [Condition], disjuncts: [[Int]]) {
        self.root = root
        self.conditions = conditions
        self.disjuncts = disjuncts
        scopes = disjuncts.map { PatternScope(conditions, disjunct: $0) }
    }

    /// `true` for the empty pattern, which matches every event.
    public var isMatchAll: Bool { conditions.isEmpty }

    /// The number of `$or` alternatives after expansion (1 without `$or`).
    public var disjunctCount: Int { disjuncts.count }
}

/// An object level of a pattern: fields that must all match, and `$or` groups of which one alternative must match.
struct ObjectPattern: Sendable {
    var fields: [FieldPattern] = []
    var ors: [[ObjectPattern]] = []
}

/// One named field of an object level.
struct FieldPattern: Sendable {
    enum Kind: Sendable {
        /// A list of values/operators: the index of its ``Condition``.
        case leaf(Int)
        /// A nested object pattern.
        case object(ObjectPattern)
    }

    var key: String
    var kind: Kind
}

/// A leaf of a pattern: an absolute field path and the alternatives allowed there.
struct Condition: Sendable {
    /// Field names from the envelope root.
    var path: [String]
    /// The alternatives; the condition holds if any of them holds.
    var matchers: [Matcher]

    /// `body.size`, for messages.
    var displayPath: String { path.joined(separator: ".") }

    /// `true` when the list contains `{"exists": false}`: the condition then also holds when the field has no value.
    var satisfiedWhenAbsent: Bool {
        matchers.contains { if case .exists(false) = $0 { return true } else { return false } }
    }

    /// Whether one leaf value satisfies any alternative (`exists: false` never does).
    func matches(leaf: JSONValue) -> Bool {
        matchers.contains { $0.matches(leaf: leaf) }
    }
}

// MARK: - Reference semantics

extension Pattern {
    /// Reference semantics, a straightforward walk of each `$or` alternative (used to cross-check the index
    /// in tests, and by the index where array consistency decides).
    ///
    /// - Parameter envelope: the event envelope (`{"id","source","headers","body",…}`).
    /// - Returns: `true` when every field of some alternative matches.
    public func matches(_ envelope: JSONValue) -> Bool {
        scopes.contains { $0.matches(envelope, conditions) }
    }
}

/// Helpers over event values shared by the reference walk, the explainer and the index.
enum PatternValues {
    /// Appends the elements of `value` with nested arrays flattened (a non-array is itself).
    static func flatten(_ value: JSONValue, into out: inout [JSONValue]) {
        if case .array(let items) = value {
            for item in items { flatten(item, into: &out) }
        } else {
            out.append(value)
        }
    }

    /// Appends the leaf values (not objects, arrays flattened) of `value`.
    static func leaves(of value: JSONValue, into out: inout [JSONValue]) {
        switch value {
        case .array(let items): for item in items { leaves(of: item, into: &out) }
        case .object: break
        default: out.append(value)
        }
    }

    /// Whether any leaf value exists at `path` below `value`, looking through arrays.
    static func hasLeaf(_ value: JSONValue, path: ArraySlice<String>) -> Bool {
        switch value {
        case .array(let items):
            return items.contains { hasLeaf($0, path: path) }
        case .object(let o):
            guard let key = path.first, let child = o[key] else { return false }
            return hasLeaf(child, path: path.dropFirst())
        default:
            return path.isEmpty
        }
    }

    /// Whether some leaf value at `path` below `value` (looking through arrays) satisfies `test`; allocates nothing.
    static func anyLeaf(_ value: JSONValue, path: ArraySlice<String>, _ test: (JSONValue) -> Bool) -> Bool {
        switch value {
        case .array(let items):
            return items.contains { anyLeaf($0, path: path, test) }
        case .object(let o):
            guard let key = path.first, let child = o[key] else { return false }
            return anyLeaf(child, path: path.dropFirst(), test)
        default:
            return path.isEmpty && test(value)
        }
    }

    /// All leaf values at `path` below `value`, looking through arrays.
    static func leaves(_ value: JSONValue, path: ArraySlice<String>, into out: inout [JSONValue]) {
        switch value {
        case .array(let items):
            for item in items { leaves(item, path: path, into: &out) }
        case .object(let o):
            guard let key = path.first, let child = o[key] else { return }
            leaves(child, path: path.dropFirst(), into: &out)
        default:
            if path.isEmpty { out.append(value) }
        }
    }
}
