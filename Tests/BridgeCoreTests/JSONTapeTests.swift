import BridgeCore
import Testing

@Suite struct JSONTapeTests {
    static let documents = [
        "{}", "[]", "7", #""x""#, "null", "[1, 2.5, -3e2, true, false, null]",
        #"{"a": {"b": "c\n\u00e9\ud83d\ude00"}, "d": [[1, {"e": []}], {}], "f": -0.5}"#,
        // Duplicates: the last value wins, also for nested containers and beyond 16 members.
        #"{"a":1,"b":[{"a":2,"a":3}],"a":{"x":[1,2]},"c":{"d":1},"c":5}"#,
        "{" + (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + #","k3":99,"k39":{"z":[1]},"k3":[7]}"#,
        // Names equal as Swift strings but not as bytes are duplicates too.
        #"{"K":1,"\u212A":2,"A\u030A":3,"\u00C5":{"x":4}}"#,
        #"{"\u212A":{"a":1},"K":[2]}"#,
        // Escaped names: kept or skipped by a filter by their decoded text.
        #"{"\u0061":{"b":"x","\u0062":"y"},"k\u0033":1,"sk\u0069p":{"a":2},"\u00e9":[3],"c\"q":4}"#,
    ]

    @Test(arguments: documents)
    func readsRawBytesAsTheParserDoes(text: String) throws {
        let parsed = try JSONParser.parse(text)
        let tape = try JSONTape(rawDocument: Array(text.utf8))
        // (`==` is not reflexive for objects with names equal only as Strings; compare their text then.)
        func same(_ a: JSONValue, _ b: JSONValue) -> Bool { a == b || JSONWriter.bytes(a) == JSONWriter.bytes(b) }
        #expect(same(tape.value(), parsed))
        #expect(same(JSONTape(parsed).value(), parsed))
        #expect(tape.hasAmbiguousNames == text.contains("212A"))
    }

    @Test(arguments: JSONParserTestsShared.invalidDocuments)
    func rejectsWhatTheParserRejects(text: String) {
        var parserError: JSONParseError?
        do { _ = try JSONParser.parse(text) } catch { parserError = error }
        var tape = try? JSONTape(rawDocument: Array("[1]".utf8))
        do {
            try tape?.reset(rawDocument: Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error == parserError)
        }
        #expect(tape?.count == 0)
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() {
        let bytes: [UInt8] = Array(#"{"skip":""#.utf8) + [0xFF] + Array(#""}"#.utf8)
        #expect(throws: JSONParseError.self) { try JSONTape(rawDocument: bytes) }
        let deep = Array(("{\"a\":" + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}").utf8)
        #expect(throws: JSONParseError.self) { try JSONTape(rawDocument: deep) }
    }

    @Test func envelopeWithRawBody() throws {
        let base = try #require(JSONParser.parse(#"{"id":"1","body":"stale","headers":{"a":"b"}}"#).objectValue)
        let body = #"{"x":[1,{"y":"z"}],"x":2}"#
        let tape = try JSONTape(envelopeBase: base, rawBody: Array(body.utf8))
        var expected = base
        expected["body"] = try JSONParser.parse(body)
        #expect(tape.value() == .object(expected))
        var reused = tape
        #expect(throws: JSONParseError.self) { try reused.reset(envelopeBase: base, rawBody: Array("{".utf8)) }
        #expect(reused.count == 0)
        #expect(tape.value() == .object(expected))
    }

    /// With a key filter the tape holds what ``JSONParser/parse(_:keeping:)`` keeps, and still rejects
    /// every invalid body, also in members it does not keep.
    @Test(arguments: documents)
    func filteredEnvelopeKeepsWhatTheFilteredParserKeeps(text: String) throws {
        let base = try #require(JSONParser.parse(#"{"id":"1","source":"s","kafka":{"topic":"t","offset":4},"headers":{"a":"b"}}"#).objectValue)
        let filters: [[[String]]] = [
            [["body", "a", "b"], ["body", "k3"], ["kafka", "topic"]],
            [["body", "c"], ["body", "\u{212A}"], ["id"]],
            [["body", "d", "e"], ["body", "f"]],
            [["id"]],  // no body member at all: the body is only checked
            [],
        ]
        for paths in filters {
            let filter = JSONKeyFilter(paths: paths)
            var envelope = base
            envelope["body"] = try JSONParser.parse(text)
            let expected = try JSONParser.parse(JSONWriter.bytes(.object(envelope)), keeping: filter)
            var tape = JSONTape()
            try tape.reset(envelopeBase: base, rawBody: Array(text.utf8), keeping: filter)
            func same(_ a: JSONValue, _ b: JSONValue) -> Bool { a == b || JSONWriter.bytes(a) == JSONWriter.bytes(b) }
            #expect(same(tape.value(), expected), "\(paths) on \(text): \(tape.value()) vs \(expected)")
        }
    }

    /// Every member entry carries the hash and ASCII flag of its name, however the tape was built
    /// (readers such as the pattern index look names up by them); entries without a name carry 0 and true.
    @Test(arguments: documents)
    func entriesCarryTheirNameHashes(text: String) throws {
        let filter = JSONKeyFilter(paths: [["body", "a", "b"], ["body", "k3"], ["body", "\u{212A}"], ["body", "d", "e"]])
        var filtered = JSONTape()
        try filtered.reset(envelopeBase: JSONObject([("id", "1")]), rawBody: Array(text.utf8), keeping: filter)
        for tape in try [JSONTape(rawDocument: Array(text.utf8)), JSONTape(JSONParser.parse(text)), filtered] {
            for e in tape.entries where e.kind != .removed {
                guard e.keyLength >= 0 else {
                    #expect(e.keyHash == 0 && e.keyASCII)
                    continue
                }
                let name = Array(tape.bytes[Int(e.keyStart)..<Int(e.keyStart) + Int(e.keyLength)])
                let expected = name.withUnsafeBytes { JSONTape.keyHash($0) }
                #expect(e.keyHash == expected.hash, "\(String(decoding: name, as: UTF8.self)) in \(text)")
                #expect(e.keyASCII == name.allSatisfy { $0 < 0x80 })
                #expect(expected.ascii == e.keyASCII)
            }
        }
    }

    /// Names differing in any one byte, or only in length, hash apart (the walk still compares bytes,
    /// but a table full of collisions would be slow); `bytesEqual` sees a difference at every position.
    @Test func nameHashesAndByteComparisonSeeEveryByte() {
        for n in 0...40 {
            let name = (0..<n).map { UInt8(ascii: "a") + UInt8($0 % 26) }
            let hash = name.withUnsafeBytes { JSONTape.keyHash($0) }
            #expect(hash.ascii)
            let longer = (name + [UInt8(ascii: "a")]).withUnsafeBytes { JSONTape.keyHash($0) }
            #expect(longer.hash != hash.hash, "length \(n)")
            let copy = Array(name)
            name.withUnsafeBufferPointer { a in
                copy.withUnsafeBufferPointer { b in
                    #expect(n == 0 || JSONTape.bytesEqual(a.baseAddress!, b.baseAddress!, n), "equal copies of \(n) bytes")
                }
            }
            for i in 0..<n {
                var other = name
                other[i] ^= 0x01
                #expect(other.withUnsafeBytes { JSONTape.keyHash($0).hash } != hash.hash, "byte \(i) of \(n)")
                other[i] = 0xC3
                #expect(!other.withUnsafeBytes { JSONTape.keyHash($0).ascii })
                name.withUnsafeBufferPointer { a in
                    other.withUnsafeBufferPointer { b in
                        #expect(!JSONTape.bytesEqual(a.baseAddress!, b.baseAddress!, n), "byte \(i) of \(n)")
                    }
                }
            }
        }
    }

    @Test(arguments: JSONParserTestsShared.invalidDocuments)
    func filteredTapeRejectsWhatTheParserRejects(text: String) {
        for filter in [JSONKeyFilter(paths: [["body", "keep"]]), JSONKeyFilter(paths: [["id"]])] {
            var tape = JSONTape()
            #expect(throws: JSONParseError.self, "\(text)") { try tape.reset(envelopeBase: JSONObject(), rawBody: Array(text.utf8), keeping: filter) }
            #expect(tape.count == 0)
        }
    }
}

/// The parser's invalid documents, shared with the tape tests.
enum JSONParserTestsShared {
    static let invalidDocuments = [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"abc", "tru", "{\"a\" 1}", "[1] x",
        "\"\\ud800\"", "\"a\u{01}b\"", "\"\\x\"", "1e", "{1:2}",
        #"{"skip":[1,]}"#, #"{"skip":{"a":01}}"#, #"{"skip":"\ud800"}"#, #"{"skip":1e999}"#,
        #"{"skip":"a\#u{01}b"}"#, #"{"skip":nul}"#, #"{"sk\x":1}"#, #"{"keep":{"skip":[}}"#,
        #"{"a":1}}"#, #"[{"a":[1,2}]"#,
    ]
}
