import BridgeCore
import Foundation
import Testing

@testable import BridgeRules

/// Random patterns and envelopes over a small vocabulary, so that many of them collide.
struct RandomPatterns {
    var rng: SeededRandom

    static let strings: [JSONValue] = ["a", "b", "ab", "abc", "B", "xa", "x.png", "10.0.0.1", "10.1.2.3", "2001:db8::1", "", "é", "Ab"]
    static let numbers: [JSONValue] = [0, 1, 1.5, 5, 10, 300, -2, .double(300.0)]
    static let paths: [[String]] = [
        ["source"], ["headers", "x-event"], ["body", "kind"], ["body", "n"], ["body", "tags"],
        ["body", "items", "id"], ["body", "items", "kind"], ["body", "meta", "owner"], ["body", "items", "sub", "v"],
    ]

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    mutating func string() -> String { pick(Self.strings).stringValue! }

    mutating func matcher() -> JSONValue {
        switch Int.random(in: 0..<22, using: &rng) {
        case 0, 1, 2: return pick(Self.strings)
        case 3, 4: return pick(Self.numbers)
        case 5: return .bool(chance(0.5))
        case 6: return .null
        case 7: return ["prefix": .string(string())]
        case 8: return ["suffix": .string(string())]
        case 9: return ["prefix": ["equals-ignore-case": .string(string())]]
        case 10: return ["suffix": ["equals-ignore-case": .string(string())]]
        case 11: return ["equals-ignore-case": .string(string())]
        case 12: return ["anything-but": chance(0.5) ? .string(string()) : .array([pick(Self.strings), pick(Self.strings)])]
        case 13: return ["anything-but": chance(0.5) ? pick(Self.numbers) : .array([pick(Self.numbers), pick(Self.numbers)])]
        case 14:
            let form = pick(["prefix", "suffix", "wildcard", "equals-ignore-case"])
            let v = form == "wildcard" ? pick(["*a*", "a*", "*.png", "1*"]) : string()
            return ["anything-but": .object(JSONObject([(form, .string(v))]))]
        case 15:
            let lo = Int64.random(in: -3...6, using: &rng)
            if chance(0.5) { return ["numeric": [.string(pick([">", ">=", "<", "<=", "="])), .int(lo)]] }
            return ["numeric": [.string(pick([">", ">="])), .int(lo), .string(pick(["<", "<="])), .int(lo + Int64.random(in: 1...300, using: &rng))]]
        case 16, 17: return ["exists": .bool(chance(0.5))]
        case 18: return ["wildcard": .string(pick(["*a*", "a*", "*.png", "*", "a*c", "x*"]))]
        case 19: return ["cidr": .string(pick(["10.0.0.0/8", "10.0.0.0/24", "2001:db8::/32", "0.0.0.0/0"]))]
        default: return pick(Self.strings)
        }
    }

    mutating func fields(into object: inout JSONValue, count: Int) {
        for _ in 0..<count {
            let path = pick(Self.paths)
            let values = (0..<Int.random(in: 1...3, using: &rng)).map { _ in matcher() }
            Self.insert(.array(values), at: path[...], into: &object)
        }
    }

    static func insert(_ value: JSONValue, at path: ArraySlice<String>, into object: inout JSONValue) {
        guard case .object(var o) = object, let key = path.first else { return }
        if path.count == 1 {
            o[key] = value
        } else {
            var child = o[key] ?? .object(JSONObject())
            if case .object = child {} else { child = .object(JSONObject()) }
            insert(value, at: path.dropFirst(), into: &child)
            o[key] = child
        }
        object = .object(o)
    }

    mutating func pattern() -> JSONValue {
        var p: JSONValue = .object(JSONObject())
        fields(into: &p, count: Int.random(in: 1...3, using: &rng))
        if chance(0.25) {
            var alternatives: [JSONValue] = []
            for _ in 0..<Int.random(in: 2...3, using: &rng) {
                var alt: JSONValue = .object(JSONObject())
                fields(into: &alt, count: Int.random(in: 1...2, using: &rng))
                alternatives.append(alt)
            }
            if case .object(var o) = p {
                o["$or"] = .array(alternatives)
                p = .object(o)
            }
        }
        return p
    }

    mutating func leafValue() -> JSONValue {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0, 1, 2, 3: return pick(Self.strings)
        case 4, 5: return pick(Self.numbers)
        case 6: return .bool(chance(0.5))
        case 7: return .null
        case 8: return .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in chance(0.7) ? pick(Self.strings) : pick(Self.numbers) })
        default: return ["nested": "x"]
        }
    }

    mutating func item() -> JSONValue {
        var o = JSONObject()
        if chance(0.7) { o["id"] = leafValue() }
        if chance(0.6) { o["kind"] = leafValue() }
        if chance(0.4) {
            o["sub"] = chance(0.7) ? .object(JSONObject([("v", leafValue())])) : .array([["v": leafValue()], ["v": leafValue()]])
        }
        return .object(o)
    }

    mutating func envelope() -> JSONValue {
        var body = JSONObject()
        for key in ["kind", "n", "tags"] where chance(0.6) { body[key] = leafValue() }
        if chance(0.7) {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: body["items"] = item()
            case 1: body["items"] = .array([])
            case 2: body["items"] = leafValue()
            default: body["items"] = .array((0..<Int.random(in: 1...4, using: &rng)).map { _ in item() })
            }
        }
        if chance(0.5) { body["meta"] = chance(0.8) ? ["owner": leafValue()] : .array([["owner": leafValue()], ["other": 1]]) }
        var env = JSONObject()
        env["id"] = "evt"
        if chance(0.9) { env["source"] = pick(Self.strings) }
        env["headers"] = chance(0.7) ? ["x-event": pick(Self.strings)] : .object(JSONObject())
        env["body"] = chance(0.95) ? .object(body) : pick(Self.strings)
        return .object(env)
    }
}

@Suite("Pattern index")
struct PatternIndexTests {
    @Test(arguments: [1 as UInt64, 2, 3, 4])
    func agreesWithReferenceOnRandomRuleSets(seed: UInt64) throws {
        var gen = RandomPatterns(rng: SeededRandom(seed: seed))
        var patterns: [Pattern] = []
        var sources: [JSONValue] = []
        while patterns.count < 300 {
            let source = gen.pattern()
            if let p = try? PatternCompiler.compile(json: source) {
                patterns.append(p)
                sources.append(source)
            }
        }
        let index = PatternIndex(patterns)
        var buffer: [Int] = []
        var totalMatches = 0
        var eventsMatching = 0
        for _ in 0..<1000 {
            let env = gen.envelope()
            let expected = patterns.indices.filter { patterns[$0].matches(env) }
            index.matches(env, into: &buffer)
            #expect(buffer == expected, "envelope \(env)")
            if buffer != expected {
                let extra = Set(buffer).symmetricDifference(expected).sorted()
                for i in extra.prefix(3) { Issue.record("differs on pattern \(i): \(sources[i])") }
                return
            }
            // The webhook path: envelope fields as values, the body raw (selectively parsed).
            var base = try #require(env.objectValue)
            let body = base["body"] ?? .null
            base["body"] = nil
            let raw = try index.matches(rawBody: JSONWriter.bytes(body), envelopeBase: base)
            #expect(raw == expected, "raw body \(body)")
            // The envelope as a tape: built from the value, and read from raw bytes.
            #expect(index.matches(JSONTape(env)) == expected, "tape \(env)")
            let envBytes = JSONWriter.bytes(env)
            #expect(try index.matches(JSONTape(rawDocument: envBytes)) == expected, "raw tape \(env)")
            // Raw bytes with earlier duplicates of members (the last one wins, as in a full parse).
            let decoy = gen.envelope()
            let dupText = Self.withDecoys(envBytes, decoy)
            let dupParsed = try JSONParser.parse(dupText)
            let dupExpected = patterns.indices.filter { patterns[$0].matches(dupParsed) }
            #expect(try index.matches(JSONTape(rawDocument: dupText)) == dupExpected, "duplicates \(String(decoding: dupText, as: UTF8.self))")
            // The whole envelope parsed with the index's key filter.
            let filtered = try JSONParser.parse(JSONWriter.bytes(env), keeping: index.keyFilter)
            #expect(index.matches(filtered) == expected, "filtered \(env)")
            for i in expected.prefix(3) { #expect(patterns[i].explain(env) == nil) }
            if let miss = patterns.indices.first(where: { !expected.contains($0) }) {
                #expect(patterns[miss].explain(env) != nil)
            }
            totalMatches += expected.count
            if !expected.isEmpty { eventsMatching += 1 }
        }
        // The generator must exercise both outcomes, or the comparison proves little.
        #expect(eventsMatching > 200)
        #expect(totalMatches < 1000 * 300 / 4)
    }

    /// `envelope`'s JSON with the members of `decoy` (and of its body) written first, so that
    /// `envelope`'s own members are later duplicates that replace them.
    static func withDecoys(_ envelope: [UInt8], _ decoy: JSONValue) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (k, v) in decoy.objectValue?.members ?? JSONObject().members where k != "body" {
            out += JSONWriter.bytes(.string(k)) + [UInt8(ascii: ":")] + JSONWriter.bytes(v) + [UInt8(ascii: ",")]
        }
        var text = String(decoding: envelope.dropFirst(), as: UTF8.self)
        // Decoy members at the start of the envelope's body, when it is an object.
        if let range = text.range(of: #""body":{"#), let body = decoy["body"]?.objectValue, let first = body.members.first(where: { _ in true }) {
            let member = String(decoding: JSONWriter.bytes(.string(first.0)) + [UInt8(ascii: ":")] + JSONWriter.bytes(first.1), as: UTF8.self)
            text.replaceSubrange(range, with: #""body":{"# + member + (text[range.upperBound...].hasPrefix("}") ? "" : ","))
        }
        return out + Array(text.utf8)
    }

    @Test func tapeMatchingHandlesDuplicatesAndStringEqualNames() throws {
        let ps = try [
            #"{"body":{"a":["x"]}}"#,
            #"{"body":{"K":[1]}}"#,
            #"{"body":{"a":[{"exists":false}]}}"#,
            #"{"body":{"items":{"id":[1],"kind":["k"]}}}"#,
        ].map(pattern)
        let index = PatternIndex(ps)
        for text in [
            #"{"body":{"a":"x","a":"y"}}"#, #"{"body":{"a":"y","a":"x"}}"#, #"{"body":{"a":{"b":1},"a":"x"}}"#,
            #"{"body":{"a":"x","a":{"b":1}}}"#, #"{"body":{"K":1}}"#, #"{"body":{"K":2,"K":1}}"#,
            #"{"body":{"items":[{"id":1,"kind":"j"},{"id":2,"kind":"k"}]}}"#,
            #"{"body":{"items":[{"id":1,"kind":"j","kind":"k"}]}}"#,
            #"{"body":{"items":[{"id":1,"kind":"k"}],"items":[{"id":2}]}}"#,
            // A name beyond ASCII that equals the pattern's "K" only as a String (KELVIN SIGN): found by
            // the String comparison the tape walk falls back to for such names.
            #"{"body":{"\u212A":1}}"#, #"{"body":{"a":"x","\u212A":1}}"#,
        ] {
            let parsed = try JSONParser.parse(text)
            let expected = ps.indices.filter { ps[$0].matches(parsed) }
            // (Two names equal only as Strings in one object: the value walk may see both; the tape defers to the reference.)
            if !(text.unicodeScalars.contains("\u{212A}") && text.contains(#""K""#)) { #expect(index.matches(parsed) == expected, "\(text)") }
            #expect(try index.matches(JSONTape(rawDocument: Array(text.utf8))) == expected, "\(text)")
            #expect(index.matches(JSONTape(parsed)) == expected, "tape of the value \(text)")
            if text.contains("212A") { #expect(expected.contains(1), "the reference finds \"K\" by String equality") }
            let base = JSONObject()
            let body = try JSONWriterBody.bodyText(text)
            #expect(try index.matches(rawBody: Array(body.utf8), envelopeBase: base) == expected, "\(text)")
        }
    }

    /// Hundreds of member names under one object, many sharing prefixes, suffixes and lengths: the tape
    /// walk finds each name's trie node through its hash table (and nothing for names one byte off).
    @Test func manyMemberNamesFindTheirNodes() throws {
        var names: [String] = []
        for i in 0..<300 {
            names.append("k\(i)")
            names.append("field-\(String(repeating: "x", count: i % 23))-\(i)")
        }
        let patterns = try names.enumerated().map { i, name in
            try PatternCompiler.compile(json: ["body": .object(JSONObject([(name, JSONValue.array([.int(Int64(i))]))]))])
        }
        let index = PatternIndex(patterns)
        var rng = SeededRandom(seed: 7)
        for round in 0..<200 {
            var body = JSONObject()
            for _ in 0..<20 {
                let i = Int.random(in: 0..<names.count, using: &rng)
                var name = names[i]
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: name = String(name.dropLast()) + "#"   // same length, last byte differs
                case 1: name = "K" + name.dropFirst()          // first byte differs
                case 2: name += "x"                             // one byte longer
                default: break
                }
                body[name] = Bool.random(using: &rng) ? .int(Int64(i)) : .int(-1)
            }
            let env: JSONValue = ["id": "e", "body": .object(body)]
            let expected = patterns.indices.filter { patterns[$0].matches(env) }
            #expect(index.matches(JSONTape(env)) == expected, "round \(round)")
            #expect(try index.matches(JSONTape(rawDocument: JSONWriter.bytes(env))) == expected, "round \(round)")
            #expect(index.matches(env) == expected)
        }
    }

    /// A rule naming a plain ASCII "K" matches a member named KELVIN SIGN (equal as a String), also
    /// when no rule name is beyond ASCII: the tape walk then still compares a non-ASCII member name
    /// as a String after its hash finds nothing.
    @Test func asciiRuleNameFindsACanonicallyEqualMemberName() throws {
        let ps = try [#"{"body":{"K":[1]}}"#, #"{"body":{"k":[1]}}"#].map(pattern)
        let index = PatternIndex(ps)
        for text in [#"{"body":{"\u212A":1}}"#, #"{"body":{"a":0,"\u212A":1,"z":2}}"#, #"{"body":{"K":1}}"#, #"{"body":{"\u212A":2}}"#] {
            let parsed = try JSONParser.parse(text)
            let expected = ps.indices.filter { ps[$0].matches(parsed) }
            #expect(index.matches(JSONTape(parsed)) == expected, "\(text)")
            #expect(try index.matches(JSONTape(rawDocument: Array(text.utf8))) == expected, "\(text)")
            #expect(try index.matches(rawBody: Array(JSONWriterBody.bodyText(text).utf8), envelopeBase: JSONObject()) == expected, "\(text)")
        }
        #expect(index.matches(JSONTape(try JSONParser.parse(#"{"body":{"\u212A":1}}"#))) == [0])
    }

    /// `equals-ignore-case` (exact, prefix, suffix) on short ASCII values (lower-cased as bytes), values
    /// beyond ASCII and values longer than the byte path takes (both lower-cased as `String`s).
    @Test func ignoreCaseOnAllKindsOfValues() throws {
        let long = String(repeating: "Ab", count: 100)
        let ps = try [
            #"{"body":{"v":[{"equals-ignore-case":"repo-1"}]}}"#,
            #"{"body":{"v":[{"prefix":{"equals-ignore-case":"été"}}]}}"#,
            #"{"body":{"v":[{"suffix":{"equals-ignore-case":"-Z"}}]}}"#,
            #"{"body":{"v":[{"equals-ignore-case":"\#(long)"}]}}"#,
            #"{"body":{"v":[{"prefix":{"equals-ignore-case":"@[`{"}}]}}"#,
        ].map(pattern)
        let index = PatternIndex(ps)
        for value in ["REPO-1", "repo-1", "Repo-1", "repo-2", "ÉTÉ!", "été", "Eté", "x-z", "X-Z", "-z", long.uppercased(),
                      long.lowercased(), long + "x", "@[`{", "@{`{", "", "İ", "\u{212A}-Z"] {
            let env: JSONValue = ["body": ["v": .string(value)]]
            let expected = ps.indices.filter { ps[$0].matches(env) }
            #expect(index.matches(JSONTape(env)) == expected, "\(value)")
            #expect(index.matches(env) == expected, "\(value)")
        }
        #expect(index.matches(JSONTape(["body": ["v": "REPO-1"]])) == [0])
        #expect(index.matches(JSONTape(["body": ["v": .string(long.uppercased())]])) == [3])
        #expect(index.matches(JSONTape(["body": ["v": "X-Z"]])) == [2])
    }

    @Test func resultsAreAscendingAndBufferIsCleared() throws {
        let ps = try [#"{"a":["x"]}"#, #"{"b":[1]}"#, #"{"a":[{"prefix":"x"}]}"#, #"{"a":["y"]}"#, "{}"].map(pattern)
        let index = PatternIndex(ps)
        var buffer = [99, 98]
        index.matches(json(#"{"a":"x","b":1}"#), into: &buffer)
        #expect(buffer == [0, 1, 2, 4])
        index.matches(json(#"{"a":"y"}"#), into: &buffer)
        #expect(buffer == [3, 4])
        #expect(index.matches(json("{}")) == [4])
        #expect(PatternIndex([]).matches(json(#"{"a":1}"#)).isEmpty)
    }

    @Test func sharedConditionsAreCountedPerRule() throws {
        // Many rules share `source`; only the one whose other field matches is returned.
        var ps: [Pattern] = []
        for i in 0..<200 { ps.append(try pattern(#"{"source":["github"],"body":{"n":[\#(i)]}}"#)) }
        let index = PatternIndex(ps)
        #expect(index.matches(json(#"{"source":"github","body":{"n":42}}"#)) == [42])
        #expect(index.matches(json(#"{"source":"gitlab","body":{"n":42}}"#)) == [])
        #expect(index.matches(json(#"{"source":"github","body":{"n":[1,2.0,3]}}"#)) == [1, 2, 3])
    }

    @Test func rawBodyMatchesLikeTheParsedEnvelope() throws {
        let ps = try [
            #"{"source":["github"],"body":{"repository":{"name":["r1"]}}}"#,
            #"{"body":{"commits":{"author":{"name":["dev"]}}}}"#,
            #"{"body":{"size":[{"numeric":[">",3]}],"deleted":[{"exists":false}]}}"#,
            #"{"body":{"k\u00e9y":["v"]}}"#,
        ].map(pattern)
        let index = PatternIndex(ps)
        let base = try #require(json(#"{"id":"1","source":"github","headers":{}}"#).objectValue)
        let body = Array(#"""
            {"skip":{"deep":[1,2,{"x":"y\"z"}],"é":"ü"},"repository":{"id":7,"name":"r1","extra":[true,null]},
             "commits":[{"author":{"name":"bot"}},{"author":{"name":"dev"},"message":"m"}],"size":4,"kéy":"v"}
            """#.utf8)
        #expect(try index.matches(rawBody: body, envelopeBase: base) == [0, 1, 2, 3])
        var env = base
        env["body"] = try JSONParser.parse(body)
        #expect(index.matches(.object(env)) == [0, 1, 2, 3])
        // A `body` already in the base is replaced; a body that is not an object matches no body field.
        var stale = base
        stale["body"] = json(#"{"size":9}"#)
        #expect(try index.matches(rawBody: Array(#""text""#.utf8), envelopeBase: stale) == [])
        var hits = [5]
        #expect(throws: JSONParseError.self) { try index.matches(rawBody: Array(#"{"size":4,}"#.utf8), envelopeBase: base, into: &hits) }
        #expect(hits.isEmpty)
    }

    @Test func concurrentMatchingIsSafe() async throws {
        let ps = try (0..<50).map { try pattern(#"{"body":{"k":["v\#($0)"],"n":[{"numeric":[">",\#($0)]}]}}"#) }
        let index = PatternIndex(ps)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    for i in 0..<500 {
                        let k = (i + t) % 50
                        let env = json(#"{"body":{"k":"v\#(k)","n":\#(k + 1)}}"#)
                        let got = index.matches(env)
                        if got != [k] { throw CancellationError() }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// The raw text of the `body` member of a one-member envelope `{"body":…}`.
enum JSONWriterBody {
    static func bodyText(_ envelope: String) throws -> String {
        String(envelope.dropFirst(#"{"body":"#.count).dropLast())
    }
}
