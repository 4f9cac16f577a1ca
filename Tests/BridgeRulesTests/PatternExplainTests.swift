import BridgeCore
import Testing

@testable import BridgeRules

struct ExplainCase: CustomTestStringConvertible, Sendable {
    var pattern: String
    var event: String
    var reason: String

    init(_ pattern: String, _ event: String, _ reason: String) {
        self.pattern = pattern
        self.event = event
        self.reason = reason
    }

    var testDescription: String { reason }
}

@Suite("Pattern explain")
struct PatternExplainTests {
    static let cases: [ExplainCase] = [
        .init(#"{"body":{"size":[{"numeric":[">",0]}]}}"#, #"{"body":{"size":0}}"#, "body.size: 0 is not > 0"),
        .init(#"{"headers":{"X-GitHub-Event":["push"]}}"#, #"{"headers":{}}"#, "headers.x-github-event: field is missing"),
        .init(#"{"cloudevent":{"type":["a","b"]}}"#, #"{"cloudevent":{"type":"x"}}"#, "cloudevent.type: 'x' is not one of ['a', 'b']"),
        .init(#"{"a":["x"],"b":[1]}"#, #"{"a":"x","b":2}"#, "b: 2 is not one of [1]"),
        .init(#"{"a":[{"prefix":"inc"}]}"#, #"{"a":"out"}"#, "a: 'out' does not start with 'inc'"),
        .init(#"{"a":[{"suffix":".png"}]}"#, #"{"a":["x.gif","y.jpg"]}"#, "a: ['x.gif', 'y.jpg'] does not end with '.png'"),
        .init(#"{"a":[{"numeric":[">",0,"<=",5]}]}"#, #"{"a":6}"#, "a: 6 is not > 0 and <= 5"),
        .init(#"{"a":[{"exists":false}]}"#, #"{"a":"here"}"#, "a: field must not exist, but has 'here'"),
        .init(#"{"a":[{"exists":true}]}"#, #"{"a":{"b":1}}"#, "a: field is an object, not a value (patterns match leaf values only)"),
        .init(#"{"a":["x"]}"#, #"{"a":[]}"#, "a: field is an empty array"),
        .init(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":"x"}"#, "a: 'x' is excluded by anything-but ['x']"),
        .init(#"{"a":[{"cidr":"10.0.0.0/8"}]}"#, #"{"a":"11.0.0.1"}"#, "a: '11.0.0.1' is not an IP address in 10.0.0.0/8"),
        .init(#"{"a":["x",{"prefix":"y"}]}"#, #"{"a":"z"}"#, "a: 'z' matches none of ['x', prefix 'y']"),
        .init(#"{"$or":[{"a":["1"]},{"b":["2"]}]}"#, #"{"b":"3"}"#, "none of the $or alternatives matches: a: field is missing; b: '3' is not one of ['2']"),
        .init(#"{"a":{"b":["1"],"c":["2"]}}"#, #"{"a":[{"b":"1","c":"3"},{"b":"3","c":"2"}]}"#, "a: no element of the array matches all fields (element 0: a.c: '3' is not one of ['2'])"),
    ]

    @Test(arguments: cases)
    func explains(_ c: ExplainCase) throws {
        let p = try pattern(c.pattern)
        #expect(p.explain(json(c.event)) == c.reason)
    }

    @Test func nilWhenMatching() throws {
        #expect(try pattern(#"{"a":["x"]}"#).explain(json(#"{"a":"x"}"#)) == nil)
    }
}
