import BridgeCore

/// The alternatives of every pattern that sit on one field path, organised for lookup by value.
///
/// Exact strings, prefixes, suffixes (and their ignore-case forms), numbers,
/// booleans and null are looked up in hash tables whose hits are *entries*:
/// one entry per distinct key, shared by every condition that lists that key,
/// so a common value (`source: github` in thousands of rules) costs one mark,
/// not one step per rule. Numeric ranges, wildcards, cidr blocks,
/// anything-but and `exists: true` are checked one by one and mark conditions.
final class PatternPathTable: Sendable {
    let exact: PatternByteTable
    let prefixes: PatternByteTable
    let suffixes: PatternByteTable
    let lowerExact: PatternByteTable
    let lowerPrefixes: PatternByteTable
    let lowerSuffixes: PatternByteTable
    let needsLower: Bool
    let hasStringTables: Bool
    let numbers: [Double: Int32]
    let trueEntry: Int32
    let falseEntry: Int32
    let nullEntry: Int32
    let ranges: [(NumericRange, Int32)]
    let cidrs: [(CIDRBlock, Int32)]
    /// Wildcards without a literal head or tail, checked one by one.
    let wildcards: [(Wildcard, Int32)]
    /// Wildcards grouped by their literal head (text before the first `*`) or tail (after the last),
    /// whichever fewer wildcards share: a value only checks the groups whose head/tail it carries.
    let wildcardHeads: PatternByteTable
    let wildcardTails: PatternByteTable
    let wildcardGroups: [[(Wildcard, Int32)]]
    let anythingButs: [(AnythingBut, Int32)]
    let existsTrue: [Int32]

    /// Freezes a builder; `entry` turns the conditions sharing one key into a global entry id.
    init(_ b: Builder, entry: (inout [Int32]) -> Int32) {
        func table(_ keys: [[UInt8]: [Int32]], reversed: Bool) -> PatternByteTable {
            var ids: [[UInt8]: [Int32]] = [:]
            for k in keys.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                var conds = keys[k]!
                ids[k] = [entry(&conds)]
            }
            return PatternByteTable(ids, reversed: reversed)
        }
        func single(_ conds: [Int32]) -> Int32 {
            var conds = conds
            return conds.isEmpty ? -1 : entry(&conds)
        }
        exact = table(b.exact, reversed: false)
        prefixes = table(b.prefixes, reversed: false)
        suffixes = table(b.suffixes, reversed: true)
        lowerExact = table(b.lowerExact, reversed: false)
        lowerPrefixes = table(b.lowerPrefixes, reversed: false)
        lowerSuffixes = table(b.lowerSuffixes, reversed: true)
        needsLower = !(b.lowerExact.isEmpty && b.lowerPrefixes.isEmpty && b.lowerSuffixes.isEmpty)
        hasStringTables = !(b.exact.isEmpty && b.prefixes.isEmpty && b.suffixes.isEmpty)
        var numbers: [Double: Int32] = [:]
        for d in b.numbers.keys.sorted() {
            var conds = b.numbers[d]!
            numbers[d] = entry(&conds)
        }
        self.numbers = numbers
        trueEntry = single(b.trueConds)
        falseEntry = single(b.falseConds)
        nullEntry = single(b.nullConds)
        ranges = b.ranges
        cidrs = b.cidrs
        var loose: [(Wildcard, Int32)] = []
        var heads: [[UInt8]: [Int32]] = [:]
        var tails: [[UInt8]: [Int32]] = [:]
        var groups: [[(Wildcard, Int32)]] = []
        var groupOfHead: [[UInt8]: Int] = [:]
        var groupOfTail: [[UInt8]: Int] = [:]
        // Group by the head or the tail, whichever fewer wildcards share (then the longer one).
        var headCount: [[UInt8]: Int] = [:]
        var tailCount: [[UInt8]: Int] = [:]
        for (w, _) in b.wildcards {
            headCount[w.segments[0], default: 0] += 1
            tailCount[w.segments[w.segments.count - 1], default: 0] += 1
        }
        for (w, c) in b.wildcards {
            let head = w.segments[0], tail = w.segments[w.segments.count - 1]
            let byHead = !head.isEmpty
                && (tail.isEmpty || headCount[head]! < tailCount[tail]! || (headCount[head]! == tailCount[tail]! && head.count >= tail.count))
            if w.segments.count == 1 || (head.isEmpty && tail.isEmpty) {
                loose.append((w, c))
            } else if byHead {
                let g = groupOfHead[head] ?? { groups.append([]); heads[head] = [Int32(groups.count - 1)]; return groups.count - 1 }()
                groupOfHead[head] = g
                groups[g].append((w, c))
            } else {
                let g = groupOfTail[tail] ?? { groups.append([]); tails[tail] = [Int32(groups.count - 1)]; return groups.count - 1 }()
                groupOfTail[tail] = g
                groups[g].append((w, c))
            }
        }
        wildcards = loose
        wildcardHeads = PatternByteTable(heads, reversed: false)
        wildcardTails = PatternByteTable(tails, reversed: true)
        wildcardGroups = groups
        anythingButs = b.anythingButs
        existsTrue = b.existsTrue
    }

    /// Collects one path's alternatives while the index is built.
    struct Builder {
        var exact: [[UInt8]: [Int32]] = [:]
        var prefixes: [[UInt8]: [Int32]] = [:]
        var suffixes: [[UInt8]: [Int32]] = [:]
        var lowerExact: [[UInt8]: [Int32]] = [:]
        var lowerPrefixes: [[UInt8]: [Int32]] = [:]
        var lowerSuffixes: [[UInt8]: [Int32]] = [:]
        var numbers: [Double: [Int32]] = [:]
        var trueConds: [Int32] = []
        var falseConds: [Int32] = []
        var nullConds: [Int32] = []
        var ranges: [(NumericRange, Int32)] = []
        var cidrs: [(CIDRBlock, Int32)] = []
        var wildcards: [(Wildcard, Int32)] = []
        var anythingButs: [(AnythingBut, Int32)] = []
        var existsTrue: [Int32] = []

        /// Whether `m` is looked up in a hash table (always registered); the others are
        /// registered only for anchor conditions and otherwise evaluated when a candidate is confirmed.
        static func isTableKind(_ m: Matcher) -> Bool {
            switch m {
            case .string, .number, .bool, .null, .prefix, .suffix, .prefixIgnoreCase, .suffixIgnoreCase, .equalsIgnoreCase: return true
            case .numeric(let r): return r.isEquality
            case .cidr, .wildcard, .anythingBut, .exists: return false
            }
        }

        mutating func add(_ m: Matcher, _ c: Int32) {
            func put(_ table: inout [[UInt8]: [Int32]], _ s: String) {
                let key = Array(s.utf8)
                if table[key]?.last != c { table[key, default: []].append(c) }
            }
            func put(_ list: inout [Int32]) { if list.last != c { list.append(c) } }
            func putNumber(_ d: Double) {
                let key = d == 0 ? 0 : d
                if numbers[key]?.last != c { numbers[key, default: []].append(c) }
            }
            switch m {
            case .string(let s): put(&exact, s)
            case .number(let d): putNumber(d)
            case .bool(let b): if b { put(&trueConds) } else { put(&falseConds) }
            case .null: put(&nullConds)
            case .prefix(let s): put(&prefixes, s)
            case .suffix(let s): put(&suffixes, s)
            case .prefixIgnoreCase(let s): put(&lowerPrefixes, s)
            case .suffixIgnoreCase(let s): put(&lowerSuffixes, s)
            case .equalsIgnoreCase(let s): put(&lowerExact, s)
            case .numeric(let r):
                if r.isEquality, let d = r.lower { putNumber(d) } else { ranges.append((r, c)) }
            case .cidr(let block): cidrs.append((block, c))
            case .exists(true): put(&existsTrue)
            case .exists(false): break  // decided by the path having no value
            case .wildcard(let w): wildcards.append((w, c))
            case .anythingBut(let a): anythingButs.append((a, c))
            }
        }

        /// A guess of how often `m` is satisfied, to pick the most selective condition of an alternative as its anchor:
        /// the number of conditions sharing a key, or a fixed weight for operators that match broadly.
        func cost(_ m: Matcher) -> Int {
            func size(_ table: [[UInt8]: [Int32]], _ s: String) -> Int { table[Array(s.utf8)]?.count ?? 1 }
            switch m {
            case .string(let s): return size(exact, s)
            case .number(let d): return numbers[d == 0 ? 0 : d]?.count ?? 1
            case .bool(let b): return 4 * (b ? trueConds.count : falseConds.count)
            case .null: return 4 * nullConds.count
            case .prefix(let s): return size(prefixes, s) + (s.utf8.count < 3 ? 1000 : 0)
            case .suffix(let s): return size(suffixes, s) + (s.utf8.count < 3 ? 1000 : 0)
            case .prefixIgnoreCase(let s): return size(lowerPrefixes, s) + (s.utf8.count < 3 ? 1000 : 0)
            case .suffixIgnoreCase(let s): return size(lowerSuffixes, s) + (s.utf8.count < 3 ? 1000 : 0)
            case .equalsIgnoreCase(let s): return size(lowerExact, s)
            case .numeric(let r): return r.isEquality ? (numbers[r.lower!]?.count ?? 1) : 50
            case .cidr: return 30
            case .wildcard: return 30
            case .exists, .anythingBut: return 100_000
            }
        }
    }
}
