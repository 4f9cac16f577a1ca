import BridgeCore

extension PatternIndexStorage {
    func match(_ envelope: JSONValue, _ s: PatternScratch, into result: inout [Int]) {
        s.begin()
        walk(0, envelope, s, underArray: false)
        finish(s, &result) { c in
            lazyConditions.withUnsafeBufferPointer { conds in
                PatternValues.anyLeaf(envelope, path: conds[c].path[...]) { conds[c].matches(leaf: $0) }
            }
        } reference: { p in
            patterns[p].matches(envelope)
        }
    }

    /// Confirms the candidates found by a walk, and the alternatives that need no value.
    /// - Parameters:
    ///   - lazy: whether some value of the event at condition `c`'s path satisfies it (one by one).
    ///   - reference: whether pattern `p` matches by the reference walk.
    func finish(_ s: PatternScratch, _ result: inout [Int], lazy: (Int) -> Bool, reference: (Int) -> Bool) {
        for i in 0..<s.candidateCount { confirm(Int(s.candidates[i]), s, &result, lazy, reference) }
        for d in alwaysDisjuncts { confirm(Int(d), s, &result, lazy, reference) }
        if result.count > 1 { result.sort() }
    }

    /// Whether condition `c` is satisfied by some value of this event.
    @inline(__always)
    private func satisfied(_ c: Int, _ s: PatternScratch, _ lazy: (Int) -> Bool) -> Bool {
        let epoch = s.epoch
        if s.condMark[c] == epoch { return true }
        for k in Int(condEntryStart[c])..<Int(condEntryStart[c + 1]) where s.entryMark[Int(condEntryList[k])] == epoch {
            return true
        }
        if condExistsTrue[c], s.pathMark[Int(condPath[c])] == epoch { return true }
        if condLazy[c], lazy(c) {
            s.condMark[c] = epoch
            return true
        }
        return false
    }

    private func confirm(_ d: Int, _ s: PatternScratch, _ result: inout [Int], _ lazy: (Int) -> Bool, _ reference: (Int) -> Bool) {
        let epoch = s.epoch
        let p = Int(disjPattern[d])
        if s.patternMark[p] == epoch { return }
        var throughArrays = 0
        for k in Int(disjCondStart[d])..<Int(disjCondStart[d + 1]) {
            let c = Int(disjCondList[k])
            if !satisfied(c, s, lazy) { return }
            if s.pathArrayMark[Int(condPath[c])] == epoch { throughArrays += 1 }
        }
        var absentInElement = false
        for k in Int(disjAbsentStart[d])..<Int(disjAbsentStart[d + 1]) {
            let c = Int(disjAbsentList[k])
            let path = Int(condPath[c])
            if s.pathArrayMark[path] == epoch {
                throughArrays += 1
                // Present in some array element, perhaps not in the one the other conditions matched in.
                if s.pathMark[path] == epoch, !satisfied(c, s, lazy) { absentInElement = true }
            } else if s.pathMark[path] == epoch, !satisfied(c, s, lazy) {
                return
            }
        }
        s.patternMark[p] = epoch
        // Two conditions met inside arrays of objects may sit in different elements, and `exists: false` holds
        // or not depending on the element: ask the reference walk.
        if throughArrays >= 2 || absentInElement, !reference(p) { return }
        result.append(p)
    }

    private func walk(_ node: Int, _ value: JSONValue, _ s: PatternScratch, underArray: Bool) {
        switch value {
        case .object(let o):
            let lo = Int(nodeChildStart[node]), hi = Int(nodeChildStart[node + 1])
            if lo == hi { return }
            if o.count > 16 {
                for i in lo..<hi {
                    if let v = o[childKeys[i]] { walk(Int(childNodes[i]), v, s, underArray: underArray) }
                }
                return
            }
            // Small objects: each key is read once and compared by length before text, which rules
            // out most children without a call. (Keys are distinct, so the walk order does not matter.)
            o.keys.withUnsafeBufferPointer { keys in
                o.values.withUnsafeBufferPointer { values in
                    childKeyLengths.withUnsafeBufferPointer { lengths in
                        keyLoop: for j in keys.indices {
                            let n = keys[j].utf8.count
                            for i in lo..<hi where lengths[i] == n && keys[j] == childKeys[i] {
                                walk(Int(childNodes[i]), values[j], s, underArray: underArray)
                                continue keyLoop
                            }
                            // Beyond ASCII, `String` equality (what `JSONObject` looks up by) can hold across lengths.
                            // (Only checked when a pattern names a non-ASCII field: testing every event key would
                            // cost the common case; an ASCII pattern name is only found under its own bytes here.)
                            if childKeysNonASCII {
                                for i in lo..<hi where lengths[i] != n && keys[j] == childKeys[i] {
                                    walk(Int(childNodes[i]), values[j], s, underArray: underArray)
                                    break
                                }
                            }
                        }
                    }
                }
            }
        case .array(let items):
            var nested = underArray
            if !nested, nodeChildStart[node] != nodeChildStart[node + 1] {
                nested = items.contains { if case .object = $0 { true } else if case .array = $0 { true } else { false } }
            }
            items.withUnsafeBufferPointer { items in
                for i in items.indices { walk(node, items[i], s, underArray: nested) }
            }
        default:
            let p = Int(nodePath[node])
            if p >= 0 {
                if underArray { s.pathArrayMark[p] = s.epoch }
                leaf(p, value, s)
            }
        }
    }

    @inline(__always)
    func candidate(_ d: Int32, _ s: PatternScratch) {
        let di = Int(d)
        if s.disjMark[di] != s.epoch {
            s.disjMark[di] = s.epoch
            s.candidates[s.header[1]] = d
            s.header[1] += 1
        }
    }

    @inline(__always)
    func hitEntry(_ e: Int32, _ s: PatternScratch) {
        let ei = Int(e)
        if s.entryMark[ei] == s.epoch { return }
        s.entryMark[ei] = s.epoch
        for k in Int(entryAnchorStart[ei])..<Int(entryAnchorStart[ei + 1]) { candidate(entryAnchorList[k], s) }
    }

    @inline(__always)
    func hitCondition(_ c: Int32, _ s: PatternScratch) {
        let ci = Int(c)
        if s.condMark[ci] == s.epoch { return }
        s.condMark[ci] = s.epoch
        for k in Int(condAnchorStart[ci])..<Int(condAnchorStart[ci + 1]) { candidate(condAnchorList[k], s) }
    }

    private func leaf(_ p: Int, _ value: JSONValue, _ s: PatternScratch) {
        pathRefs[p]._withUnsafeGuaranteedRef { leaf(p, value, s, $0) }
    }

    private func leaf(_ p: Int, _ value: JSONValue, _ s: PatternScratch, _ t: PatternPathTable) {
        if s.pathMark[p] != s.epoch {
            s.pathMark[p] = s.epoch
            for c in t.existsTrue { hitCondition(c, s) }
        }
        switch value {
        case .string(let str):
            if t.hasStringTables { strings(str, t.exact, t.prefixes, t.suffixes, s) }
            if t.needsLower { strings(str.lowercased(), t.lowerExact, t.lowerPrefixes, t.lowerSuffixes, s) }
            if !t.cidrs.isEmpty, let ip = IPAddress(str) {
                t.cidrs.withUnsafeBufferPointer { list in
                    for i in list.indices where list[i].0.contains(ip) { hitCondition(list[i].1, s) }
                }
            }
            if !t.wildcardGroups.isEmpty {
                var str = str
                str.withUTF8 { wildcardGroups($0, t, s) }
            }
            if !t.wildcards.isEmpty {
                t.wildcards.withUnsafeBufferPointer { list in
                    for i in list.indices where s.condMark[Int(list[i].1)] != s.epoch && list[i].0.matches(str) {
                        hitCondition(list[i].1, s)
                    }
                }
            }
        case .int(let i):
            number(Double(i), t, s)
        case .double(let d):
            number(d, t, s)
        case .bool(let b):
            let e = b ? t.trueEntry : t.falseEntry
            if e >= 0 { hitEntry(e, s) }
        case .null:
            if t.nullEntry >= 0 { hitEntry(t.nullEntry, s) }
        default:
            break
        }
        if !t.anythingButs.isEmpty {
            t.anythingButs.withUnsafeBufferPointer { list in
                for i in list.indices where s.condMark[Int(list[i].1)] != s.epoch && !list[i].0.excludes(value) {
                    hitCondition(list[i].1, s)
                }
            }
        }
    }

    /// Checks the wildcard groups whose literal head or tail `str` carries.
    func wildcardGroups(_ buf: UnsafeBufferPointer<UInt8>, _ t: PatternPathTable, _ s: PatternScratch) {
        func check(_ g: Int32) {
            t.wildcardGroups[Int(g)].withUnsafeBufferPointer { list in
                for i in list.indices where s.condMark[Int(list[i].1)] != s.epoch && list[i].0.matches(bytes: buf) {
                    hitCondition(list[i].1, s)
                }
            }
        }
        t.wildcardHeads.forEachPrefix(of: buf) { check($0) }
        t.wildcardTails.forEachSuffix(of: buf) { check($0) }
    }

    @inline(__always)
    func number(_ d: Double, _ t: PatternPathTable, _ s: PatternScratch) {
        if let e = t.numbers[d] { hitEntry(e, s) }
        if !t.ranges.isEmpty {
            t.ranges.withUnsafeBufferPointer { list in
                for i in list.indices where list[i].0.contains(d) { hitCondition(list[i].1, s) }
            }
        }
    }

    func strings(_ str: String, _ exact: PatternByteTable, _ prefixes: PatternByteTable, _ suffixes: PatternByteTable, _ s: PatternScratch) {
        let done: Void? = str.utf8.withContiguousStorageIfAvailable { buf in
            probe(buf, exact, prefixes, suffixes, s)
        }
        if done == nil {
            Array(str.utf8).withUnsafeBufferPointer { probe($0, exact, prefixes, suffixes, s) }
        }
    }

    /// One forward pass hashes every prefix length in use and the whole value; one backward pass every suffix length.
    func probe(_ buf: UnsafeBufferPointer<UInt8>, _ exact: PatternByteTable, _ prefixes: PatternByteTable, _ suffixes: PatternByteTable, _ s: PatternScratch) {
        let n = buf.count
        var (h, i) = prefixes.forEachPrefix(of: buf) { hitEntry($0, s) }
        if !exact.isEmpty, n <= exact.maxLength, exact.lengthUsed[n] {
            while i < n {
                h = PatternByteTable.step(h, buf[i])
                i &+= 1
            }
            exact.lookup(hash: h, bytes: buf, from: 0, to: n) { hitEntry($0, s) }
        }
        suffixes.forEachSuffix(of: buf) { hitEntry($0, s) }
    }
}
