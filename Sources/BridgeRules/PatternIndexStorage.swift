import BridgeCore

/// The compiled rule set behind ``PatternIndex``.
///
/// - A trie of the field names the patterns reference; each node with conditions owns a ``PatternPathTable``.
/// - Every alternative (disjunct of the `$or` expansion) has one *anchor*: its most selective
///   condition (rarest key). Only anchors fan out to candidates, so a value shared by thousands
///   of rules marks one table entry instead of touching thousands of rules.
/// - A candidate alternative is confirmed by checking the marks of all its conditions;
///   `exists: false` conditions hold when their path had no value.
/// - When two conditions of a candidate were met through arrays of objects, or an `exists: false`
///   field has values only there, the candidate is confirmed with the reference walk, which applies
///   array-consistent matching.
final class PatternIndexStorage: Sendable {
    let patterns: [Pattern]

    // Trie of field names; node 0 is the envelope root; children of a node are contiguous.
    let nodeChildStart: [Int32]
    let childKeys: [String]
    let childKeyLengths: [Int]
    /// The child keys' UTF-8 bytes back to back, which ``childSlots`` point into.
    let childKeyBytes: [UInt8]
    /// Whether some key is not ASCII (then a key of the event is also compared as a `String`, like ``JSONObject`` does).
    let childKeysNonASCII: Bool
    let childNodes: [Int32]
    /// The same children in an open-addressing table keyed by (node, ``JSONTape/keyHash(_:)`` of the
    /// name), so a tape member finds its trie node in one probe instead of a scan of its siblings.
    /// Empty slots have `child == -1`; the table is at most a quarter full, so misses end quickly.
    let childSlots: [ChildSlot]
    let childSlotMask: UInt32
    let nodePath: [Int32]
    let paths: [PatternPathTable]
    /// The same tables, read in the hot loop without a retain/release per value (`paths` keeps them alive).
    let pathRefs: [Unmanaged<PatternPathTable>]

    let conditionCount: Int
    let entryCount: Int
    /// Path of each condition (for `exists: false`).
    let condPath: [Int32]
    /// Conditions whose one-by-one operators are evaluated at confirmation (not anchors).
    let condLazy: [Bool]
    /// Conditions (not anchors) holding `exists: true`: satisfied when their path had a value.
    let condExistsTrue: [Bool]
    /// Every condition, for the lazy evaluation of its one-by-one operators.
    let lazyConditions: [Condition]
    /// Entries (shared table keys) that satisfy each condition.
    let condEntryStart: [Int32]
    let condEntryList: [Int32]
    /// Alternatives anchored on each condition checked one by one (ranges, wildcards, …).
    let condAnchorStart: [Int32]
    let condAnchorList: [Int32]
    /// Alternatives anchored on a condition that lists each entry's key.
    let entryAnchorStart: [Int32]
    let entryAnchorList: [Int32]
    /// Per alternative: the conditions that need a value, then those that also hold when absent.
    let disjCondStart: [Int32]
    let disjCondList: [Int32]
    let disjAbsentStart: [Int32]
    let disjAbsentList: [Int32]
    let disjPattern: [Int32]
    /// Alternatives without any condition that needs a value (only `exists: false`, or the empty pattern).
    let alwaysDisjuncts: [Int32]

    var disjunctCount: Int { disjPattern.count }

    /// The envelope fields any condition reads, and those below `body`, for selective parsing.
    let keyFilter: JSONKeyFilter
    let bodyFilter: JSONKeyFilter

    init(_ patterns: [Pattern]) {
        self.patterns = patterns
        keyFilter = JSONKeyFilter(paths: patterns.flatMap { $0.conditions.map(\.path) })
        bodyFilter = keyFilter.child("body")

        var trie: [[String: Int]] = [[:]]
        var trieOrder: [[String]] = [[]]
        var pathOfNode: [Int] = [-1]
        var builders: [PatternPathTable.Builder] = []
        var condPath: [Int32] = []
        var condMatchers: [[Matcher]] = []
        var absent: [Bool] = []
        var patternBase: [Int] = []

        // 1. Register every alternative of every condition under its path.
        for pattern in patterns {
            patternBase.append(condPath.count)
            for cond in pattern.conditions {
                var node = 0
                for name in cond.path {
                    if let next = trie[node][name] {
                        node = next
                    } else {
                        trie.append([:])
                        trieOrder.append([])
                        pathOfNode.append(-1)
                        trie[node][name] = trie.count - 1
                        trieOrder[node].append(name)
                        node = trie.count - 1
                    }
                }
                if pathOfNode[node] < 0 {
                    pathOfNode[node] = builders.count
                    builders.append(PatternPathTable.Builder())
                }
                let cid = Int32(condPath.count)
                for m in cond.matchers where PatternPathTable.Builder.isTableKind(m) { builders[pathOfNode[node]].add(m, cid) }
                condPath.append(Int32(pathOfNode[node]))
                condMatchers.append(cond.matchers)
                absent.append(cond.satisfiedWhenAbsent)
            }
        }

        // 2. Anchor each alternative on its most selective condition.
        var anchored = [[Int32]](repeating: [], count: condPath.count)
        var disjConds: [[Int32]] = []
        var disjAbsent: [[Int32]] = []
        var disjPattern: [Int32] = []
        var always: [Int32] = []
        for (pi, pattern) in patterns.enumerated() {
            let base = patternBase[pi]
            for disjunct in pattern.disjuncts {
                let d = Int32(disjPattern.count)
                let conds = Set(disjunct).sorted().map { Int32(base + $0) }
                let needed = conds.filter { !absent[Int($0)] }
                disjConds.append(needed)
                disjAbsent.append(conds.filter { absent[Int($0)] })
                disjPattern.append(Int32(pi))
                var best: (cond: Int32, cost: Int)?
                for c in needed {
                    let b = builders[Int(condPath[Int(c)])]
                    let cost = condMatchers[Int(c)].reduce(0) { $0 + b.cost($1) }
                    if best == nil || cost < best!.cost { best = (c, cost) }
                }
                if let best { anchored[Int(best.cond)].append(d) } else { always.append(d) }
            }
        }

        // Operators checked one by one (ranges, cidr, wildcard, anything-but, exists) run during the
        // walk only for anchors; for other conditions they are evaluated when a candidate is confirmed.
        var lazy = [Bool](repeating: false, count: condPath.count)
        var existsOnly = [Bool](repeating: false, count: condPath.count)
        for c in condPath.indices {
            let others = condMatchers[c].filter { !PatternPathTable.Builder.isTableKind($0) }
            if others.isEmpty { continue }
            if !anchored[c].isEmpty {
                for m in others { builders[Int(condPath[c])].add(m, Int32(c)) }
            } else if others.allSatisfy({ if case .exists = $0 { true } else { false } }) {
                existsOnly[c] = others.contains { if case .exists(true) = $0 { true } else { false } }
            } else {
                lazy[c] = true
            }
        }

        // 3. Freeze the per-path tables, numbering shared keys as entries.
        var entryConds: [[Int32]] = []
        paths = builders.map { b in
            PatternPathTable(b) { conds in
                entryConds.append(conds)
                return Int32(entryConds.count - 1)
            }
        }
        pathRefs = paths.map { Unmanaged.passUnretained($0) }
        var condEntries = [[Int32]](repeating: [], count: condPath.count)
        var entryAnchors: [[Int32]] = []
        for (e, conds) in entryConds.enumerated() {
            var ds: [Int32] = []
            for c in conds {
                condEntries[Int(c)].append(Int32(e))
                ds += anchored[Int(c)]
            }
            entryAnchors.append(ds)
        }

        // 4. Flatten everything.
        var childStart: [Int32] = []
        var keys: [String] = []
        var nodes: [Int32] = []
        for n in trie.indices {
            childStart.append(Int32(keys.count))
            for name in trieOrder[n] {
                keys.append(name)
                nodes.append(Int32(trie[n][name]!))
            }
        }
        childStart.append(Int32(keys.count))
        nodeChildStart = childStart
        childKeys = keys
        childKeyLengths = keys.map(\.utf8.count)
        var keyBytes: [UInt8] = []
        var keyByteStart: [Int32] = [0]
        for k in keys {
            keyBytes += Array(k.utf8)
            keyByteStart.append(Int32(keyBytes.count))
        }
        childKeyBytes = keyBytes
        childKeysNonASCII = keyBytes.contains { $0 >= 0x80 }
        childNodes = nodes
        (childSlots, childSlotMask) = Self.childTable(childStart, keyBytes, keyByteStart, nodes)
        nodePath = pathOfNode.map(Int32.init)

        func csr(_ lists: [[Int32]]) -> ([Int32], [Int32]) {
            var start: [Int32] = [0]
            var flat: [Int32] = []
            for l in lists {
                flat += l
                start.append(Int32(flat.count))
            }
            return (start, flat)
        }
        conditionCount = condPath.count
        condLazy = lazy
        condExistsTrue = existsOnly
        lazyConditions = patterns.flatMap(\.conditions)
        entryCount = entryConds.count
        self.condPath = condPath
        (condEntryStart, condEntryList) = csr(condEntries)
        (condAnchorStart, condAnchorList) = csr(anchored)
        (entryAnchorStart, entryAnchorList) = csr(entryAnchors)
        (disjCondStart, disjCondList) = csr(disjConds)
        (disjAbsentStart, disjAbsentList) = csr(disjAbsent)
        self.disjPattern = disjPattern
        alwaysDisjuncts = always
    }
}

/// One slot of ``PatternIndexStorage/childSlots``.
struct ChildSlot {
    var node: Int32 = -1
    var hash: UInt32 = 0
    var child: Int32 = -1
    var nameStart: Int32 = 0
    var nameLength: Int32 = 0

    /// The first slot to probe for a name of `node` hashed to `hash`.
    @inline(__always)
    static func home(_ node: Int, _ hash: UInt32, _ mask: UInt32) -> Int {
        Int((hash &+ UInt32(truncatingIfNeeded: node) &* 0x9E37_79B1) & mask)
    }
}

extension PatternIndexStorage {
    /// Builds ``childSlots`` from the flattened trie.
    static func childTable(_ childStart: [Int32], _ names: [UInt8], _ nameStart: [Int32], _ nodes: [Int32]) -> ([ChildSlot], UInt32) {
        var size = 16
        while size < 4 * nodes.count { size *= 2 }
        let mask = UInt32(size - 1)
        var slots = [ChildSlot](repeating: ChildSlot(), count: size)
        for node in 0..<(childStart.count - 1) {
            for c in Int(childStart[node])..<Int(childStart[node + 1]) {
                let start = Int(nameStart[c]), end = Int(nameStart[c + 1])
                let hash = names.withUnsafeBytes { JSONTape.keyHash(UnsafeRawBufferPointer(rebasing: $0[start..<end])).hash }
                var i = ChildSlot.home(node, hash, mask)
                while slots[i].child >= 0 { i = (i + 1) & Int(mask) }
                slots[i] = ChildSlot(node: Int32(node), hash: hash, child: nodes[c], nameStart: Int32(start), nameLength: Int32(end - start))
            }
        }
        return (slots, mask)
    }
}
