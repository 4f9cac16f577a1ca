public import BridgeCore

extension Pattern {
    /// Why the pattern does not match: `nil` when it matches, otherwise the first failing field and why.
    ///
    /// Examples: `body.size: 0 is not > 0`, `headers.x-github-event: field is missing`,
    /// `cloudevent.type: 'x' is not one of ['a', 'b']`.
    public func explain(_ envelope: JSONValue) -> String? {
        if matches(envelope) { return nil }
        return explainObject(root, envelope, envelope: envelope, path: [])
            ?? "no combination of fields matches"
    }

    // The explanation reads the pattern tree with `$or` groups as written, each level and alternative on its
    // own, and `exists: false` against the whole event, so it can name the field and the values that failed.
    // The verdict is ``matches(_:)``'s (``PatternScope``); where this reading finds nothing failing, the
    // answer is "no combination of fields matches".

    private func matchObject(_ pattern: ObjectPattern, _ value: JSONValue?, envelope: JSONValue) -> Bool {
        let object = value?.objectValue
        for field in pattern.fields where !matchField(field, object?[field.key], envelope: envelope) {
            return false
        }
        for group in pattern.ors where !group.contains(where: { matchObject($0, value, envelope: envelope) }) {
            return false
        }
        return true
    }

    private func matchField(_ field: FieldPattern, _ value: JSONValue?, envelope: JSONValue) -> Bool {
        switch field.kind {
        case .leaf(let c):
            return matchLeaf(conditions[c], value, envelope: envelope)
        case .object(let sub):
            guard let value, case .array = value else { return matchObject(sub, value, envelope: envelope) }
            var elements: [JSONValue] = []
            PatternValues.flatten(value, into: &elements)
            if elements.isEmpty { return matchObject(sub, nil, envelope: envelope) }
            return elements.contains { matchObject(sub, $0, envelope: envelope) }
        }
    }

    private func matchLeaf(_ condition: Condition, _ value: JSONValue?, envelope: JSONValue) -> Bool {
        if let value, PatternValues.anyLeaf(value, path: [], { condition.matches(leaf: $0) }) { return true }
        return condition.satisfiedWhenAbsent && !PatternValues.hasLeaf(envelope, path: condition.path[...])
    }

    private func explainObject(_ p: ObjectPattern, _ value: JSONValue?, envelope: JSONValue, path: [String]) -> String? {
        let object = value?.objectValue
        for field in p.fields {
            let v = object?[field.key]
            if !matchField(field, v, envelope: envelope) {
                return explainField(field, v, envelope: envelope, path: path + [field.key])
            }
        }
        for group in p.ors where !group.contains(where: { matchObject($0, value, envelope: envelope) }) {
            let reasons = group.compactMap { explainObject($0, value, envelope: envelope, path: path) }
            return "none of the $or alternatives matches: " + reasons.joined(separator: "; ")
        }
        return nil
    }

    private func explainField(_ field: FieldPattern, _ value: JSONValue?, envelope: JSONValue, path: [String]) -> String {
        switch field.kind {
        case .leaf(let c):
            return explainLeaf(conditions[c], value, envelope: envelope)
        case .object(let sub):
            guard let value, case .array = value else {
                return explainObject(sub, value, envelope: envelope, path: path) ?? "\(path.joined(separator: ".")): does not match"
            }
            var elements: [JSONValue] = []
            PatternValues.flatten(value, into: &elements)
            if elements.count <= 1 {
                return explainObject(sub, elements.first, envelope: envelope, path: path)
                    ?? "\(path.joined(separator: ".")): does not match"
            }
            let first = explainObject(sub, elements[0], envelope: envelope, path: path) ?? "does not match"
            return "\(path.joined(separator: ".")): no element of the array matches all fields (element 0: \(first))"
        }
    }

    private func explainLeaf(_ condition: Condition, _ value: JSONValue?, envelope: JSONValue) -> String {
        let path = condition.displayPath
        var leaves: [JSONValue] = []
        if let value { PatternValues.leaves(of: value, into: &leaves) }
        let positive = condition.matchers.filter { if case .exists(false) = $0 { return false } else { return true } }
        if leaves.isEmpty {
            if condition.satisfiedWhenAbsent {
                var elsewhere: [JSONValue] = []
                PatternValues.leaves(envelope, path: condition.path[...], into: &elsewhere)
                return "\(path): field must not exist, but has \(describe(elsewhere))"
            }
            switch value {
            case .none: return "\(path): field is missing"
            case .object?: return "\(path): field is an object, not a value (patterns match leaf values only)"
            default: return "\(path): field is an empty array"
            }
        }
        let shown = describe(leaves)
        if positive.isEmpty { return "\(path): field must not exist, but has \(shown)" }
        if positive.allSatisfy(\.isPlainValue) {
            return "\(path): \(shown) is not one of \(PatternText.list(positive.map(\.summary)))"
        }
        if positive.count == 1 { return "\(path): \(shown) \(phrase(positive[0]))" }
        return "\(path): \(shown) matches none of \(PatternText.list(positive.map(\.summary)))"
    }

    private func describe(_ leaves: [JSONValue]) -> String {
        if leaves.count == 1 { return PatternText.value(leaves[0]) }
        return PatternText.list(leaves.prefix(5).map(PatternText.value)) + (leaves.count > 5 ? "…" : "")
    }

    private func phrase(_ m: Matcher) -> String {
        switch m {
        case .prefix(let p): return "does not start with '\(p)'"
        case .suffix(let p): return "does not end with '\(p)'"
        case .prefixIgnoreCase(let p): return "does not start with '\(p)' (ignoring case)"
        case .suffixIgnoreCase(let p): return "does not end with '\(p)' (ignoring case)"
        case .equalsIgnoreCase(let p): return "does not equal '\(p)' (ignoring case)"
        case .wildcard(let w): return "does not match wildcard '\(w.source)'"
        case .numeric(let r): return "is not \(r)"
        case .cidr(let c): return "is not an IP address in \(c.source)"
        case .anythingBut(let a): return "is excluded by anything-but \(a)"
        case .exists: return "does not exist"
        default: return "is not \(m.summary)"
        }
    }
}
