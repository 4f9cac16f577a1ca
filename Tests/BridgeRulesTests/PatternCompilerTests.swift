import BridgeConfig
import BridgeCore
import Testing

@testable import BridgeRules

/// One row: a pattern that must not compile, a phrase its message must contain, and the key path.
struct BadPattern: CustomTestStringConvertible, Sendable {
    var pattern: String
    var message: String
    var keyPath: String

    init(_ pattern: String, _ message: String, at keyPath: String) {
        self.pattern = pattern
        self.message = message
        self.keyPath = keyPath
    }

    var testDescription: String { pattern }
}

@Suite("Pattern compiler")
struct PatternCompilerTests {
    static let bad: [BadPattern] = [
        .init(#"["x"]"#, "must be a mapping", at: ""),
        .init(#""x""#, "must be a mapping", at: ""),
        .init(#"{"a":"x"}"#, #"must be a list of allowed values, like ["x"]"#, at: "a"),
        .init(#"{"a":{"b":300}}"#, "like [300]", at: "a.b"),
        .init(#"{"a":[]}"#, "empty list", at: "a"),
        .init(#"{"a":[["x"]]}"#, "list inside a list", at: "a[0]"),
        .init(#"{"a":[{"prefx":"x"}]}"#, "unknown operator 'prefx'; did you mean 'prefix'?", at: "a[0].prefx"),
        .init(#"{"a":[{"numberic":[">",1]}]}"#, "did you mean 'numeric'?", at: "a[0].numberic"),
        .init(#"{"a":[{"regex":"x+"}]}"#, "unknown operator 'regex'", at: "a[0].regex"),
        .init(#"{"body":[{"bucket":["x"]}]}"#, "to match a nested field, write a mapping instead of a list item, like {bucket: [value]}", at: "body[0].bucket"),
        .init(#"{"a":[{"prefix":"a","suffix":"b"}]}"#, "exactly one key", at: "a[0]"),
        .init(#"{"a":[{}]}"#, "exactly one key", at: "a[0]"),
        .init(#"{"a":[{"prefix":1}]}"#, "'prefix' needs a string", at: "a[0].prefix"),
        .init(#"{"a":[{"suffix":["x"]}]}"#, "'suffix' needs a string", at: "a[0].suffix"),
        .init(#"{"a":[{"prefix":{"equals-ignore-case":5}}]}"#, "'equals-ignore-case' needs a string", at: "a[0].prefix.equals-ignore-case"),
        .init(#"{"a":[{"equals-ignore-case":["x"]}]}"#, "needs a string", at: "a[0].equals-ignore-case"),
        .init(#"{"a":[{"numeric":[">"]}]}"#, "malformed 'numeric'", at: "a[0].numeric"),
        .init(#"{"a":[{"numeric":">5"}]}"#, "malformed 'numeric'", at: "a[0].numeric"),
        .init(#"{"a":[{"numeric":[">",1,"<"]}]}"#, "malformed 'numeric'", at: "a[0].numeric"),
        .init(#"{"a":[{"numeric":[">","5"]}]}"#, "needs a number after '>'", at: "a[0].numeric[1]"),
        .init(#"{"a":[{"numeric":["!=",1]}]}"#, "expects an operator", at: "a[0].numeric[0]"),
        .init(#"{"a":[{"numeric":[1,">"]}]}"#, "expects an operator", at: "a[0].numeric[0]"),
        .init(#"{"a":[{"numeric":["=",1,"<",2]}]}"#, "'=' cannot be combined", at: "a[0].numeric[0]"),
        .init(#"{"a":[{"numeric":[">",1,">=",2]}]}"#, "two lower bounds", at: "a[0].numeric[2]"),
        .init(#"{"a":[{"numeric":["<",1,"<=",2]}]}"#, "two upper bounds", at: "a[0].numeric[2]"),
        .init(#"{"a":[{"numeric":[">",5,"<",1]}]}"#, "is empty", at: "a[0].numeric"),
        .init(#"{"a":[{"numeric":[">",5,"<",5]}]}"#, "is empty", at: "a[0].numeric"),
        // event-ruler's own refusals (conformance invalid patterns 32 and the "Bottom must be less than top" rule).
        .init(#"{"a":[{"numeric":["<",1,">",0]}]}"#, "gives its upper bound first; write the lower bound first, like [\">\", low, \"<\", high]", at: "a[0].numeric[0]"),
        .init(#"{"a":[{"numeric":["<=",1,">=",0]}]}"#, "upper bound first", at: "a[0].numeric[0]"),
        .init(#"{"a":[{"numeric":[">=",5,"<=",5]}]}"#, #"has equal bounds; write ["=", 5] instead"#, at: "a[0].numeric"),
        .init(#"{"a":[{"exists":"true"}]}"#, "'exists' needs true or false", at: "a[0].exists"),
        .init(#"{"a":[{"wildcard":"a**b"}]}"#, "consecutive '*'", at: "a[0].wildcard"),
        .init(#"{"a":[{"wildcard":"*a*b*c*d*e*f*g*h*i*j*k*"}]}"#, "at most 10", at: "a[0].wildcard"),
        .init(#"{"a":[{"wildcard":"a\\b"}]}"#, "backslash may only escape", at: "a[0].wildcard"),
        .init(#"{"a":[{"wildcard":"a\\"}]}"#, "backslash may only escape", at: "a[0].wildcard"),
        .init(#"{"a":[{"wildcard":7}]}"#, "'wildcard' needs a string", at: "a[0].wildcard"),
        .init(#"{"a":[{"cidr":"banana"}]}"#, "not a CIDR block", at: "a[0].cidr"),
        .init(#"{"a":[{"cidr":"10.0.0.0"}]}"#, "not a CIDR block", at: "a[0].cidr"),
        .init(#"{"a":[{"cidr":"10.0.0.0/33"}]}"#, "from 0 to 32", at: "a[0].cidr"),
        .init(#"{"a":[{"cidr":"2001:db8::/129"}]}"#, "from 0 to 128", at: "a[0].cidr"),
        .init(#"{"a":[{"cidr":"1:2:3:4:5:6:7:8:9/64"}]}"#, "not a CIDR block", at: "a[0].cidr"),
        .init(#"{"a":[{"anything-but":[]}]}"#, "at least one value", at: "a[0].anything-but"),
        .init(#"{"a":[{"anything-but":["x",1]}]}"#, "only strings or only numbers", at: "a[0].anything-but"),
        .init(#"{"a":[{"anything-but":true}]}"#, "'anything-but' needs a string, a number", at: "a[0].anything-but"),
        .init(#"{"a":[{"anything-but":{"prefx":"x"}}]}"#, "did you mean 'prefix'?", at: "a[0].anything-but.prefx"),
        .init(#"{"a":[{"anything-but":{"prefix":1}}]}"#, "needs a string or a non-empty list of strings", at: "a[0].anything-but.prefix"),
        .init(#"{"a":[{"anything-but":{"wildcard":"a**"}}]}"#, "consecutive '*'", at: "a[0].anything-but.wildcard"),
        // An empty prefix or suffix would exclude every string (conformance invalid patterns 6, 9 and 11).
        .init(#"{"a":[{"anything-but":{"prefix":""}}]}"#, "'anything-but' 'prefix' needs non-empty text", at: "a[0].anything-but.prefix"),
        .init(#"{"a":[{"anything-but":{"prefix":["1",""]}}]}"#, "an empty prefix excludes every string", at: "a[0].anything-but.prefix"),
        .init(#"{"a":[{"anything-but":{"suffix":""}}]}"#, "'anything-but' 'suffix' needs non-empty text", at: "a[0].anything-but.suffix"),
        // An empty mapping as a field's value asks nothing (conformance invalid pattern 41); the root `{}` still matches all.
        .init(#"{"foo":{}}"#, "field 'foo' has an empty mapping", at: "foo"),
        .init(#"{"a":{"b":{}}}"#, "field 'a.b' has an empty mapping", at: "a.b"),
        .init(#"{"$or":[{"a":["x"]}]}"#, "at least two sub-patterns", at: "$or"),
        .init(#"{"$or":{"a":["x"]}}"#, "at least two sub-patterns", at: "$or"),
        .init(#"{"$or":[{"a":["x"]},"b"]}"#, "non-empty mapping", at: "$or[1]"),
        .init(#"{"$or":[{"a":["x"]},{}]}"#, "non-empty mapping", at: "$or[1]"),
        .init(#"{"headers":{"X-A":["1"],"x-a":["2"]}}"#, "appears twice", at: "headers.x-a"),
        .init(#"{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":{"q":["x"]}}}}}}}}}}}}}}}}}"#, "nests deeper than 16", at: "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p"),
    ]

    @Test(arguments: bad)
    func rejects(_ row: BadPattern) {
        do {
            _ = try pattern(row.pattern)
            Issue.record("compiled but should not: \(row.pattern)")
        } catch {
            #expect(error.problems.count == 1, "\(error)")
            #expect(error.message.contains(row.message), "message: \(error.message)")
            #expect(error.problems.first?.keyPath == row.keyPath, "key path: \(error.problems.first?.keyPath ?? "-")")
            #expect(error.description.contains(row.message))
        }
    }

    @Test func reportsEveryProblem() {
        do {
            _ = try pattern(#"{"a":[], "b":"x", "c":[{"numeric":[">"]}], "d":["fine"]}"#)
            Issue.record("compiled")
        } catch {
            #expect(error.problems.map(\.keyPath) == ["a", "b", "c[0].numeric"])
            #expect(error.description.split(separator: "\n").count == 3)
        }
    }

    @Test func orExpansionIsLimited() {
        func group(_ name: String) -> String {
            "[" + (0..<10).map { #"{"\#(name)\#($0)":["v"]}"# }.joined(separator: ",") + "]"
        }
        // 10 × 10 = 100 alternatives compile; 10 × 10 × 10 = 1000 do not.
        let ok = #"{"$or":\#(group("a")),"x":{"$or":\#(group("b"))}}"#
        #expect((try? pattern(ok))?.disjunctCount == 100)
        let tooMany = #"{"$or":\#(group("a")),"x":{"$or":\#(group("b"))},"y":{"$or":\#(group("c"))}}"#
        #expect(throws: PatternError.self) { try pattern(tooMany) }
        do {
            _ = try pattern(tooMany)
        } catch {
            #expect(error.message.contains("more than \(PatternCompiler.maxDisjuncts) combinations"))
        }
    }

    @Test func tooManyValuesForOneField() {
        let values = (0...PatternCompiler.maxValuesPerField).map { "\"v\($0)\"" }.joined(separator: ",")
        #expect(throws: PatternError.self) { try pattern(#"{"a":[\#(values)]}"#) }
    }

    @Test func nullAndEmptyGiveMatchAll() throws {
        #expect(try PatternCompiler.compile(json: .null).isMatchAll)
        #expect(try pattern("{}").isMatchAll)
    }

    // MARK: YAML with positions

    private func yamlMatch(_ text: String) -> ConfigNode {
        let (root, diags) = YAMLLoader.parse(text, file: "rules/demo.yaml")
        #expect(diags.isEmpty, "\(diags)")
        return root!["match"]!
    }

    @Test func compilesYAMLWithTypedScalars() throws {
        let node = yamlMatch(
            """
            match:
              cloudevent: { type: ["google.cloud.storage.object.v1.finalized"] }
              headers: { Content-Type: [{ prefix: application/json }] }
              body:
                bucket: [raw-landing]
                name: [{ prefix: "incoming/" }]
                size: [{ numeric: [">", 0] }]
                generation: ["300"]
                retry: [false]
                owner: [~]
            """)
        var diags = Diagnostics()
        let p = try #require(PatternCompiler.compile(node, diagnostics: &diags))
        #expect(diags.items.isEmpty)
        let event = Event(
            id: "e1", source: "gcs", headers: ["Content-Type": "application/json; charset=utf-8"],
            rawBody: Array(#"{"bucket":"raw-landing","name":"incoming/a.csv","size":12,"generation":"300","retry":false,"owner":null}"#.utf8),
            cloudEvent: JSONObject([("type", "google.cloud.storage.object.v1.finalized")]))
        #expect(p.matches(event.envelope))
        #expect(PatternIndex([p]).matches(event.envelope) == [0])

        let other = Event(
            id: "e2", source: "gcs", rawBody: Array(#"{"bucket":"raw-landing","name":"incoming/a.csv","size":12,"generation":300}"#.utf8),
            cloudEvent: JSONObject([("type", "google.cloud.storage.object.v1.finalized")]))
        #expect(!p.matches(other.envelope))
        #expect(p.explain(other.envelope) == "headers.content-type: field is missing")
    }

    @Test func yamlProblemsCarryPositions() {
        let node = yamlMatch(
            """
            match:
              body:
                size: [{ numeric: [">", "0"] }]
                name: [{ prefx: "a" }]
                kind: push
            """)
        var diags = Diagnostics()
        #expect(PatternCompiler.compile(node, diagnostics: &diags) == nil)
        let lines = diags.items.map(\.description)
        #expect(diags.items.count == 3, "\(lines)")
        #expect(lines[0].hasPrefix("rules/demo.yaml:3:"), "\(lines[0])")
        #expect(lines[0].contains("needs a number after '>'"))
        #expect(lines[0].contains("match.body.size[0].numeric[1]"))
        #expect(lines[1].hasPrefix("rules/demo.yaml:4:"), "\(lines[1])")
        #expect(lines[1].contains("did you mean 'prefix'?"))
        #expect(lines[2].hasPrefix("rules/demo.yaml:5:"), "\(lines[2])")
        #expect(lines[2].contains("like [\"push\"]"))
    }

    @Test func emptyMatchNodeMatchesAll() {
        let (root, _) = YAMLLoader.parse("match:\nname: x\n", file: "r.yaml")
        var diags = Diagnostics()
        let p = PatternCompiler.compile(root!["match"]!, diagnostics: &diags)
        #expect(p?.isMatchAll == true)
        #expect(diags.items.isEmpty)
    }
}
