/// A JSON document flattened into one array of plain entries and one byte buffer.
///
/// Every value of the document is one ``Entry`` in document order (a container
/// before its members), pointing at its container by position and holding its
/// member name and string text as ranges of ``bytes`` (decoded UTF-8, escapes
/// resolved) and numbers inline. Nothing in it is reference counted but the two
/// arrays, so code that reads many fields of an event (the pattern index) walks
/// it without the retain/release traffic and pointer chasing of a ``JSONValue``
/// tree. Build it once per event: from a value (``init(_:)``), or from raw body
/// bytes next to envelope fields already held as values
/// (``init(envelopeBase:rawBody:)``), which checks the body as strictly as
/// ``JSONParser`` does without building a tree.
///
/// ```swift
/// let tape = try JSONTape(envelopeBase: fields, rawBody: request.body)
/// index.matches(tape, into: &hits)
/// ```
public struct JSONTape: Sendable {
    /// What an entry holds.
    @frozen
    public enum Kind: UInt8, Sendable {
        case object, array, string, int, double, bool, null
        /// A member replaced by a later duplicate key (it and everything below it are not part of the document).
        case removed
    }

    /// One value of the document.
    @frozen
    public struct Entry: Sendable {
        /// Position of the containing object or array; -1 for the root.
        public var parent: Int32
        /// Member name in ``JSONTape/bytes`` (start, length); length -1 for array elements and the root.
        public var keyStart: UInt32
        public var keyLength: Int32
        public var kind: Kind
        /// Arrays: whether some element is an object or an array.
        public var holdsContainers: Bool
        /// Whether the member name is all ASCII (true when there is no name).
        public var keyASCII: Bool
        /// Containers: the number of entries below (the subtree is `position + 1 ..< position + 1 + size`).
        /// Strings: text length in bytes.
        public var size: UInt32
        /// ``JSONTape/keyHash(_:)`` of the member name (0 when there is none), so a reader that looks
        /// names up in a table of its own does not hash them again for every lookup.
        public var keyHash: UInt32
        /// Strings: text start in ``JSONTape/bytes``; ints: the value; doubles: the bit pattern; bools: 0 or 1.
        public var payload: UInt64

        /// The number of entries of this value's subtree, itself included.
        @inlinable public var span: Int {
            kind == .object || kind == .array || kind == .removed ? Int(size) + 1 : 1
        }
    }

    public internal(set) var entries: [Entry] = []
    public internal(set) var bytes: [UInt8] = []
    /// Whether some object has two distinct names that are equal as Swift `String`s (canonical
    /// equivalence, such as "K" and U+212A KELVIN SIGN): ``JSONObject`` then finds only one of them
    /// by name, which a reader of entries must not second-guess (the pattern index then matches `value()`).
    public internal(set) var hasAmbiguousNames = false
    /// Reused storage for the member names of the objects being read from raw bytes.
    var names: [(Int, Int, Int, Bool, UInt32)] = []

    /// An empty tape (no document).
    public init() {}

    /// The tape of a value.
    public init(_ value: JSONValue) {
        append(value, parent: -1, key: nil)
    }

    /// The tape of an envelope whose `body` is raw JSON bytes: the fields of `envelopeBase`
    /// (a `body` member in it is replaced), then `body` parsed from `rawBody`.
    /// - Throws: ``JSONParseError`` when the body is not valid JSON (same rules as ``JSONParser/parse(_:)-(Collection<UInt8>)``).
    public init(envelopeBase: JSONObject, rawBody: some Collection<UInt8>) throws(JSONParseError) {
        try reset(envelopeBase: envelopeBase, rawBody: rawBody)
    }

    /// Rebuilds this tape in place (keeping its storage) as ``init(envelopeBase:rawBody:)`` would build it.
    /// On error the tape is left empty.
    /// - Parameter filter: when given, only the members it names are put on the tape (as
    ///   ``JSONParser/parse(_:keeping:)`` keeps them); the rest of the body is still checked.
    public mutating func reset(envelopeBase: JSONObject, rawBody: some Collection<UInt8>, keeping filter: JSONKeyFilter? = nil) throws(JSONParseError) {
        entries.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
        hasAmbiguousNames = false
        let root = open(.object, parent: -1, key: nil)
        let f = filter?.nodes
        for (k, v) in envelopeBase.members where k != "body" {
            if let f {
                if let child = f.child(of: f.root, named: k) { append(v, parent: root, key: k, filter: f, node: child) }
            } else {
                append(v, parent: root, key: k)
            }
        }
        let keyStart = bytes.count
        bytes.append(contentsOf: "body".utf8)
        do throws(JSONParseError) {
            if let f {
                if let child = f.child(of: f.root, named: "body") {
                    try appendRaw(rawBody, parent: root, key: (keyStart, 4), filter: (f, child))
                } else {
                    bytes.removeLast(4)
                    try appendRaw(rawBody, parent: root, key: nil, filter: (f, nil))
                }
            } else {
                try appendRaw(rawBody, parent: root, key: (keyStart, 4))
            }
        } catch {
            entries.removeAll(keepingCapacity: true)
            bytes.removeAll(keepingCapacity: true)
            throw error
        }
        close(root)
    }

    /// The tape of a whole JSON document read from raw bytes (checked as ``JSONParser`` checks it).
    /// - Throws: ``JSONParseError`` when the bytes are not valid JSON.
    public init(rawDocument: some Collection<UInt8>) throws(JSONParseError) {
        try reset(rawDocument: rawDocument)
    }

    /// Rebuilds this tape in place (keeping its storage) as ``init(rawDocument:)`` would build it.
    /// On error the tape is left empty.
    public mutating func reset(rawDocument: some Collection<UInt8>) throws(JSONParseError) {
        entries.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
        hasAmbiguousNames = false
        do throws(JSONParseError) {
            try appendRaw(rawDocument, parent: -1, key: nil)
        } catch {
            entries.removeAll(keepingCapacity: true)
            bytes.removeAll(keepingCapacity: true)
            throw error
        }
    }

    /// The number of entries.
    public var count: Int { entries.count }

    // MARK: Building

    /// A hash of a member name's UTF-8 bytes, and whether they are all ASCII; what ``Entry/keyHash``
    /// and ``Entry/keyASCII`` hold. Reads eight bytes at a time, so it costs a few cycles per name.
    @inlinable
    public static func keyHash(_ name: UnsafeRawBufferPointer) -> (hash: UInt32, ascii: Bool) {
        let n = name.count
        var h = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
        var seen: UInt64 = 0
        var i = 0
        while i + 8 <= n {
            let w = name.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            seen |= w
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 29
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(name[i]) << shift
                shift += 8
                i += 1
            }
            seen |= w
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
        }
        // Every byte reaches the low bits, which pick a table slot.
        h ^= h >> 32
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 29
        return (UInt32(truncatingIfNeeded: h), seen & 0x8080_8080_8080_8080 == 0)
    }

    /// The entry fields that describe a member name at `key` in ``bytes``.
    @inline(__always)
    private func keyFields(_ key: (start: Int, length: Int)?) -> (start: UInt32, length: Int32, hash: UInt32, ascii: Bool) {
        guard let key else { return (0, -1, 0, true) }
        let (hash, ascii) = bytes.withUnsafeBytes { JSONTape.keyHash(UnsafeRawBufferPointer(rebasing: $0[key.start..<key.start + key.length])) }
        return (UInt32(truncatingIfNeeded: key.start), Int32(truncatingIfNeeded: key.length), hash, ascii)
    }

    /// Appends an entry for a container and returns its position; ``close(_:)`` sets its size.
    mutating func open(_ kind: Kind, parent: Int, key: (start: Int, length: Int)?) -> Int {
        scalar(kind, parent: parent, key: key, payload: 0)
        return entries.count - 1
    }

    mutating func close(_ position: Int) {
        entries[position].size = UInt32(truncatingIfNeeded: entries.count - position - 1)
    }

    mutating func appendKey(_ key: String) -> (start: Int, length: Int) {
        let start = bytes.count
        bytes.append(contentsOf: key.utf8)
        return (start, bytes.count - start)
    }

    mutating func scalar(_ kind: Kind, parent: Int, key: (start: Int, length: Int)?, size: Int = 0, payload: UInt64) {
        let k = keyFields(key)
        entries.append(Entry(parent: Int32(truncatingIfNeeded: parent), keyStart: k.start, keyLength: k.length, kind: kind,
                             holdsContainers: false, keyASCII: k.ascii, size: UInt32(truncatingIfNeeded: size), keyHash: k.hash,
                             payload: payload))
    }

    /// Sets ``hasAmbiguousNames`` when two of `keys` are equal as `String`s but differ in bytes.
    private mutating func noteAmbiguousNames(_ keys: [String]) {
        guard !hasAmbiguousNames, keys.count > 1, keys.contains(where: { !Self.isASCII($0) }) else { return }
        for i in keys.indices {
            for j in keys.indices where j > i && keys[i] == keys[j] && !keys[i].utf8.elementsEqual(keys[j].utf8) {
                hasAmbiguousNames = true
            }
        }
    }

    /// Whether a string is all ASCII, read eight bytes at a time.
    static func isASCII(_ s: String) -> Bool {
        s.utf8.withContiguousStorageIfAvailable { keyHash(UnsafeRawBufferPointer($0)).ascii } ?? !s.utf8.contains { $0 >= 0x80 }
    }

    /// Like ``append(_:parent:key:)``, keeping in objects only the members `filter` names below `node`.
    mutating func append(_ value: JSONValue, parent: Int, key: String?, filter f: JSONKeyFilterNodes, node: Int) {
        switch value {
        case .object(let o):
            let me = open(.object, parent: parent, key: key.map { appendKey($0) })
            noteAmbiguousNames(o.keys)
            for (k, v) in o.members {
                if let child = f.child(of: node, named: k) { append(v, parent: me, key: k, filter: f, node: child) }
            }
            close(me)
        case .array(let items):
            let me = open(.array, parent: parent, key: key.map { appendKey($0) })
            for item in items {
                switch item {
                case .object, .array: entries[me].holdsContainers = true
                default: break
                }
                append(item, parent: me, key: nil, filter: f, node: node)
            }
            close(me)
        default:
            append(value, parent: parent, key: key)
        }
    }

    mutating func append(_ value: JSONValue, parent: Int, key: String?) {
        let k = key.map { appendKey($0) }
        switch value {
        case .object(let o):
            let me = open(.object, parent: parent, key: k)
            noteAmbiguousNames(o.keys)
            o.keys.withUnsafeBufferPointer { keys in
                o.values.withUnsafeBufferPointer { values in
                    for i in keys.indices { append(values[i], parent: me, key: keys[i]) }
                }
            }
            close(me)
        case .array(let items):
            let me = open(.array, parent: parent, key: k)
            items.withUnsafeBufferPointer { items in
                for i in items.indices {
                    switch items[i] {
                    case .object, .array: entries[me].holdsContainers = true
                    default: break
                    }
                    append(items[i], parent: me, key: nil)
                }
            }
            close(me)
        case .string(let s):
            let start = bytes.count
            bytes.append(contentsOf: s.utf8)
            scalar(.string, parent: parent, key: k, size: bytes.count - start, payload: UInt64(start))
        case .int(let i): scalar(.int, parent: parent, key: k, payload: UInt64(bitPattern: i))
        case .double(let d): scalar(.double, parent: parent, key: k, payload: d.bitPattern)
        case .bool(let b): scalar(.bool, parent: parent, key: k, payload: b ? 1 : 0)
        case .null: scalar(.null, parent: parent, key: k, payload: 0)
        }
    }

    /// Appends a raw JSON value. With `filter`, objects keep only the members named below its node;
    /// a `nil` node keeps nothing (the value is only checked, and no entry is added).
    mutating func appendRaw(
        _ bytes: some Collection<UInt8>, parent: Int, key: (start: Int, length: Int)?, filter: (JSONKeyFilterNodes, Int?)? = nil
    ) throws(JSONParseError) {
        let result: Result<Void, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buf in
            Result { () throws(JSONParseError) in try appendRaw(buffer: UnsafeRawBufferPointer(buf), parent: parent, key: key, filter: filter) }
        }
        if let result { return try result.get() }
        let array = Array(bytes)
        try array.withUnsafeBytes { buf in
            Result { () throws(JSONParseError) in try appendRaw(buffer: buf, parent: parent, key: key, filter: filter) }
        }.get()
    }

    mutating func appendRaw(
        buffer buf: UnsafeRawBufferPointer, parent: Int, key: (start: Int, length: Int)?, filter: (JSONKeyFilterNodes, Int?)? = nil
    ) throws(JSONParseError) {
        var p = Parser(buf: buf)
        p.skipWhitespace()
        var dup = TapeDuplicates(members: [])
        swap(&dup.members, &names)
        dup.members.removeAll(keepingCapacity: true)
        defer { swap(&dup.members, &names) }
        switch filter {
        case nil: try p.tapeValue(depth: 0, into: &self, parent: parent, key: key, duplicates: &dup)
        case (let f, let node?)?: try p.tapeValue(depth: 0, into: &self, parent: parent, key: key, duplicates: &dup, filter: f, node: node)
        case (_, nil)?: try p.skipValue(depth: 0)
        }
        p.skipWhitespace()
        if p.pos != buf.count { throw p.error("unexpected content after the JSON value") }
    }

    /// Marks the member at `position` (and its subtree) as replaced by a later duplicate.
    mutating func remove(_ position: Int) {
        let span = entries[position].span
        entries[position].size = UInt32(span - 1)
        entries[position].kind = .removed
    }

    // MARK: Reading

    /// The text of a string entry.
    public func string(_ e: Entry) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[Int(e.payload)..<Int(e.payload) + Int(e.size)]), as: UTF8.self) }
    }

    /// A scalar entry as a value (`nil` for containers).
    public func scalarValue(_ e: Entry) -> JSONValue? {
        switch e.kind {
        case .string: return .string(string(e))
        case .int: return .int(Int64(bitPattern: e.payload))
        case .double: return .double(Double(bitPattern: e.payload))
        case .bool: return .bool(e.payload != 0)
        case .null: return .null
        case .object, .array, .removed: return nil
        }
    }

    /// The document as a value (`.null` for an empty tape).
    public func value() -> JSONValue {
        entries.isEmpty ? .null : value(at: 0)
    }

    private func value(at i: Int) -> JSONValue {
        let e = entries[i]
        switch e.kind {
        case .object:
            var keys: [String] = []
            var values: [JSONValue] = []
            var j = i + 1
            let end = i + 1 + Int(e.size)
            while j < end {
                let c = entries[j]
                if c.kind != .removed {
                    keys.append(bytes.withUnsafeBufferPointer {
                        String(decoding: UnsafeBufferPointer(rebasing: $0[Int(c.keyStart)..<Int(c.keyStart) + Int(c.keyLength)]), as: UTF8.self)
                    })
                    values.append(value(at: j))
                }
                j += c.span
            }
            return .object(JSONObject(uncheckedKeys: keys, values: values))
        case .array:
            var items: [JSONValue] = []
            var j = i + 1
            let end = i + 1 + Int(e.size)
            while j < end {
                items.append(value(at: j))
                j += entries[j].span
            }
            return .array(items)
        default:
            return scalarValue(e) ?? .null
        }
    }
}

/// Member names of the objects being read from raw bytes, to apply "the last duplicate wins".
struct TapeDuplicates {
    /// (key start, key length, entry, whether the key is ASCII, key hash) of the members of the open objects, innermost last.
    var members: [(Int, Int, Int, Bool, UInt32)] = []
}

extension Parser {
    /// Reads one value into `tape`, checking it exactly as ``parseValue(depth:)`` does.
    /// Reads a value onto the tape. With `filter`, objects keep only the members named below `node`
    /// (arrays are looked through); the others are checked and skipped.
    mutating func tapeValue(depth: Int, into tape: inout JSONTape, parent: Int, key: (start: Int, length: Int)?,
                            duplicates: inout TapeDuplicates, filter: JSONKeyFilterNodes? = nil, node: Int = 0) throws(JSONParseError) {
        guard pos < buf.count else { throw error("unexpected end of input, expected a value") }
        switch buf[pos] {
        case UInt8(ascii: "{"):
            if depth + 1 > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
            let me = tape.open(.object, parent: parent, key: key)
            pos += 1
            skipWhitespace()
            if pos < buf.count, buf[pos] == UInt8(ascii: "}") {
                pos += 1
                tape.close(me)
                return
            }
            let base = duplicates.members.count
            var byName: [String: Int]? = nil
            while true {
                skipWhitespace()
                guard pos < buf.count else { throw error("unexpected end of input in object") }
                guard buf[pos] == UInt8(ascii: "\"") else { throw error("expected a string key in object") }
                var child = 0
                let k: (start: Int, length: Int)
                if let filter {
                    // The filter is asked before the name goes on the tape: most members are skipped.
                    let quote = pos
                    let plain = try skipString()
                    let kept: Int?
                    if plain {
                        kept = Self.keptMember(UnsafeRawBufferPointer(rebasing: buf[(quote + 1)..<(pos - 1)]), of: node, filter)
                    } else {
                        pos = quote
                        let s = try parseString()
                        kept = filter.child(of: node, named: s)
                    }
                    try expectColon()
                    guard let kept else {
                        try skipValue(depth: depth + 1)
                        if try endOfObject() {
                            duplicates.members.removeLast(duplicates.members.count - base)
                            tape.close(me)
                            return
                        }
                        continue
                    }
                    child = kept
                    let end = pos
                    pos = quote
                    k = try tapeString(into: &tape)
                    pos = end
                } else {
                    k = try tapeString(into: &tape)
                    try expectColon()
                }
                let position = tape.entries.count
                try tapeValue(depth: depth + 1, into: &tape, parent: me, key: k, duplicates: &duplicates, filter: filter, node: child)
                var ambiguous = false
                let entry = tape.entries[position]
                let earlier = tape.bytes.withUnsafeBufferPointer { b in
                    Self.duplicate(k, ascii: entry.keyASCII, hash: entry.keyHash, of: base, b, &duplicates, &byName, position: position, ambiguous: &ambiguous)
                }
                if ambiguous { tape.hasAmbiguousNames = true }
                if let earlier { tape.remove(earlier) }
                if try endOfObject() {
                    duplicates.members.removeLast(duplicates.members.count - base)
                    tape.close(me)
                    return
                }
            }
        case UInt8(ascii: "["):
            if depth + 1 > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
            let me = tape.open(.array, parent: parent, key: key)
            pos += 1
            skipWhitespace()
            if pos < buf.count, buf[pos] == UInt8(ascii: "]") {
                pos += 1
                tape.close(me)
                return
            }
            while true {
                skipWhitespace()
                if pos < buf.count, buf[pos] == UInt8(ascii: "{") || buf[pos] == UInt8(ascii: "[") {
                    tape.entries[me].holdsContainers = true
                }
                try tapeValue(depth: depth + 1, into: &tape, parent: me, key: nil, duplicates: &duplicates, filter: filter, node: node)
                if try endOfArray() {
                    tape.close(me)
                    return
                }
            }
        case UInt8(ascii: "\""):
            let s = try tapeString(into: &tape)
            tape.scalar(.string, parent: parent, key: key, size: s.length, payload: UInt64(s.start))
        case UInt8(ascii: "t"):
            try literal("true")
            tape.scalar(.bool, parent: parent, key: key, payload: 1)
        case UInt8(ascii: "f"):
            try literal("false")
            tape.scalar(.bool, parent: parent, key: key, payload: 0)
        case UInt8(ascii: "n"):
            try literal("null")
            tape.scalar(.null, parent: parent, key: key, payload: 0)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            switch try parseNumber() {
            case .int(let i): tape.scalar(.int, parent: parent, key: key, payload: UInt64(bitPattern: i))
            case .double(let d): tape.scalar(.double, parent: parent, key: key, payload: d.bitPattern)
            default: break
            }
        default:
            throw error("unexpected character '\(Self.printable(buf[pos]))', expected a value")
        }
    }

    /// The filter node of the member with this (unescaped) name, if the filter keeps it. A non-ASCII
    /// name is also compared as a `String` (canonical equivalence), as the matcher compares names.
    static func keptMember(_ name: UnsafeRawBufferPointer, of node: Int, _ f: JSONKeyFilterNodes) -> Int? {
        if let child = f.child(of: node, bytes: name) { return child }
        guard name.contains(where: { $0 >= 0x80 }) || f.hasNonASCIINames else { return nil }
        return f.child(of: node, named: String(decoding: name, as: UTF8.self))
    }

    /// Reads a string (checked as ``parseString()`` does) and appends its decoded bytes to the tape.
    mutating func tapeString(into tape: inout JSONTape) throws(JSONParseError) -> (start: Int, length: Int) {
        let quote = pos
        if try skipString() {
            let start = tape.bytes.count
            tape.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[(quote + 1)..<(pos - 1)]))
            return (start, tape.bytes.count - start)
        }
        let end = pos
        pos = quote
        let s = try parseString()
        pos = end
        return tape.appendKey(s)
    }

    /// The entry of an earlier member of the same object named like `key` (then forgotten), and records `key`.
    /// Names are compared as ``JSONObject`` compares them (`String` equality).
    static func duplicate(_ key: (start: Int, length: Int), ascii keyASCII: Bool, hash: UInt32, of base: Int, _ bytes: UnsafeBufferPointer<UInt8>,
                          _ d: inout TapeDuplicates, _ byName: inout [String: Int]?, position: Int, ambiguous: inout Bool) -> Int? {
        let n = d.members.count - base
        var found: Int?
        let b = bytes
        if n < 16, byName == nil {
            // As the parser's `push`: a duplicate has the same length in bytes and is an equal `String`.
            for i in base..<d.members.count {
                let (s, l, _, otherASCII, otherHash) = d.members[i]
                if keyASCII && otherASCII {
                    if otherHash == hash, l == key.length, JSONTape.bytesEqual(b.baseAddress! + s, b.baseAddress! + key.start, l) {
                        found = i
                        break
                    }
                    continue
                }
                let a = String(decoding: UnsafeBufferPointer(rebasing: b[s..<(s + l)]), as: UTF8.self)
                let k = String(decoding: UnsafeBufferPointer(rebasing: b[key.start..<(key.start + key.length)]), as: UTF8.self)
                guard a == k else { continue }
                if l == key.length {
                    found = i
                    break
                }
                ambiguous = true
            }
        } else {
            if byName == nil {
                var m = [String: Int](minimumCapacity: 2 * n)
                for i in base..<d.members.count {
                    let (s, l, _, _, _) = d.members[i]
                    m[String(decoding: UnsafeBufferPointer(rebasing: b[s..<(s + l)]), as: UTF8.self)] = i
                }
                byName = m
            }
            let k = String(decoding: UnsafeBufferPointer(rebasing: b[key.start..<(key.start + key.length)]), as: UTF8.self)
            if let f = byName![k] { found = f } else { byName![k] = d.members.count }
        }
        if let found {
            let earlier = d.members[found].2
            // The later value takes the earlier one's place in the list of names.
            d.members[found].2 = position
            return earlier
        }
        d.members.append((key.start, key.length, position, keyASCII, hash))
        return nil
    }
}

extension JSONTape {
    /// Whether `n` bytes at `a` and `b` are equal, compared eight (or four) at a time: what lookups of
    /// short names and values in tables use after their hashes agree.
    @inlinable @inline(__always)
    public static func bytesEqual(_ ra: UnsafeRawPointer, _ rb: UnsafeRawPointer, _ n: Int) -> Bool {
        if n >= 8 {
            var k = 0
            while k + 8 <= n {
                if ra.loadUnaligned(fromByteOffset: k, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: k, as: UInt64.self) { return false }
                k += 8
            }
            // The last eight bytes, overlapping the words already compared.
            return k == n || ra.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == rb.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        }
        if n >= 4 {
            return ra.loadUnaligned(as: UInt32.self) == rb.loadUnaligned(as: UInt32.self)
                && ra.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == rb.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
        }
        var k = 0
        while k < n {
            if ra.load(fromByteOffset: k, as: UInt8.self) != rb.load(fromByteOffset: k, as: UInt8.self) { return false }
            k += 1
        }
        return true
    }
}
