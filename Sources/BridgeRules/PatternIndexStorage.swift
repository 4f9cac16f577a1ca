import BridgeCore

/// The conditions of every pattern that sit on one field path, organised for lookup by value.
final class PatternPathTable: Sendable {
    let exact: PatternByteTable
    let prefixes: PatternByteTable
    let suffixes: PatternByteTable
    let lowerExact: PatternByteTable
    let lowerPrefixes: PatternByteTable
    let lowerSuffixes: PatternByteTable
    let needsLower: Bool
    let numbers: [Double: [Int32]]
    let trueConds: [Int32]
    let falseConds: [Int32]
    let nullConds: [Int32]
    let ranges: [(NumericRange, Int32)]
    /// Wildcard, cidr and anything-but alternatives, checked one by one (rare).
    let others: [(Matcher, Int32)]
    let existsTrue: [Int32]
    /// Conditions that also hold when the path has no value (`exists: false`).
    let absentSatisfied: [Int32]
    let hasStringTables: Bool

    init(_ b: Builder) {
        exact = PatternByteTable(b.exact, reversed: false)
        prefixes = PatternByteTable(b.prefixes, reversed: false)
        suffixes = PatternByteTable(b.suffixes, reversed: true)
        lowerExact = PatternByteTable(b.lowerExact, reversed: false)
        lowerPrefixes = PatternByteTable(b.lowerPrefixes, reversed: false)
        lowerSuffixes = PatternByteTable(b.lowerSuffixes, reversed: true)
        needsLower = !(b.lowerExact.isEmpty && b.lowerPrefixes.isEmpty && b.lowerSuffixes.isEmpty)
        hasStringTables = !(b.exact.isEmpty && b.prefixes.isEmpty && b.suffixes.isEmpty)
        numbers = b.numbers
        trueConds = b.trueConds
        falseConds = b.falseConds
        nullConds = b.nullConds
        ranges = b.ranges
        others = b.others
        existsTrue = b.existsTrue
        absentSatisfied = b.absentSatisfied
    }

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
        var others: [(Matcher, Int32)] = []
        var existsTrue: [Int32] = []
        var absentSatisfied: [Int32] = []

        mutating func add(_ m: Matcher, _ c: Int32) {
            func put(_ table: inout [[UInt8]: [Int32]], _ s: String) {
                let key = Array(s.utf8)
                if table[key]?.last != c { table[key, default: []].append(c) }
            }
            func put(_ list: inout [Int32]) { if list.last != c { list.append(c) } }
            switch m {
            case .string(let s): put(&exact, s)
            case .number(let d): if numbers[d]?.last != c { numbers[d == 0 ? 0 : d, default: []].append(c) }
            case .bool(let b): if b { put(&trueConds) } else { put(&falseConds) }
            case .null: put(&nullConds)
            case .prefix(let s): put(&prefixes, s)
            case .suffix(let s): put(&suffixes, s)
            case .prefixIgnoreCase(let s): put(&lowerPrefixes, s)
            case .suffixIgnoreCase(let s): put(&lowerSuffixes, s)
            case .equalsIgnoreCase(let s): put(&lowerExact, s)
            case .numeric(let r):
                if r.isEquality, let d = r.lower {
                    if numbers[d]?.last != c { numbers[d == 0 ? 0 : d, default: []].append(c) }
                } else {
                    ranges.append((r, c))
                }
            case .exists(true): put(&existsTrue)
            case .exists(false): put(&absentSatisfied)
            case .wildcard, .cidr, .anythingBut: others.append((m, c))
            }
        }
    }
}

/// The compiled rule set: a trie of referenced paths, per-path tables, and the condition/alternative bookkeeping.
final class PatternIndexStorage: Sendable {
    let patterns: [Pattern]
    /// Per pattern: confirm with the tree walk when the event had arrays of objects.
    let patternVerify: [Bool]

    // Trie of field names; node 0 is the envelope root.
    let nodeChildStart: [Int32]
    let childKeys: [String]
    let childNodes: [Int32]
    let nodePath: [Int32]
    let paths: [PatternPathTable]

    // Conditions (global ids) → the alternatives (disjuncts) they belong to.
    let conditionCount: Int
    let conditionCounted: [Bool]
    let condDisjStart: [Int32]
    let condDisjList: [Int32]
    let disjunctRequired: [Int32]
    let disjunctPattern: [Int32]
    /// Alternatives with nothing to count (only `exists: false`, or the empty pattern).
    let alwaysDisjuncts: [Int32]

    init(_ patterns: [Pattern]) {
        self.patterns = patterns
        var verify: [Bool] = []

        // Trie under construction: per node, child name → node.
        var trie: [[String: Int]] = [[:]]
        var trieOrder: [[String]] = [[]]
        var pathOfNode: [Int] = [-1]
        var builders: [PatternPathTable.Builder] = []

        var counted: [Bool] = []
        var condDisj: [[Int32]] = []
        var required: [Int32] = []
        var owner: [Int32] = []
        var always: [Int32] = []

        for (pi, pattern) in patterns.enumerated() {
            let base = counted.count
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
                let cid = Int32(counted.count)
                for m in cond.matchers { builders[pathOfNode[node]].add(m, cid) }
                counted.append(!cond.satisfiedWhenAbsent)
                condDisj.append([])
            }
            for disjunct in pattern.disjuncts {
                let d = Int32(required.count)
                var need: Int32 = 0
                for local in Set(disjunct) {
                    condDisj[base + local].append(d)
                    if counted[base + local] { need += 1 }
                }
                required.append(need)
                owner.append(Int32(pi))
                if need == 0 { always.append(d) }
            }
            verify.append(pattern.conditions.count >= 2)
        }

        // Freeze the trie into flat arrays (children of a node are contiguous).
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
        childNodes = nodes
        nodePath = pathOfNode.map(Int32.init)
        paths = builders.map(PatternPathTable.init)

        var start: [Int32] = [0]
        var list: [Int32] = []
        for ds in condDisj {
            list += ds
            start.append(Int32(list.count))
        }
        conditionCount = counted.count
        conditionCounted = counted
        condDisjStart = start
        condDisjList = list
        disjunctRequired = required
        disjunctPattern = owner
        alwaysDisjuncts = always
        patternVerify = verify
    }
}

// MARK: - Matching

extension PatternIndexStorage {
    func match(_ envelope: JSONValue, _ s: PatternScratch, into result: inout [Int]) {
        s.begin()
        walk(0, envelope, s)
        let epoch = s.epoch

        // `exists: false` (alone or beside other values): a path with values that satisfied nothing vetoes.
        for p in s.seenPaths {
            for c in paths[Int(p)].absentSatisfied where s.condMark[Int(c)] != epoch {
                for k in Int(condDisjStart[Int(c)])..<Int(condDisjStart[Int(c) + 1]) {
                    s.disjKilled[Int(condDisjList[k])] = epoch
                }
            }
        }
        for d in s.candidates { accept(Int(d), envelope, s, &result) }
        for d in alwaysDisjuncts { accept(Int(d), envelope, s, &result) }
        if result.count > 1 { result.sort() }
    }

    @inline(__always)
    private func accept(_ d: Int, _ envelope: JSONValue, _ s: PatternScratch, _ result: inout [Int]) {
        let epoch = s.epoch
        if s.disjKilled[d] == epoch { return }
        let p = Int(disjunctPattern[d])
        if s.patternMark[p] == epoch { return }
        s.patternMark[p] = epoch
        if s.sawObjectArray, patternVerify[p], !patterns[p].matches(envelope) { return }
        result.append(p)
    }

    private func walk(_ node: Int, _ value: JSONValue, _ s: PatternScratch) {
        switch value {
        case .object(let o):
            let lo = Int(nodeChildStart[node]), hi = Int(nodeChildStart[node + 1])
            if lo == hi { return }
            for i in lo..<hi {
                if let v = o[childKeys[i]] { walk(Int(childNodes[i]), v, s) }
            }
        case .array(let items):
            if !s.sawObjectArray, nodeChildStart[node] != nodeChildStart[node + 1] {
                for item in items {
                    switch item {
                    case .object, .array: s.sawObjectArray = true
                    default: continue
                    }
                    break
                }
            }
            for item in items { walk(node, item, s) }
        default:
            let p = Int(nodePath[node])
            if p >= 0 { leaf(p, value, s) }
        }
    }

    @inline(__always)
    private func satisfy(_ c: Int32, _ s: PatternScratch) {
        let ci = Int(c)
        let epoch = s.epoch
        if s.condMark[ci] == epoch { return }
        s.condMark[ci] = epoch
        if !conditionCounted[ci] { return }
        for k in Int(condDisjStart[ci])..<Int(condDisjStart[ci + 1]) {
            let d = Int(condDisjList[k])
            var n: Int32 = 1
            if s.disjMark[d] == epoch { n = s.disjCount[d] + 1 } else { s.disjMark[d] = epoch }
            s.disjCount[d] = n
            if n == disjunctRequired[d] { s.candidates.append(Int32(d)) }
        }
    }

    private func leaf(_ p: Int, _ value: JSONValue, _ s: PatternScratch) {
        let t = paths[p]
        if s.pathMark[p] != s.epoch {
            s.pathMark[p] = s.epoch
            s.seenPaths.append(Int32(p))
            for c in t.existsTrue { satisfy(c, s) }
        }
        switch value {
        case .string(let str):
            if t.hasStringTables { strings(str, t.exact, t.prefixes, t.suffixes, s) }
            if t.needsLower { strings(str.lowercased(), t.lowerExact, t.lowerPrefixes, t.lowerSuffixes, s) }
        case .int(let i):
            number(Double(i), t, s)
        case .double(let d):
            number(d, t, s)
        case .bool(let b):
            for c in b ? t.trueConds : t.falseConds { satisfy(c, s) }
        case .null:
            for c in t.nullConds { satisfy(c, s) }
        default:
            break
        }
        for (m, c) in t.others where s.condMark[Int(c)] != s.epoch && m.matches(leaf: value) { satisfy(c, s) }
    }

    @inline(__always)
    private func number(_ d: Double, _ t: PatternPathTable, _ s: PatternScratch) {
        if let cs = t.numbers[d] { for c in cs { satisfy(c, s) } }
        for (r, c) in t.ranges where r.contains(d) { satisfy(c, s) }
    }

    private func strings(_ str: String, _ exact: PatternByteTable, _ prefixes: PatternByteTable, _ suffixes: PatternByteTable, _ s: PatternScratch) {
        let done: Void? = str.utf8.withContiguousStorageIfAvailable { buf in
            probe(buf, exact, prefixes, suffixes, s)
        }
        if done == nil {
            Array(str.utf8).withUnsafeBufferPointer { probe($0, exact, prefixes, suffixes, s) }
        }
    }

    private func probe(_ buf: UnsafeBufferPointer<UInt8>, _ exact: PatternByteTable, _ prefixes: PatternByteTable, _ suffixes: PatternByteTable, _ s: PatternScratch) {
        let n = buf.count
        // Forward: every prefix length in use, then the whole value.
        let pmax = min(prefixes.maxLength, n)
        var h = PatternByteTable.seed
        if pmax >= 0 {
            if prefixes.lengthUsed[0] { prefixes.lookup(hash: h, bytes: buf, from: 0, to: 0) { satisfy($0, s) } }
            var i = 0
            while i < pmax {
                h = PatternByteTable.step(h, buf[i])
                i += 1
                if prefixes.lengthUsed[i] { prefixes.lookup(hash: h, bytes: buf, from: 0, to: i) { satisfy($0, s) } }
            }
            if !exact.isEmpty, n <= exact.maxLength, exact.lengthUsed[n] {
                while i < n {
                    h = PatternByteTable.step(h, buf[i])
                    i += 1
                }
                exact.lookup(hash: h, bytes: buf, from: 0, to: n) { satisfy($0, s) }
            }
        } else if !exact.isEmpty, n <= exact.maxLength, exact.lengthUsed[n] {
            for i in 0..<n { h = PatternByteTable.step(h, buf[i]) }
            exact.lookup(hash: h, bytes: buf, from: 0, to: n) { satisfy($0, s) }
        }
        // Backward: every suffix length in use.
        let smax = min(suffixes.maxLength, n)
        if smax >= 0 {
            var h = PatternByteTable.seed
            if suffixes.lengthUsed[0] { suffixes.lookup(hash: h, bytes: buf, from: n, to: n) { satisfy($0, s) } }
            var len = 0
            while len < smax {
                h = PatternByteTable.step(h, buf[n - 1 - len])
                len += 1
                if suffixes.lengthUsed[len] { suffixes.lookup(hash: h, bytes: buf, from: n - len, to: n) { satisfy($0, s) } }
            }
        }
    }
}
