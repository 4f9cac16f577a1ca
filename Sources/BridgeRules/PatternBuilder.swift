import BridgeConfig
import BridgeCore

/// Walks a ``PatternSource`` into a ``Pattern``, collecting every problem.
struct PatternBuilder {
    struct Problem {
        var message: String
        var location: SourceLocation?
        var keyPath: String
    }

    static let operators = ["prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists", "wildcard", "cidr"]

    private(set) var problems: [Problem] = []
    private var conditions: [Condition] = []

    mutating func build(_ source: PatternSource) -> Pattern? {
        if case .map(let entries) = source.kind, entries.isEmpty { return PatternCompiler.matchAll }
        guard case .map = source.kind else {
            fail("a pattern must be a mapping of field names to lists of values, like {body: {action: [\"opened\"]}}; found \(source.describe)", source)
            return nil
        }
        let root = object(source, path: [], depth: 1)
        guard problems.isEmpty, let root else { return nil }
        guard let disjuncts = expand(root) else {
            fail("the $or alternatives of this pattern expand to more than \(PatternCompiler.maxDisjuncts) combinations; split it into several rules", source)
            return nil
        }
        return Pattern(root: root, conditions: conditions, disjuncts: disjuncts)
    }

    private mutating func fail(_ message: String, _ at: PatternSource) {
        problems.append(Problem(message: message, location: at.location, keyPath: at.keyPath))
    }

    private mutating func fail(_ message: String, key entry: PatternSource.Entry) {
        problems.append(Problem(message: message, location: entry.keyLocation ?? entry.value.location, keyPath: entry.value.keyPath))
    }

    // MARK: Objects

    private mutating func object(_ source: PatternSource, path: [String], depth: Int) -> ObjectPattern? {
        guard case .map(let entries) = source.kind else {
            fail("expected a mapping of field names, found \(source.describe)", source)
            return nil
        }
        if depth > PatternCompiler.maxDepth {
            fail("the pattern nests deeper than \(PatternCompiler.maxDepth) levels", source)
            return nil
        }
        var result = ObjectPattern()
        var seen: Set<String> = []
        for entry in entries {
            if entry.key == "$or" {
                if let group = orGroup(entry, path: path, depth: depth) { result.ors.append(group) }
                continue
            }
            // Header names are case-insensitive; the envelope holds them lower-cased.
            let key = path == ["headers"] ? entry.key.lowercased() : entry.key
            if !seen.insert(key).inserted {
                fail("field '\(key)' appears twice at this level\(key != entry.key ? " (header names ignore case)" : ""); merge the two lists", key: entry)
                continue
            }
            let fieldPath = path + [key]
            switch entry.value.kind {
            case .map(let inner) where inner.isEmpty:
                // event-ruler refuses it too: an empty mapping asks nothing, and reads as a mistake.
                fail("field '\(fieldPath.joined(separator: "."))' has an empty mapping; give it sub-fields, or a list of values like [{exists: true}]", entry.value)
            case .map:
                if let sub = object(entry.value, path: fieldPath, depth: depth + 1) {
                    result.fields.append(FieldPattern(key: key, kind: .object(sub)))
                }
            case .list(let items):
                if let matchers = leaf(items, entry.value) {
                    conditions.append(Condition(path: fieldPath, matchers: matchers))
                    result.fields.append(FieldPattern(key: key, kind: .leaf(conditions.count - 1)))
                }
            case .scalar:
                fail("the value of field '\(fieldPath.joined(separator: "."))' must be a list of allowed values, like [\(Self.suggest(entry.value))], or a mapping of sub-fields; found \(entry.value.describe)", entry.value)
            }
        }
        return result
    }

    private static func suggest(_ s: PatternSource) -> String {
        if case .scalar(let v) = s.kind { return v.description }
        return "\"value\""
    }

    private mutating func orGroup(_ entry: PatternSource.Entry, path: [String], depth: Int) -> [ObjectPattern]? {
        guard case .list(let items) = entry.value.kind, items.count >= 2 else {
            fail("'$or' needs a list of at least two sub-patterns, like $or: [{a: [1]}, {b: [2]}]; found \(entry.value.describe)", entry.value)
            return nil
        }
        var group: [ObjectPattern] = []
        for item in items {
            guard case .map(let entries) = item.kind, !entries.isEmpty else {
                fail("each '$or' alternative must be a non-empty mapping of fields; found \(item.describe)", item)
                continue
            }
            if let sub = object(item, path: path, depth: depth + 1) { group.append(sub) }
        }
        return group.count == items.count ? group : nil
    }

    // MARK: Leaves

    private mutating func leaf(_ items: [PatternSource], _ list: PatternSource) -> [Matcher]? {
        if items.isEmpty {
            fail("empty list: a field needs at least one allowed value or operator", list)
            return nil
        }
        if items.count > PatternCompiler.maxValuesPerField {
            fail("\(items.count) values for one field; at most \(PatternCompiler.maxValuesPerField) are allowed", list)
            return nil
        }
        var out: [Matcher] = []
        var ok = true
        for item in items {
            if let m = matcher(item) { out.append(m) } else { ok = false }
        }
        return ok ? out : nil
    }

    private mutating func matcher(_ item: PatternSource) -> Matcher? {
        switch item.kind {
        case .scalar(let v):
            switch v {
            case .string(let s): return .string(s)
            case .int, .double: return .number(v.doubleValue!)
            case .bool(let b): return .bool(b)
            case .null: return .null
            default: return nil
            }
        case .list:
            fail("a list inside a list of values is not allowed; list the values directly", item)
            return nil
        case .map(let entries):
            guard entries.count == 1, let entry = entries.first else {
                let keys = entries.map(\.key).joined(separator: ", ")
                fail("an operator is a mapping with exactly one key, like {prefix: \"abc\"}; found \(entries.isEmpty ? "an empty mapping" : "keys \(keys)")", item)
                return nil
            }
            return op(entry)
        }
    }

    private mutating func op(_ entry: PatternSource.Entry) -> Matcher? {
        let arg = entry.value
        switch entry.key {
        case "prefix", "suffix":
            let isPrefix = entry.key == "prefix"
            if let s = arg.string { return isPrefix ? .prefix(s) : .suffix(s) }
            if case .map(let inner) = arg.kind, inner.count == 1, inner[0].key == "equals-ignore-case" {
                guard let s = inner[0].value.string else {
                    fail("'equals-ignore-case' needs a string, found \(inner[0].value.describe)", inner[0].value)
                    return nil
                }
                return isPrefix ? .prefixIgnoreCase(s.lowercased()) : .suffixIgnoreCase(s.lowercased())
            }
            fail("'\(entry.key)' needs a string, or {equals-ignore-case: \"text\"}; found \(arg.describe)", arg)
            return nil
        case "equals-ignore-case":
            guard let s = arg.string else {
                fail("'equals-ignore-case' needs a string, found \(arg.describe)", arg)
                return nil
            }
            return .equalsIgnoreCase(s.lowercased())
        case "wildcard":
            guard let s = arg.string else {
                fail("'wildcard' needs a string like \"dir/*.png\", found \(arg.describe)", arg)
                return nil
            }
            do throws(Wildcard.Problem) {
                return .wildcard(try Wildcard(s))
            } catch {
                fail(error.message, arg)
                return nil
            }
        case "cidr":
            guard let s = arg.string else {
                fail("'cidr' needs a string like \"10.0.0.0/8\", found \(arg.describe)", arg)
                return nil
            }
            do throws(CIDRBlock.Problem) {
                return .cidr(try CIDRBlock(s))
            } catch {
                fail(error.message, arg)
                return nil
            }
        case "exists":
            guard case .scalar(.bool(let b)) = arg.kind else {
                fail("'exists' needs true or false, found \(arg.describe)", arg)
                return nil
            }
            return .exists(b)
        case "numeric":
            return numeric(arg).map(Matcher.numeric)
        case "anything-but":
            return anythingBut(arg).map(Matcher.anythingBut)
        default:
            var msg = "unknown operator '\(entry.key)'"
            if let s = didYouMean(entry.key, Self.operators) {
                msg += "; did you mean '\(s)'?"
            } else {
                msg += "; to match a nested field, write a mapping instead of a list item, like {\(entry.key): [value]}"
            }
            msg += " (operators: \(Self.operators.joined(separator: ", ")))"
            fail(msg, key: entry)
            return nil
        }
    }

    private mutating func numeric(_ arg: PatternSource) -> NumericRange? {
        let usage = "write 'numeric' as [\"<op>\", number] or [\">\", low, \"<=\", high] with <op> one of =, <, <=, >, >="
        guard case .list(let items) = arg.kind, items.count == 2 || items.count == 4 else {
            fail("malformed 'numeric' \(arg.describe); \(usage)", arg)
            return nil
        }
        var range = NumericRange()
        var sawLower = false, sawUpper = false
        // A range names its lower bound first, as event-ruler requires (it refuses ["<", 1, ">", 0]).
        if items.count == 4, let first = items[0].string, ["<", "<="].contains(first), let second = items[2].string, [">", ">="].contains(second) {
            fail("'numeric' range gives its upper bound first; write the lower bound first, like [\"\(second)\", low, \"\(first)\", high]", items[0])
            return nil
        }
        for i in stride(from: 0, to: items.count, by: 2) {
            guard let op = items[i].string, ["=", "<", "<=", ">", ">="].contains(op) else {
                fail("'numeric' expects an operator (=, <, <=, >, >=) here, found \(items[i].describe); \(usage)", items[i])
                return nil
            }
            guard case .scalar(let v) = items[i + 1].kind, let d = v.doubleValue, d.isFinite else {
                fail("'numeric' needs a number after '\(op)', found \(items[i + 1].describe) (quoted numbers are strings)", items[i + 1])
                return nil
            }
            switch op {
            case "=":
                guard items.count == 2 else {
                    fail("'=' cannot be combined with another bound in 'numeric'", items[i])
                    return nil
                }
                return NumericRange(lower: d, lowerInclusive: true, upper: d, upperInclusive: true)
            case ">", ">=":
                guard !sawLower else {
                    fail("'numeric' has two lower bounds; give one lower (>, >=) and one upper (<, <=) bound", items[i])
                    return nil
                }
                sawLower = true
                range.lower = d
                range.lowerInclusive = op == ">="
            default:
                guard !sawUpper else {
                    fail("'numeric' has two upper bounds; give one lower (>, >=) and one upper (<, <=) bound", items[i])
                    return nil
                }
                sawUpper = true
                range.upper = d
                range.upperInclusive = op == "<="
            }
        }
        if let lo = range.lower, let hi = range.upper, lo >= hi {
            // Equal bounds are refused even when both are inclusive, as event-ruler does ("Bottom must be less than top").
            fail(lo == hi && range.lowerInclusive && range.upperInclusive
                ? "'numeric' range \(range) has equal bounds; write [\"=\", \(PatternText.number(lo))] instead"
                : "'numeric' range \(range) is empty; the lower bound must be below the upper bound", arg)
            return nil
        }
        return range
    }

    private mutating func anythingBut(_ arg: PatternSource) -> AnythingBut? {
        switch arg.kind {
        case .scalar(let v):
            if case .string(let s) = v { return .strings([s]) }
            if let d = v.doubleValue { return .numbers([d]) }
            fail("'anything-but' needs a string, a number, a list of either, or {prefix|suffix|wildcard|equals-ignore-case: …}; found \(arg.describe)", arg)
            return nil
        case .list(let items):
            guard !items.isEmpty else {
                fail("'anything-but' needs at least one value", arg)
                return nil
            }
            let strings = items.compactMap(\.string)
            if strings.count == items.count { return .strings(strings) }
            let numbers = items.compactMap(\.number)
            if numbers.count == items.count { return .numbers(numbers) }
            fail("an 'anything-but' list must hold only strings or only numbers", arg)
            return nil
        case .map(let entries):
            let forms = ["prefix", "suffix", "wildcard", "equals-ignore-case"]
            guard entries.count == 1, let entry = entries.first else {
                fail("'anything-but' takes one of {prefix|suffix|wildcard|equals-ignore-case: …}; found \(entries.count) keys", arg)
                return nil
            }
            guard forms.contains(entry.key) else {
                var msg = "unknown 'anything-but' form '\(entry.key)'"
                if let s = didYouMean(entry.key, forms) { msg += "; did you mean '\(s)'?" }
                msg += " (allowed: \(forms.joined(separator: ", ")))"
                fail(msg, key: entry)
                return nil
            }
            var values: [String] = []
            switch entry.value.kind {
            case .scalar(.string(let s)): values = [s]
            case .list(let items) where !items.isEmpty && items.allSatisfy({ $0.string != nil }):
                values = items.compactMap(\.string)
            default:
                fail("'anything-but' '\(entry.key)' needs a string or a non-empty list of strings, found \(entry.value.describe)", entry.value)
                return nil
            }
            // An empty prefix or suffix would exclude every string; event-ruler refuses it ("Null prefix/suffix not allowed").
            if entry.key == "prefix" || entry.key == "suffix", values.contains("") {
                fail("'anything-but' '\(entry.key)' needs non-empty text: an empty \(entry.key) excludes every string", entry.value)
                return nil
            }
            switch entry.key {
            case "prefix": return .prefixes(values)
            case "suffix": return .suffixes(values)
            case "equals-ignore-case": return .equalsIgnoreCase(values.map { $0.lowercased() })
            default:
                var ws: [Wildcard] = []
                for v in values {
                    do throws(Wildcard.Problem) {
                        ws.append(try Wildcard(v))
                    } catch {
                        fail(error.message, entry.value)
                        return nil
                    }
                }
                return .wildcards(ws)
            }
        }
    }

    // MARK: $or expansion

    /// The pattern as a disjunction of condition sets; `nil` past ``PatternCompiler/maxDisjuncts``.
    private func expand(_ o: ObjectPattern) -> [[Int]]? {
        var result: [[Int]] = [[]]
        for field in o.fields {
            switch field.kind {
            case .leaf(let c):
                for i in result.indices { result[i].append(c) }
            case .object(let sub):
                guard let subs = expand(sub), let crossed = cross(result, subs) else { return nil }
                result = crossed
            }
        }
        for group in o.ors {
            var alternatives: [[Int]] = []
            for alt in group {
                guard let a = expand(alt) else { return nil }
                alternatives += a
                if alternatives.count > PatternCompiler.maxDisjuncts { return nil }
            }
            guard let crossed = cross(result, alternatives) else { return nil }
            result = crossed
        }
        return result
    }

    private func cross(_ a: [[Int]], _ b: [[Int]]) -> [[Int]]? {
        guard a.count * b.count <= PatternCompiler.maxDisjuncts else { return nil }
        var out: [[Int]] = []
        out.reserveCapacity(a.count * b.count)
        for x in a { for y in b { out.append(x + y) } }
        return out
    }
}
