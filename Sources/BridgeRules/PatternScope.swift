import BridgeCore

/// One `$or` alternative of a pattern as a plain tree: its conditions placed under the object levels of their
/// paths. This is the reference semantics (``Pattern/matches(_:)``), which the index defers to for array
/// consistency.
///
/// Conditions are merged by path, so a field named both outside and inside an `$or` alternative is one level,
/// and both lists must hold there. Below an array of objects in the event, a level is judged within one
/// element: every condition that a value meets must find its values in the same element (event-ruler's
/// array-consistent matching). `exists: false` is judged in the same elements: a value of that field in
/// another element does not count. When no condition of a level is met by a value (only absences), nothing
/// ties the level to one element, so the field must be absent from all of them.
struct PatternScope: Sendable {
    struct Leaf: Sendable {
        var key: String
        var condition: Int
    }

    struct Child: Sendable {
        var key: String
        var scope: PatternScope
    }

    /// Conditions on the members of this level.
    var leaves: [Leaf] = []
    /// Nested levels, one per member name.
    var children: [Child] = []

    /// The tree of `disjunct`'s conditions (indices into `conditions`).
    init(_ conditions: [Condition], disjunct: [Int]) {
        var seen: Set<Int> = []
        for c in disjunct where seen.insert(c).inserted { insert(c, at: conditions[c].path[...]) }
    }

    private init() {}

    private mutating func insert(_ condition: Int, at path: ArraySlice<String>) {
        guard let key = path.first else { return }
        if path.count == 1 {
            leaves.append(Leaf(key: key, condition: condition))
        } else if let i = children.firstIndex(where: { $0.key == key }) {
            children[i].scope.insert(condition, at: path.dropFirst())
        } else {
            var child = PatternScope()
            child.insert(condition, at: path.dropFirst())
            children.append(Child(key: key, scope: child))
        }
    }

    /// How a level can hold within one value.
    struct Outcome {
        /// Every condition holds, at least one of them through a value found here (which ties the level to
        /// the array elements that value sits in).
        var met: Bool
        /// Every condition holds by absence (`exists: false`): no condition has a value here.
        var absent: Bool

        static let fails = Outcome(met: false, absent: false)
    }

    /// Whether the alternative holds on `envelope`.
    func matches(_ envelope: JSONValue, _ conditions: [Condition]) -> Bool {
        let o = outcome(envelope, conditions)
        return o.met || o.absent
    }

    /// The outcome of this level on `value` (not an array; `nil` when missing).
    func outcome(_ value: JSONValue?, _ conditions: [Condition]) -> Outcome {
        let object = value?.objectValue
        var result = Outcome(met: false, absent: true)
        for leaf in leaves {
            let condition = conditions[leaf.condition]
            let v = object?[leaf.key]
            let met = v.map { PatternValues.anyLeaf($0, path: []) { condition.matches(leaf: $0) } } ?? false
            let absent = condition.satisfiedWhenAbsent && !(v.map { PatternValues.hasLeaf($0, path: []) } ?? false)
            if !met && !absent { return .fails }
            result.met = result.met || met
            result.absent = result.absent && absent
        }
        for child in children {
            let o: Outcome
            if case .array(let items)? = object?[child.key] {
                o = child.scope.outcome(elements: items, conditions)
            } else {
                o = child.scope.outcome(object?[child.key], conditions)
            }
            if !o.met && !o.absent { return .fails }
            result.met = result.met || o.met
            result.absent = result.absent && o.absent
        }
        return result
    }

    /// The outcome of this level on an array: met in some element (nested arrays flattened), or absent from all.
    private func outcome(elements items: [JSONValue], _ conditions: [Condition]) -> Outcome {
        // An empty array holds nothing, like a missing member (not every level holds by absence).
        if items.isEmpty { return outcome(nil, conditions) }
        var result = Outcome(met: false, absent: true)
        for item in items {
            let o: Outcome
            if case .array(let inner) = item {
                o = outcome(elements: inner, conditions)
            } else {
                o = outcome(item, conditions)
            }
            result.met = result.met || o.met
            result.absent = result.absent && o.absent
            if result.met && !result.absent { break }
        }
        return result
    }
}
