import BridgeCore
import Foundation
import Testing

@Suite struct JSONParserTests {
    @Test(arguments: [
        ("{}", JSONValue.object(JSONObject())),
        ("[1, 2.5, -3e2, true, false, null]", [1, 2.5, -300.0, true, false, nil] as JSONValue),
        (#"{"a": {"b": "c\n\u00e9\ud83d\ude00"}}"#, ["a": ["b": "c\né😀"]] as JSONValue),
        ("9223372036854775807", .int(Int64.max)),
        ("  \"x\"  ", "x"),
    ] as [(String, JSONValue)])
    func parsesValid(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"abc", "tru", "{\"a\" 1}", "[1] x",
        "\"\\ud800\"", "\"a\u{01}b\"", "\"\\x\"", "1e", "{1:2}",
    ])
    func rejectsInvalid(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func errorHasPosition() {
        do {
            _ = try JSONParser.parse("{\n  \"a\": tru\n}")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 2)
            #expect(error.column == 8)
        }
    }

    @Test func rejectsDeepNesting() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
    }

    @Test func roundTripsThroughWriter() throws {
        let text = #"{"b":1,"a":[1.5,"x\"y",null,{"c":false}],"u":"é\t"}"#
        let v = try JSONParser.parse(text)
        #expect(JSONWriter.string(v) == text)
        #expect(try JSONParser.parse(JSONWriter.string(v)) == v)
    }

    static let invalidDocuments = [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"abc", "tru", "{\"a\" 1}", "[1] x",
        "\"\\ud800\"", "\"a\u{01}b\"", "\"\\x\"", "1e", "{1:2}",
        // Problems inside members a filter drops must still be found.
        #"{"skip":[1,]}"#, #"{"skip":{"a":01}}"#, #"{"skip":"\ud800"}"#, #"{"skip":1e999}"#,
        #"{"skip":"a\#u{01}b"}"#, #"{"skip":nul}"#, #"{"sk\x":1}"#, #"{"keep":{"skip":[}}"#,
    ]

    @Test(arguments: invalidDocuments)
    func selectiveParseRejectsWhatParseRejects(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        let filter = JSONKeyFilter(paths: [["keep", "a"]])
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8), keeping: filter) }
    }

    @Test func selectiveParseRejectsInvalidUTF8InDroppedMembers() {
        let bytes: [UInt8] = Array(#"{"skip":""#.utf8) + [0xFF] + Array(#""}"#.utf8)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes, keeping: JSONKeyFilter(paths: [["keep"]])) }
        let deep = Array(("{\"skip\":" + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}").utf8)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep, keeping: JSONKeyFilter(paths: [["keep"]])) }
    }

    @Test func selectiveParseKeepsOnlyNamedMembers() throws {
        let text = #"""
            {"a":{"b":1,"c":[{"d":"x","e":2},3,{"f":{"g":true}}],"h":null},"i":"drop","k\u00e9":[1,{"z":1}],
             "j":{"deep":[1e5,"s\n"]},"a":{"b":2,"b":3}}
            """#
        let filter = JSONKeyFilter(paths: [["a", "b"], ["a", "c", "d"], ["a", "c", "f"], ["ké"], ["j"]])
        let pruned = try JSONParser.parse(Array(text.utf8), keeping: filter)
        // The later duplicate `a` replaces the first (as in a full parse), keeping its position.
        let expected = try JSONParser.parse(#"{"a":{"b":3},"ké":[1,{}],"j":{}}"#)
        #expect(pruned == expected)
        #expect(JSONWriter.string(pruned) == #"{"a":{"b":3},"ké":[1,{}],"j":{}}"#)
        let full = try JSONParser.parse(text)
        let kept = try JSONParser.parse(Array(text.utf8), keeping: JSONKeyFilter(paths: [["a", "c", "d"]]))
        #expect(kept["a"]?["c"] == nil)  // the later `a` has no `c`
        #expect(full["a"]?["b"] == .int(3))
        let arrays = try JSONParser.parse(Array(#"[{"a":{"b":1,"c":2}},[{"a":5}]]"#.utf8), keeping: JSONKeyFilter(paths: [["a", "b"]]))
        #expect(arrays == [["a": ["b": 1]], [["a": 5]]] as JSONValue)
        #expect(try JSONParser.parse(Array("7".utf8), keeping: JSONKeyFilter(paths: [])) == 7)
        let child = JSONKeyFilter(paths: [["body", "x"], ["id"]]).child("body")
        #expect(try JSONParser.parse(Array(#"{"x":1,"y":2,"body":{"x":3}}"#.utf8), keeping: child) == ["x": 1] as JSONValue)
        #expect(try JSONParser.parse(Array(#"{"x":1}"#.utf8), keeping: JSONKeyFilter(paths: [["id"]]).child("nope")) == [:] as JSONValue)
    }

    @Test func selectiveParseMatchesKeysAsStringsDo() throws {
        // "\u{212A}" (KELVIN SIGN) and "K" are equal as Swift strings, so a full parse finds
        // one under the other; the selective parse must keep the same members.
        let text = Array(#"{"K":1,"A\u030A":2,"other":3}"#.utf8)
        let full = try JSONParser.parse(text)
        #expect(full["\u{212A}"] == 1)
        let pruned = try JSONParser.parse(text, keeping: JSONKeyFilter(paths: [["\u{212A}"], ["\u{00C5}"]]))
        #expect(pruned["\u{212A}"] == 1)
        #expect(pruned["\u{00C5}"] == 2)
        #expect(pruned["other"] == nil)
    }

    @Test func parsesObjectsOfManyMembersWithDuplicates() throws {
        let members = (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        let v = try JSONParser.parse("{\(members),\"k3\":99,\"k39\":-1}")
        let o = try #require(v.objectValue)
        #expect(o.count == 40)
        #expect(o["k3"] == 99)
        #expect(o["k39"] == -1)
        #expect(o.keys.first == "k0")
        let small = try JSONParser.parse(#"{"a":1,"b":[{"a":2,"a":3}],"a":4}"#)
        #expect(JSONWriter.string(small) == #"{"a":4,"b":[{"a":3}]}"#)
    }

    @Test func numericEqualityAcrossForms() throws {
        #expect(try JSONParser.parse("300") == JSONParser.parse("300.0"))
        #expect(try JSONParser.parse("300") == JSONParser.parse("3.0e2"))
    }
}

@Suite struct RunIDTests {
    @Test func sanitizes() {
        #expect(RunID.sanitize("a/b c!!d") == "a_b_c_d")
        #expect(RunID.defaultID(rule: "gh-push", eventID: "72d3162e-cc78") == "gh-push__72d3162e-cc78")
        #expect(RunID.isValid("ok_1.2~3:4+5-6"))
        #expect(!RunID.isValid("bad/id"))
        #expect(!RunID.isValid(""))
        #expect(RunID.sanitize(String(repeating: "x", count: 400)).utf8.count == RunID.maxLength)
    }
}

@Suite struct DurationTextTests {
    @Test(arguments: [("30s", 30.0), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25), ("7d", 604800), ("12", 12)])
    func parses(text: String, seconds: Double) { #expect(DurationText.seconds(text) == seconds) }

    @Test(arguments: ["", "abc", "5x", "-3s", "s5"])
    func rejects(text: String) { #expect(DurationText.seconds(text) == nil) }
}

@Suite struct ISO8601Tests {
    @Test func roundTrips() throws {
        let d = try #require(ISO8601.parse("2024-02-29T23:59:58.5+01:00"))
        #expect(ISO8601.format(d) == "2024-02-29T22:59:58.500Z")
        #expect(ISO8601.parse("2024-02-30") == nil)
        #expect(ISO8601.parse("2024-01-01T00:00:00Zjunk") == nil)
    }

    @Test func formatsLikeFoundation() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var rng = SystemRandomNumberGenerator()
        // Milliseconds plus 0.2 ms, so truncating and rounding agree; years 1600 to 9999 (the
        // Gregorian calendar throughout), before and after 1970.
        let fixed: [Int64] = [0, -1, 1, 951_782_400_000, 253_402_300_799_000, -11_676_096_000_000]
        for ms in fixed + (0..<2000).map({ _ in Int64.random(in: -11_676_096_000_000...253_402_300_799_000, using: &rng) }) {
            let d = Date(timeIntervalSince1970: Double(ms) / 1000 + 0.0002)
            #expect(ISO8601.format(d) == f.string(from: d), "ms \(ms)")
        }
        #expect(ISO8601.format(Date(timeIntervalSince1970: 253_402_300_800)) == "10000-01-01T00:00:00.000Z")
    }
}
