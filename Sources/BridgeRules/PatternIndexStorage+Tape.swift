import BridgeCore

/// Matching against a ``JSONTape``: one linear pass over plain entries, resolving each member's
/// trie node from its container's, so no `JSONValue` is copied (no reference counting) and
/// subtrees the patterns never read are skipped by their size.
extension PatternIndexStorage {
    func match(tape: JSONTape, _ s: PatternScratch, into result: inout [Int]) {
        if tape.hasAmbiguousNames {
            // Names equal only as `String`s: which member a lookup finds is the reference walk's business.
            let envelope = tape.value()
            for p in patterns.indices where patterns[p].matches(envelope) { result.append(p) }
            return
        }
        s.begin()
        let n = tape.count
        s.reserveTape(n)
        var hits = 0
        tape.entries.withUnsafeBufferPointer { entries in
            tape.bytes.withUnsafeBufferPointer { bytes in
                hits = walk(entries, bytes, s)
            }
        }
        var envelope: JSONValue?
        tape.entries.withUnsafeBufferPointer { entries in
            finish(s, &result) { c in
                lazyConditions.withUnsafeBufferPointer { conds in
                    let path = condPath[c]
                    for k in 0..<hits {
                        let pos = Int(s.tapeHits[k])
                        guard nodePath[Int(s.tapeNode[pos])] == path, let v = tape.scalarValue(entries[pos]) else { continue }
                        if conds[c].matches(leaf: v) { return true }
                    }
                    return false
                }
            } reference: { p in
                if envelope == nil { envelope = tape.value() }
                return patterns[p].matches(envelope!)
            }
        }
    }

    /// Marks what the tape's values hit; returns the number of scalar entries on a pattern path
    /// (their positions are in `s.tapeHits`).
    private func walk(_ entries: UnsafeBufferPointer<JSONTape.Entry>, _ bytes: UnsafeBufferPointer<UInt8>, _ s: PatternScratch) -> Int {
        let node = s.tapeNode, under = s.tapeUnder
        var hits = 0
        var i = 0
        let n = entries.count
        while i < n {
            let e = entries[i]
            if e.kind == .removed {
                i += e.span
                continue
            }
            var nd: Int32
            var u = false
            if e.parent < 0 {
                nd = 0
            } else {
                let parent = Int(e.parent)
                let pn = Int(node[parent])
                if e.keyLength < 0 {
                    nd = Int32(pn)
                    u = under[parent]
                    // Elements of an array holding objects: conditions met here may need array consistency.
                    if !u, entries[parent].holdsContainers, nodeChildStart[pn] != nodeChildStart[pn + 1] { u = true }
                } else {
                    nd = child(of: pn, Int(e.keyStart), Int(e.keyLength), bytes)
                    u = under[parent]
                }
            }
            if nd < 0 {
                i += e.span
                continue
            }
            switch e.kind {
            case .object:
                if nodeChildStart[Int(nd)] == nodeChildStart[Int(nd) + 1] {
                    i += e.span
                    continue
                }
                node[i] = nd
                under[i] = u
            case .array:
                node[i] = nd
                under[i] = u
            default:
                let p = Int(nodePath[Int(nd)])
                if p >= 0 {
                    node[i] = nd
                    if u { s.pathArrayMark[p] = s.epoch }
                    s.tapeHits[hits] = Int32(i)
                    hits += 1
                    leaf(p, e, bytes, s)
                }
            }
            i += 1
        }
        return hits
    }

    /// The trie child of `node` named by the key bytes, or -1.
    @inline(__always)
    private func child(of node: Int, _ start: Int, _ length: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        let lo = Int(nodeChildStart[node]), hi = Int(nodeChildStart[node + 1])
        if lo == hi { return -1 }
        let found: Int32 = childKeyBytes.withUnsafeBufferPointer { names in
            childKeyByteStart.withUnsafeBufferPointer { starts in
                for c in lo..<hi {
                    let ns = Int(starts[c]), ne = Int(starts[c + 1])
                    if ne - ns != length { continue }
                    var k = 0
                    while k < length, names[ns + k] == bytes[start + k] { k += 1 }
                    if k == length { return childNodes[c] }
                }
                return -1
            }
        }
        if found >= 0 { return found }
        // `JSONObject` compares names as `String`s (canonical equivalence), which only differs from bytes beyond ASCII.
        var ascii = !childKeysNonASCII
        if ascii {
            for k in start..<(start + length) where bytes[k] >= 0x80 {
                ascii = false
                break
            }
        }
        if ascii { return -1 }
        let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<(start + length)]), as: UTF8.self)
        for c in lo..<hi where childKeys[c] == key { return childNodes[c] }
        return -1
    }

    /// ``leaf(_:_:_:)`` for a tape entry: strings are probed as bytes; a `String` is made only for the
    /// operators that need one (ignore-case, cidr, anything-but) on this path.
    private func leaf(_ p: Int, _ e: JSONTape.Entry, _ bytes: UnsafeBufferPointer<UInt8>, _ s: PatternScratch) {
        pathRefs[p]._withUnsafeGuaranteedRef { leaf(p, e, bytes, s, $0) }
    }

    private func leaf(_ p: Int, _ e: JSONTape.Entry, _ bytes: UnsafeBufferPointer<UInt8>, _ s: PatternScratch, _ t: PatternPathTable) {
        if s.pathMark[p] != s.epoch {
            s.pathMark[p] = s.epoch
            for c in t.existsTrue { hitCondition(c, s) }
        }
        switch e.kind {
        case .string:
            let buf = UnsafeBufferPointer(rebasing: bytes[Int(e.payload)..<(Int(e.payload) + Int(e.size))])
            if t.hasStringTables { probe(buf, t.exact, t.prefixes, t.suffixes, s) }
            if !t.wildcardGroups.isEmpty { wildcardGroups(buf, t, s) }
            if !t.wildcards.isEmpty {
                t.wildcards.withUnsafeBufferPointer { list in
                    for i in list.indices where s.condMark[Int(list[i].1)] != s.epoch && list[i].0.matches(bytes: buf) {
                        hitCondition(list[i].1, s)
                    }
                }
            }
            if t.needsLower || !t.cidrs.isEmpty || !t.anythingButs.isEmpty {
                let str = String(decoding: buf, as: UTF8.self)
                if t.needsLower { strings(str.lowercased(), t.lowerExact, t.lowerPrefixes, t.lowerSuffixes, s) }
                if !t.cidrs.isEmpty, let ip = IPAddress(str) {
                    t.cidrs.withUnsafeBufferPointer { list in
                        for i in list.indices where list[i].0.contains(ip) { hitCondition(list[i].1, s) }
                    }
                }
                if !t.anythingButs.isEmpty {
                    t.anythingButs.withUnsafeBufferPointer { list in
                        for i in list.indices where s.condMark[Int(list[i].1)] != s.epoch && !list[i].0.excludes(string: str) {
                            hitCondition(list[i].1, s)
                        }
                    }
                }
            }
            return
        case .int:
            number(Double(Int64(bitPattern: e.payload)), t, s)
        case .double:
            number(Double(bitPattern: e.payload), t, s)
        case .bool:
            let entry = e.payload != 0 ? t.trueEntry : t.falseEntry
            if entry >= 0 { hitEntry(entry, s) }
        case .null:
            if t.nullEntry >= 0 { hitEntry(t.nullEntry, s) }
        case .object, .array, .removed:
            return
        }
        if !t.anythingButs.isEmpty {
            let value: JSONValue
            switch e.kind {
            case .int: value = .int(Int64(bitPattern: e.payload))
            case .double: value = .double(Double(bitPattern: e.payload))
            case .bool: value = .bool(e.payload != 0)
            default: value = .null
            }
            t.anythingButs.withUnsafeBufferPointer { list in
                for i in list.indices where s.condMark[Int(list[i].1)] != s.epoch && !list[i].0.excludes(value) {
                    hitCondition(list[i].1, s)
                }
            }
        }
    }
}
