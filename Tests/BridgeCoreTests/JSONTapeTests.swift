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
