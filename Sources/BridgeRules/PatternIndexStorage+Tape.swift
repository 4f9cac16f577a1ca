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
                childSlots.withUnsafeBufferPointer { slots in
                    childKeyBytes.withUnsafeBufferPointer { names in
                        nodeChildStart.withUnsafeBufferPointer { childStart in
                            nodePath.withUnsafeBufferPointer { paths in
                                let trie = Children(slots: slots, names: names, mask: childSlotMask, childStart: childStart, nodePath: paths)
                                hits = walk(entries, bytes, trie, s)
                            }
                        }
                    }
                }
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
    private func walk(_ entries: UnsafeBufferPointer<JSONTape.Entry>, _ bytes: UnsafeBufferPointer<UInt8>, _ children: Children, _ s: PatternScratch) -> Int {
        let node = s.tapeNode, under = s.tapeUnder
        guard let base = entries.baseAddress else { return 0 }
        var hits = 0
        var i = 0
        let n = entries.count
        // Fields are read through the pointer one by one: copying whole entries costs more than the walk
        // needs. Positions fit in Int32 (the tape's parent links are Int32), so arithmetic wraps unchecked.
        while i < n {
            let e = base + i
            let kind = e.pointee.kind
            if kind == .removed {
                i &+= e.pointee.span
                continue
            }
            var nd: Int32
            var u = false
            let parent = Int(e.pointee.parent)
            if parent < 0 {
                nd = 0
            } else {
                let pn = Int(node[parent])
                u = under[parent]
                if e.pointee.keyLength < 0 {
                    nd = Int32(truncatingIfNeeded: pn)
                    // Elements of an array holding objects: conditions met here may need array consistency.
                    if !u, base[parent].holdsContainers, children.childStart[pn] != children.childStart[pn &+ 1] { u = true }
                } else {
                    nd = child(of: pn, e, bytes, children)
                }
            }
            if nd < 0 {
                i &+= e.pointee.span
                continue
            }
            switch kind {
            case .object:
                if children.childStart[Int(nd)] == children.childStart[Int(nd) &+ 1] {
                    i &+= e.pointee.span
                    continue
                }
                node[i] = nd
                under[i] = u
            case .array:
                node[i] = nd
                under[i] = u
            default:
                let p = Int(children.nodePath[Int(nd)])
                if p >= 0 {
                    node[i] = nd
                    if u { s.pathArrayMark[p] = s.epoch }
                    s.tapeHits[hits] = Int32(truncatingIfNeeded: i)
                    hits &+= 1
                    leaf(p, e, bytes, s)
                }
            }
            i &+= 1
        }
        return hits
    }

    /// The trie's tables (``childSlots`` and the names they point into, child ranges, paths), held for one walk.
    struct Children {
        let slots: UnsafeBufferPointer<ChildSlot>
        let names: UnsafeBufferPointer<UInt8>
        let mask: UInt32
        /// ``nodeChildStart`` and ``nodePath``.
        let childStart: UnsafeBufferPointer<Int32>
        let nodePath: UnsafeBufferPointer<Int32>
    }

    /// The trie child of `node` named by the member name of `e`, or -1.
    @inline(__always)
    private func child(of node: Int, _ e: UnsafePointer<JSONTape.Entry>, _ bytes: UnsafeBufferPointer<UInt8>, _ children: Children) -> Int32 {
        let hash = e.pointee.keyHash, length = Int(e.pointee.keyLength)
        var i = ChildSlot.home(node, hash, children.mask)
        while true {
            let slot = children.slots[i]
            if slot.child < 0 { break }
            if slot.hash == hash, Int(slot.node) == node, Int(slot.nameLength) == length,
               JSONTape.bytesEqual(children.names.baseAddress! + Int(slot.nameStart), bytes.baseAddress! + Int(e.pointee.keyStart), length) {
                return slot.child
            }
            i = (i &+ 1) & Int(children.mask)
        }
        // `JSONObject` compares names as `String`s (canonical equivalence), which only differs from bytes beyond ASCII.
        if e.pointee.keyASCII && !childKeysNonASCII { return -1 }
        return childByString(of: node, e, bytes)
    }

    @inline(never)
    private func childByString(of node: Int, _ e: UnsafePointer<JSONTape.Entry>, _ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        let start = Int(e.pointee.keyStart), length = Int(e.pointee.keyLength)
        let lo = Int(nodeChildStart[node]), hi = Int(nodeChildStart[node + 1])
        let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<(start + length)]), as: UTF8.self)
        for c in lo..<hi where childKeys[c] == key { return childNodes[c] }
        return -1
    }

    /// ``leaf(_:_:_:)`` for a tape entry: strings are probed as bytes; a `String` is made only for the
    /// operators that need one (ignore-case, cidr, anything-but) on this path.
    private func leaf(_ p: Int, _ e: UnsafePointer<JSONTape.Entry>, _ bytes: UnsafeBufferPointer<UInt8>, _ s: PatternScratch) {
        pathRefs[p]._withUnsafeGuaranteedRef { leaf(p, e, bytes, s, $0) }
    }

    private func leaf(_ p: Int, _ entry: UnsafePointer<JSONTape.Entry>, _ bytes: UnsafeBufferPointer<UInt8>, _ s: PatternScratch, _ t: PatternPathTable) {
        let e = entry.pointee
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
            if t.needsLower { lowered(buf, t, s) }
            if !t.cidrs.isEmpty || !t.anythingButs.isEmpty {
                let str = String(decoding: buf, as: UTF8.self)
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

    /// Probes the ignore-case tables with the lower-cased value: short ASCII values are lower-cased
    /// into a stack buffer (what `String.lowercased()` gives for them), others through `String`.
    private func lowered(_ buf: UnsafeBufferPointer<UInt8>, _ t: PatternPathTable, _ s: PatternScratch) {
        let n = buf.count
        var ascii = n <= 128
        if ascii {
            for b in buf where b >= 0x80 {
                ascii = false
                break
            }
        }
        guard ascii else {
            strings(String(decoding: buf, as: UTF8.self).lowercased(), t.lowerExact, t.lowerPrefixes, t.lowerSuffixes, s)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(n, 1)) { lower in
            for i in 0..<n {
                let b = buf[i]
                lower[i] = b &- 0x41 < 26 ? b | 0x20 : b
            }
            probe(UnsafeBufferPointer(rebasing: lower[0..<n]), t.lowerExact, t.lowerPrefixes, t.lowerSuffixes, s)
        }
    }
}
