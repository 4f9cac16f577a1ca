/// A strict, fast JSON parser (RFC 8259) from UTF-8 bytes to ``JSONValue``.
///
/// Hand-written because parsing is on the hot path of every webhook and Kafka
/// message. It rejects trailing garbage, control characters in strings,
/// lone surrogates, leading zeros and nesting deeper than `maxDepth`, and its
/// errors give the byte offset, line and column of the problem.
public struct JSONParser {
    /// The deepest nesting accepted (a hostile body cannot exhaust the stack).
    public static let maxDepth = 256

    /// Parses a whole document.
    /// - Throws: ``JSONParseError`` with the position of the first problem.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buf in
            Result { () throws(JSONParseError) -> JSONValue in try parse(buffer: UnsafeRawBufferPointer(buf)) }
        }
        if let result { return try result.get() }
        let array = Array(bytes)
        return try array.withUnsafeBytes { buf in
            Result { () throws(JSONParseError) -> JSONValue in try parse(buffer: buf) }
        }.get()
    }

    /// Parses a whole document from a string.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        return try text.withUTF8 { buf in
            Result { () throws(JSONParseError) -> JSONValue in try parse(buffer: UnsafeRawBufferPointer(buf)) }
        }.get()
    }

    /// Parses a whole document but builds only the object members `filter` names.
    ///
    /// The rest is checked as strictly as by ``parse(_:)-(Collection<UInt8>)`` (the same documents
    /// are rejected) without building values, which makes it several times cheaper when
    /// only a few fields of a large document matter (matching rules against a body).
    /// - Throws: ``JSONParseError`` with the position of the first problem.
    public static func parse(_ bytes: some Collection<UInt8>, keeping filter: JSONKeyFilter) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buf in
            Result { () throws(JSONParseError) -> JSONValue in try parse(buffer: UnsafeRawBufferPointer(buf), filter: filter) }
        }
        if let result { return try result.get() }
        let array = Array(bytes)
        return try array.withUnsafeBytes { buf in
            Result { () throws(JSONParseError) -> JSONValue in try parse(buffer: buf, filter: filter) }
        }.get()
    }

    static func parse(buffer: UnsafeRawBufferPointer, filter: JSONKeyFilter? = nil) throws(JSONParseError) -> JSONValue {
        var p = Parser(buf: buffer)
        p.keyStack.reserveCapacity(32)
        p.valueStack.reserveCapacity(32)
        p.itemStack.reserveCapacity(32)
        p.skipWhitespace()
        let value: JSONValue
        if let filter {
            value = try p.parseFiltered(depth: 0, filter.nodes, node: filter.nodes.root)
        } else {
            value = try p.parseValue(depth: 0)
        }
        p.skipWhitespace()
        if p.pos != buffer.count { throw p.error("unexpected content after the JSON value") }
        return value
    }
}

/// Why a document is not valid JSON, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Byte offset of the problem.
    public var offset: Int
    /// 1-based line of the problem.
    public var line: Int
    /// 1-based column (in bytes) of the problem.
    public var column: Int

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// The parser's state; internal so ``JSONTape`` can read raw bytes with the same checks.
struct Parser {
    let buf: UnsafeRawBufferPointer
    var pos = 0
    /// Members and elements of the containers being parsed, innermost last; a finished
    /// container takes its slice in one exactly sized allocation instead of growing its own arrays.
    var keyStack: [String] = []
    var valueStack: [JSONValue] = []
    var itemStack: [JSONValue] = []

    init(buf: UnsafeRawBufferPointer) { self.buf = buf }

    func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
        let at = min(offset ?? pos, buf.count)
        var line = 1
        var col = 1
        var i = 0
        while i < at {
            if buf[i] == UInt8(ascii: "\n") { line += 1; col = 1 } else { col += 1 }
            i += 1
        }
        return JSONParseError(message: message, offset: at, line: line, column: col)
    }

    @inline(__always) mutating func skipWhitespace() {
        while pos < buf.count {
            switch buf[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard pos < buf.count else { throw error("unexpected end of input, expected a value") }
        switch buf[pos] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default:
            throw error("unexpected character '\(Self.printable(buf[pos]))', expected a value")
        }
    }

    static func printable(_ b: UInt8) -> String {
        (0x20..<0x7F).contains(b) ? String(UnicodeScalar(b)) : "\\u{\(String(b, radix: 16))}"
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= buf.count else { throw error("unexpected end of input in literal") }
        let w = word.utf8Start
        for i in 0..<n where buf[pos + i] != w[i] {
            throw error("invalid literal, expected '\(word)'")
        }
        pos += n
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        pos += 1
        skipWhitespace()
        if pos < buf.count, buf[pos] == UInt8(ascii: "}") {
            pos += 1
            return .object(JSONObject())
        }
        let base = keyStack.count
        var positions: [String: Int]? = nil
        while true {
            skipWhitespace()
            guard pos < buf.count else { throw error("unexpected end of input in object") }
            guard buf[pos] == UInt8(ascii: "\"") else { throw error("expected a string key in object") }
            let key = try parseString()
            try expectColon()
            let value = try parseValue(depth: depth)
            push(key, value, base: base, positions: &positions)
            if try endOfObject() { return .object(popObject(base: base)) }
        }
    }

    /// Skips whitespace and the `:` after a key, and the whitespace after it.
    @inline(__always) mutating func expectColon() throws(JSONParseError) {
        skipWhitespace()
        guard pos < buf.count, buf[pos] == UInt8(ascii: ":") else { throw error("expected ':' after object key") }
        pos += 1
        skipWhitespace()
    }

    /// After a member: `true` at the closing brace, `false` after a comma.
    @inline(__always) mutating func endOfObject() throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard pos < buf.count else { throw error("unexpected end of input in object") }
        if buf[pos] == UInt8(ascii: ",") { pos += 1; return false }
        if buf[pos] == UInt8(ascii: "}") { pos += 1; return true }
        throw error("expected ',' or '}' in object")
    }

    /// Adds a member of the object whose members start at `base`; a duplicate key keeps its
    /// first position and the last value, as ``JSONObject``'s subscript does.
    @inline(__always)
    mutating func push(_ key: String, _ value: JSONValue, base: Int, positions: inout [String: Int]?) {
        let n = keyStack.count - base
        if n < 16 {
            let len = key.utf8.count
            for i in base..<keyStack.count where keyStack[i].utf8.count == len && keyStack[i] == key {
                valueStack[i] = value
                return
            }
        } else {
            if positions == nil {
                var p = [String: Int](minimumCapacity: 2 * n)
                for i in base..<keyStack.count { p[keyStack[i]] = i }
                positions = p
            }
            if let i = positions![key] {
                valueStack[i] = value
                return
            }
            positions![key] = keyStack.count
        }
        keyStack.append(key)
        valueStack.append(value)
    }

    mutating func popObject(base: Int) -> JSONObject {
        JSONObject(uncheckedKeys: Self.moveOut(&keyStack, from: base, filler: ""), values: Self.moveOut(&valueStack, from: base, filler: .null))
    }

    /// Moves the top of a stack (from `base`, not empty) into a new array of exactly that size,
    /// without the retain and release a copy followed by a removal would cost. (Written per
    /// element type: a generic version calls the unspecialized array allocator, which looks up
    /// type metadata on every call.)
    static func moveOut(_ stack: inout [JSONValue], from base: Int, filler: JSONValue) -> [JSONValue] {
        let n = stack.count - base
        let out = stack.withUnsafeMutableBufferPointer { s in
            [JSONValue](unsafeUninitializedCapacity: n) { buf, count in
                buf.baseAddress!.moveInitialize(from: s.baseAddress! + base, count: n)
                // The moved-from slots are refilled with a value that owns nothing, then dropped.
                (s.baseAddress! + base).initialize(repeating: filler, count: n)
                count = n
            }
        }
        stack.removeLast(n)
        return out
    }

    static func moveOut(_ stack: inout [String], from base: Int, filler: String) -> [String] {
        let n = stack.count - base
        let out = stack.withUnsafeMutableBufferPointer { s in
            [String](unsafeUninitializedCapacity: n) { buf, count in
                buf.baseAddress!.moveInitialize(from: s.baseAddress! + base, count: n)
                (s.baseAddress! + base).initialize(repeating: filler, count: n)
                count = n
            }
        }
        stack.removeLast(n)
        return out
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        pos += 1
        skipWhitespace()
        if pos < buf.count, buf[pos] == UInt8(ascii: "]") {
            pos += 1
            return .array([])
        }
        let base = itemStack.count
        while true {
            skipWhitespace()
            itemStack.append(try parseValue(depth: depth))
            if try endOfArray() { return .array(popArray(base: base)) }
        }
    }

    /// After an element: `true` at the closing bracket, `false` after a comma.
    @inline(__always) mutating func endOfArray() throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard pos < buf.count else { throw error("unexpected end of input in array") }
        if buf[pos] == UInt8(ascii: ",") { pos += 1; return false }
        if buf[pos] == UInt8(ascii: "]") { pos += 1; return true }
        throw error("expected ',' or ']' in array")
    }

    mutating func popArray(base: Int) -> [JSONValue] {
        Self.moveOut(&itemStack, from: base, filler: .null)
    }

    // MARK: Selective parse

    /// Parses a value keeping, in objects, only the members the filter names below `node`.
    mutating func parseFiltered(depth: Int, _ f: JSONKeyFilterNodes, node: Int) throws(JSONParseError) -> JSONValue {
        guard pos < buf.count else { throw error("unexpected end of input, expected a value") }
        switch buf[pos] {
        case UInt8(ascii: "{"):
            if depth + 1 > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
            pos += 1
            skipWhitespace()
            if pos < buf.count, buf[pos] == UInt8(ascii: "}") {
                pos += 1
                return .object(JSONObject())
            }
            let base = keyStack.count
            var positions: [String: Int]? = nil
            while true {
                skipWhitespace()
                guard pos < buf.count else { throw error("unexpected end of input in object") }
                guard buf[pos] == UInt8(ascii: "\"") else { throw error("expected a string key in object") }
                let keyStart = pos
                let simple = try skipString()
                var child: Int?
                var key = ""
                if simple {
                    let raw = UnsafeRawBufferPointer(rebasing: buf[(keyStart + 1)..<(pos - 1)])
                    child = f.child(of: node, bytes: raw)
                    if child != nil {
                        key = String(decoding: raw, as: UTF8.self)
                    } else if f.hasNonASCIINames {
                        key = String(decoding: raw, as: UTF8.self)
                        child = f.child(of: node, named: key)
                    }
                } else {
                    let end = pos
                    pos = keyStart
                    key = try parseString()
                    pos = end
                    child = f.child(of: node, named: key)
                }
                try expectColon()
                if let child {
                    let value = try parseFiltered(depth: depth + 1, f, node: child)
                    push(key, value, base: base, positions: &positions)
                } else {
                    try skipValue(depth: depth + 1)
                }
                if try endOfObject() { return .object(popObject(base: base)) }
            }
        case UInt8(ascii: "["):
            if depth + 1 > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
            pos += 1
            skipWhitespace()
            if pos < buf.count, buf[pos] == UInt8(ascii: "]") {
                pos += 1
                return .array([])
            }
            let base = itemStack.count
            while true {
                skipWhitespace()
                itemStack.append(try parseFiltered(depth: depth + 1, f, node: node))
                if try endOfArray() { return .array(popArray(base: base)) }
            }
        default:
            return try parseValue(depth: depth)
        }
    }

    /// Checks a value as ``parseValue(depth:)`` would, without building it.
    mutating func skipValue(depth: Int) throws(JSONParseError) {
        guard pos < buf.count else { throw error("unexpected end of input, expected a value") }
        switch buf[pos] {
        case UInt8(ascii: "{"):
            if depth + 1 > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
            pos += 1
            skipWhitespace()
            if pos < buf.count, buf[pos] == UInt8(ascii: "}") {
                pos += 1
                return
            }
            while true {
                skipWhitespace()
                guard pos < buf.count else { throw error("unexpected end of input in object") }
                guard buf[pos] == UInt8(ascii: "\"") else { throw error("expected a string key in object") }
                _ = try skipString()
                try expectColon()
                try skipValue(depth: depth + 1)
                if try endOfObject() { return }
            }
        case UInt8(ascii: "["):
            if depth + 1 > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
            pos += 1
            skipWhitespace()
            if pos < buf.count, buf[pos] == UInt8(ascii: "]") {
                pos += 1
                return
            }
            while true {
                skipWhitespace()
                try skipValue(depth: depth + 1)
                if try endOfArray() { return }
            }
        case UInt8(ascii: "\""): _ = try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = pos
            let isInteger = try scanNumber()
            // Short integers are always in range; anything else is converted to apply the range check.
            if !isInteger || pos - start > 18 { _ = try makeNumber(from: start, isInteger: isInteger) }
        default:
            throw error("unexpected character '\(Self.printable(buf[pos]))', expected a value")
        }
    }

    /// Moves past a string, checking it; `true` when it is plain ASCII without escapes
    /// (its bytes between the quotes are then its text). Other strings go through
    /// ``parseString()``, so they are checked exactly as when parsed.
    mutating func skipString() throws(JSONParseError) -> Bool {
        let start = pos
        var i = plainASCII(from: pos + 1)
        while i < buf.count {
            let b = buf[i]
            if b == UInt8(ascii: "\"") {
                pos = i + 1
                return true
            }
            if b == UInt8(ascii: "\\") || b >= 0x80 { break }
            if b < 0x20 { throw error("control character in string (escape it)", at: i) }
            i += 1
        }
        guard i < buf.count else { throw error("unterminated string", at: start) }
        _ = try parseString()
        return false
    }

    mutating func parseString() throws(JSONParseError) -> String {
        let start = pos
        pos += 1
        // Fast path: no escapes.
        var i = plainASCII(from: pos)
        while i < buf.count {
            let b = buf[i]
            if b == UInt8(ascii: "\"") {
                let s = try validatedString(from: pos, to: i, start: start)
                pos = i + 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw error("control character in string (escape it)", at: i) }
            i += 1
        }
        guard i < buf.count else { throw error("unterminated string", at: start) }
        // Slow path with escapes.
        var out: [UInt8] = []
        out.reserveCapacity(i - pos + 16)
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[pos..<i]))
        pos = i
        while pos < buf.count {
            let b = buf[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                guard let s = String(validating: out, as: UTF8.self) else {
                    throw error("invalid UTF-8 in string", at: start)
                }
                return s
            }
            if b < 0x20 { throw error("control character in string (escape it)") }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                pos += 1
                continue
            }
            pos += 1
            guard pos < buf.count else { break }
            let e = buf[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard pos + 1 < buf.count, buf[pos] == UInt8(ascii: "\\"), buf[pos + 1] == UInt8(ascii: "u") else {
                        throw error("lone high surrogate in \\u escape")
                    }
                    pos += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid low surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("lone low surrogate in \\u escape")
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw error("invalid escape '\\\(Self.printable(e))'", at: pos - 2)
            }
        }
        throw error("unterminated string", at: start)
    }

    /// The first position at or after `i` that may hold a quote, a backslash, a control
    /// character or a non-ASCII byte, skipping eight plain bytes at a time.
    @inline(__always) func plainASCII(from start: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var i = start
        while i + 8 <= buf.count {
            let w = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
            // Exact for the lowest special byte (borrows only run upwards), which is all the loop needs.
            let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | (w &- ones &* 0x20) | w
            if special & highs != 0 { return i + (special & highs).trailingZeroBitCount >> 3 }
            i += 8
        }
        return i
    }

    func validatedString(from: Int, to: Int, start: Int) throws(JSONParseError) -> String {
        let slice = UnsafeRawBufferPointer(rebasing: buf[from..<to])
        var ascii = true
        for b in slice where b >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: slice, as: UTF8.self) }
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw error("invalid UTF-8 in string", at: start)
        }
        return s
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard pos + 4 <= buf.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = buf[pos]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = pos
        let isInteger = try scanNumber()
        return try makeNumber(from: start, isInteger: isInteger)
    }

    /// Moves past a number, checking its syntax; `true` when it has no fraction or exponent.
    mutating func scanNumber() throws(JSONParseError) -> Bool {
        var isInteger = true
        if buf[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < buf.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(buf[pos]) else {
            throw error("invalid number: expected a digit")
        }
        if buf[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < buf.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(buf[pos]) {
                throw error("invalid number: leading zero")
            }
        } else {
            while pos < buf.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(buf[pos]) { pos += 1 }
        }
        if pos < buf.count, buf[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard pos < buf.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(buf[pos]) else {
                throw error("invalid number: expected a digit after '.'")
            }
            while pos < buf.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(buf[pos]) { pos += 1 }
        }
        if pos < buf.count, buf[pos] == UInt8(ascii: "e") || buf[pos] == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            if pos < buf.count, buf[pos] == UInt8(ascii: "+") || buf[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < buf.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(buf[pos]) else {
                throw error("invalid number: expected a digit in exponent")
            }
            while pos < buf.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(buf[pos]) { pos += 1 }
        }
        return isInteger
    }

    func makeNumber(from start: Int, isInteger: Bool) throws(JSONParseError) -> JSONValue {
        let text = UnsafeRawBufferPointer(rebasing: buf[start..<pos])
        if isInteger, text.count <= 18 {
            var v: Int64 = 0
            var neg = false
            for b in text {
                if b == UInt8(ascii: "-") { neg = true; continue }
                v = v &* 10 &+ Int64(b - UInt8(ascii: "0"))
            }
            return .int(neg ? -v : v)
        }
        let s = String(decoding: text, as: UTF8.self)
        if isInteger, let i = Int64(s) { return .int(i) }
        guard let d = Double(s), d.isFinite else { throw error("number out of range", at: start) }
        return .double(d)
    }
}
