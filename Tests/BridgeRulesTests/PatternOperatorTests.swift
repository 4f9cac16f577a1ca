import BridgeCore
import Testing

@testable import BridgeRules

/// One row: a pattern, an event, and whether EventBridge would match it.
struct MatchCase: CustomTestStringConvertible, Sendable {
    var pattern: String
    var event: String
    var expected: Bool
    var note: String

    init(_ pattern: String, _ event: String, _ expected: Bool, _ note: String = "") {
        self.pattern = pattern
        self.event = event
        self.expected = expected
        self.note = note
    }

    var testDescription: String { "\(pattern) on \(event) → \(expected) \(note)" }
}

/// Checks the reference walk, a one-pattern index and `explain` agree on a row.
private func check(_ c: MatchCase) throws {
    let p = try pattern(c.pattern)
    let event = json(c.event)
    #expect(p.matches(event) == c.expected, "reference: \(c.testDescription)")
    let index = PatternIndex([p])
    #expect(index.matches(event) == (c.expected ? [0] : []), "index: \(c.testDescription)")
    #expect(index.matches(JSONTape(event)) == (c.expected ? [0] : []), "index on a tape: \(c.testDescription)")
    let why = p.explain(event)
    #expect((why == nil) == c.expected, "explain: \(why ?? "nil") for \(c.testDescription)")
}

@Suite("Pattern operators")
struct PatternOperatorTests {
    static let exact: [MatchCase] = [
        .init(#"{"a":["x"]}"#, #"{"a":"x"}"#, true),
        .init(#"{"a":["x"]}"#, #"{"a":"y"}"#, false),
        .init(#"{"a":["x","y"]}"#, #"{"a":"y"}"#, true, "any listed value"),
        .init(#"{"a":["x"]}"#, #"{"b":"x"}"#, false, "missing field"),
        .init(#"{"a":["x"]}"#, #"{"a":"X"}"#, false, "case-sensitive"),
        .init(#"{"a":[300]}"#, #"{"a":300.0}"#, true, "numeric equality"),
        .init(#"{"a":[300]}"#, #"{"a":3.0e2}"#, true, "numeric equality"),
        .init(#"{"a":[3.0e2]}"#, #"{"a":300}"#, true, "numeric equality"),
        .init(#"{"a":[0]}"#, #"{"a":-0.0}"#, true, "zero"),
        .init(#"{"a":[300]}"#, #"{"a":"300"}"#, false, "number vs string"),
        .init(#"{"a":["300"]}"#, #"{"a":300}"#, false, "string vs number"),
        .init(#"{"a":[true]}"#, #"{"a":true}"#, true),
        .init(#"{"a":[true]}"#, #"{"a":"true"}"#, false, "bool vs string"),
        .init(#"{"a":[false]}"#, #"{"a":0}"#, false, "bool vs number"),
        .init(#"{"a":[null]}"#, #"{"a":null}"#, true),
        .init(#"{"a":[null]}"#, #"{}"#, false, "null is not missing"),
        .init(#"{"a":[null]}"#, #"{"a":""}"#, false, "null is not empty string"),
        .init(#"{"a":[""]}"#, #"{"a":null}"#, false, "empty string is not null"),
        .init(#"{"a":[""]}"#, #"{"a":""}"#, true),
        .init(#"{"a":["x"]}"#, #"{"a":{"x":1}}"#, false, "object is not a value"),
        .init(#"{"a":["x","y"]}"#, #"{"a":"x","b":"y"}"#, true, "other fields ignored"),
        .init(#"{"a":["x"],"b":["y"]}"#, #"{"a":"x","b":"z"}"#, false, "all fields must match"),
        .init(#"{}"#, #"{"a":1}"#, true, "empty pattern matches all"),
    ]

    static let arrays: [MatchCase] = [
        .init(#"{"a":["x"]}"#, #"{"a":["y","x"]}"#, true, "any element"),
        .init(#"{"a":["x"]}"#, #"{"a":["y","z"]}"#, false),
        .init(#"{"a":["x"]}"#, #"{"a":[]}"#, false, "empty array"),
        .init(#"{"a":["x"]}"#, #"{"a":[["y"],["x"]]}"#, true, "nested arrays flatten"),
        .init(#"{"a":[1]}"#, #"{"a":[1.0,2]}"#, true),
        .init(#"{"a":{"b":[1]}}"#, #"{"a":[{"b":1},{"b":2}]}"#, true, "array of objects"),
        .init(#"{"a":{"b":[3]}}"#, #"{"a":[{"b":1},{"b":2}]}"#, false, "array of objects"),
        .init(#"{"a":{"b":[1]}}"#, #"{"a":[[{"b":2}],[{"b":1}]]}"#, true, "multi-level arrays"),
        .init(#"{"a":{"b":["1"],"c":["2"]}}"#, #"{"a":[{"b":"1","c":"3"},{"b":"3","c":"2"}]}"#, false, "array consistency"),
        .init(#"{"a":{"b":["1"],"c":["2"]}}"#, #"{"a":[{"b":"3","c":"3"},{"b":"1","c":"2"}]}"#, true, "array consistency"),
        .init(#"{"a":{"b":{"c":["1"]},"d":["2"]}}"#, #"{"a":[{"b":[{"c":"1"}],"d":"2"}]}"#, true, "deep consistency"),
        .init(#"{"a":{"b":["x"]}}"#, #"{"a":{"b":"x"}}"#, true, "nested object"),
        .init(#"{"a":{"b":["x"]}}"#, #"{"a":"x"}"#, false, "leaf where an object is expected"),
        .init(#"{"a":{"b":["x"]}}"#, #"{"a":[]}"#, false, "empty array of objects"),
    ]

    static let strings: [MatchCase] = [
        .init(#"{"a":[{"prefix":"inc"}]}"#, #"{"a":"incoming/x"}"#, true),
        .init(#"{"a":[{"prefix":"inc"}]}"#, #"{"a":"in"}"#, false),
        .init(#"{"a":[{"prefix":"inc"}]}"#, #"{"a":"Incoming"}"#, false, "case-sensitive"),
        .init(#"{"a":[{"prefix":"1"}]}"#, #"{"a":123}"#, false, "prefix only on strings"),
        .init(#"{"a":[{"prefix":""}]}"#, #"{"a":"anything"}"#, true, "empty prefix"),
        .init(#"{"a":[{"prefix":"ab"},{"prefix":"abc"}]}"#, #"{"a":"abcd"}"#, true),
        .init(#"{"a":[{"suffix":".png"}]}"#, #"{"a":"cat.png"}"#, true),
        .init(#"{"a":[{"suffix":".png"}]}"#, #"{"a":"cat.jpg"}"#, false),
        .init(#"{"a":[{"suffix":".png"}]}"#, #"{"a":"png"}"#, false, "shorter than suffix"),
        .init(#"{"a":[{"suffix":"5"}]}"#, #"{"a":15}"#, false, "suffix only on strings"),
        .init(#"{"a":[{"prefix":{"equals-ignore-case":"INC"}}]}"#, #"{"a":"incoming"}"#, true),
        .init(#"{"a":[{"prefix":{"equals-ignore-case":"inc"}}]}"#, #"{"a":"INCOMING"}"#, true),
        .init(#"{"a":[{"prefix":{"equals-ignore-case":"inc"}}]}"#, #"{"a":"outgoing"}"#, false),
        .init(#"{"a":[{"suffix":{"equals-ignore-case":".PNG"}}]}"#, #"{"a":"cat.png"}"#, true),
        .init(#"{"a":[{"suffix":{"equals-ignore-case":".png"}}]}"#, #"{"a":"cat.gif"}"#, false),
        .init(#"{"a":[{"equals-ignore-case":"ALICE"}]}"#, #"{"a":"alice"}"#, true),
        .init(#"{"a":[{"equals-ignore-case":"alice"}]}"#, #"{"a":"AlIcE"}"#, true),
        .init(#"{"a":[{"equals-ignore-case":"alice"}]}"#, #"{"a":"alicia"}"#, false),
        .init(#"{"a":[{"equals-ignore-case":"1"}]}"#, #"{"a":1}"#, false, "only strings"),
    ]

    static let unicode: [MatchCase] = [
        .init(#"{"a":["café"]}"#, #"{"a":"café"}"#, true),
        .init(#"{"a":["caf\u00e9"]}"#, #"{"a":"cafe\u0301"}"#, false, "no Unicode normalisation (bytes compare)"),
        .init(#"{"a":[{"prefix":"日本"}]}"#, #"{"a":"日本語"}"#, true),
        .init(#"{"a":[{"suffix":"🎉"}]}"#, #"{"a":"party 🎉"}"#, true),
        .init(#"{"a":[{"equals-ignore-case":"ÉCOLE"}]}"#, #"{"a":"école"}"#, true),
        .init(#"{"a":[{"wildcard":"*語"}]}"#, #"{"a":"日本語"}"#, true),
        .init(#"{"ключ":["значение"]}"#, #"{"ключ":"значение"}"#, true, "unicode keys"),
    ]

    static let anythingBut: [MatchCase] = [
        .init(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":"y"}"#, true),
        .init(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":"x"}"#, false),
        .init(#"{"a":[{"anything-but":"x"}]}"#, #"{}"#, false, "missing field never matches"),
        .init(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":[]}"#, false, "empty array has no value"),
        .init(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":{"b":"y"}}"#, false, "object is not a value"),
        .init(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":null}"#, true, "null is a value"),
        .init(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":["x","y"]}"#, true, "some element is not excluded"),
        .init(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":["x","x"]}"#, false),
        .init(#"{"a":[{"anything-but":["x","y"]}]}"#, #"{"a":"y"}"#, false),
        .init(#"{"a":[{"anything-but":["x","y"]}]}"#, #"{"a":"z"}"#, true),
        .init(#"{"a":[{"anything-but":"5"}]}"#, #"{"a":5}"#, true, "a string does not exclude a number"),
        .init(#"{"a":[{"anything-but":123}]}"#, #"{"a":123.0}"#, false),
        .init(#"{"a":[{"anything-but":[100,200,300]}]}"#, #"{"a":3e2}"#, false),
        .init(#"{"a":[{"anything-but":[100,200,300]}]}"#, #"{"a":150}"#, true),
        .init(#"{"a":[{"anything-but":[100,200]}]}"#, #"{"a":"100"}"#, true, "a number does not exclude a string"),
        .init(#"{"a":[{"anything-but":{"prefix":"init"}}]}"#, #"{"a":"initializing"}"#, false),
        .init(#"{"a":[{"anything-but":{"prefix":"init"}}]}"#, #"{"a":"running"}"#, true),
        .init(#"{"a":[{"anything-but":{"prefix":"init"}}]}"#, #"{}"#, false),
        .init(#"{"a":[{"anything-but":{"suffix":".tmp"}}]}"#, #"{"a":"x.tmp"}"#, false),
        .init(#"{"a":[{"anything-but":{"suffix":".tmp"}}]}"#, #"{"a":"x.csv"}"#, true),
        .init(#"{"a":[{"anything-but":{"wildcard":"*/lib/*"}}]}"#, #"{"a":"/usr/lib/x"}"#, false),
        .init(#"{"a":[{"anything-but":{"wildcard":"*/lib/*"}}]}"#, #"{"a":"/usr/bin/x"}"#, true),
        .init(#"{"a":[{"anything-but":{"equals-ignore-case":["ALPHA","beta"]}}]}"#, #"{"a":"Beta"}"#, false),
        .init(#"{"a":[{"anything-but":{"equals-ignore-case":["ALPHA","beta"]}}]}"#, #"{"a":"gamma"}"#, true),
        .init(#"{"a":[{"anything-but":{"prefix":["a","b"]}}]}"#, #"{"a":"bee"}"#, false),
    ]

    static let numeric: [MatchCase] = [
        .init(#"{"a":[{"numeric":[">",0]}]}"#, #"{"a":0}"#, false),
        .init(#"{"a":[{"numeric":[">",0]}]}"#, #"{"a":0.1}"#, true),
        .init(#"{"a":[{"numeric":[">=",0]}]}"#, #"{"a":0}"#, true),
        .init(#"{"a":[{"numeric":["<",10]}]}"#, #"{"a":9.999}"#, true),
        .init(#"{"a":[{"numeric":["<",10]}]}"#, #"{"a":10}"#, false),
        .init(#"{"a":[{"numeric":["<=",10]}]}"#, #"{"a":1e1}"#, true),
        .init(#"{"a":[{"numeric":["=",300]}]}"#, #"{"a":3.0e2}"#, true),
        .init(#"{"a":[{"numeric":["=",300]}]}"#, #"{"a":301}"#, false),
        .init(#"{"a":[{"numeric":[">",0,"<=",5]}]}"#, #"{"a":5}"#, true),
        .init(#"{"a":[{"numeric":[">",0,"<=",5]}]}"#, #"{"a":5.000001}"#, false),
        .init(#"{"a":[{"numeric":[">",0,"<=",5]}]}"#, #"{"a":0}"#, false),
        .init(#"{"a":[{"numeric":[">=",-5,"<",5]}]}"#, #"{"a":-5}"#, true, "inclusive lower bound"),
        .init(#"{"a":[{"numeric":[">",0]}]}"#, #"{"a":"5"}"#, false, "numeric never matches strings"),
        .init(#"{"a":[{"numeric":[">",0]}]}"#, #"{"a":true}"#, false),
        .init(#"{"a":[{"numeric":[">",0]}]}"#, #"{}"#, false),
        .init(#"{"a":[{"numeric":[">",10]}]}"#, #"{"a":[1,2,30]}"#, true, "any element"),
        .init(#"{"a":[{"numeric":["<",-1e9]}]}"#, #"{"a":-5e9}"#, true),
    ]

    static let exists: [MatchCase] = [
        .init(#"{"a":[{"exists":true}]}"#, #"{"a":"x"}"#, true),
        .init(#"{"a":[{"exists":true}]}"#, #"{"a":""}"#, true),
        .init(#"{"a":[{"exists":true}]}"#, #"{"a":null}"#, true, "null is a present leaf"),
        .init(#"{"a":[{"exists":true}]}"#, #"{}"#, false),
        .init(#"{"a":[{"exists":true}]}"#, #"{"a":{"b":1}}"#, false, "exists works on leaves only"),
        .init(#"{"a":[{"exists":true}]}"#, #"{"a":[]}"#, false, "empty array has no value"),
        .init(#"{"a":[{"exists":false}]}"#, #"{}"#, true),
        .init(#"{"a":[{"exists":false}]}"#, #"{"a":"x"}"#, false),
        .init(#"{"a":[{"exists":false}]}"#, #"{"a":null}"#, false),
        .init(#"{"a":[{"exists":false}]}"#, #"{"a":{"b":1}}"#, true, "an object is not a leaf"),
        .init(#"{"a":[{"exists":false}]}"#, #"{"a":[]}"#, true, "empty array has no value"),
        .init(#"{"a":{"b":[{"exists":false}]}}"#, #"{}"#, true, "missing parent"),
        .init(#"{"a":{"b":[{"exists":false}]}}"#, #"{"a":[{"c":1},{"b":2}]}"#, false, "present in some element"),
        .init(#"{"a":["x",{"exists":false}]}"#, #"{}"#, true, "value or absent"),
        .init(#"{"a":["x",{"exists":false}]}"#, #"{"a":"x"}"#, true),
        .init(#"{"a":["x",{"exists":false}]}"#, #"{"a":"y"}"#, false),
        .init(#"{"a":[{"exists":false}],"b":["1"]}"#, #"{"b":"1"}"#, true),
        .init(#"{"a":[{"exists":false}],"b":["1"]}"#, #"{"a":0,"b":"1"}"#, false),
    ]

    /// `exists: false` and `$or` under arrays of objects: judged in the array elements the other fields
    /// matched in (event-ruler's `rulesForJSONEvent`; conformance cases 26 and 229).
    static let existsInArrays: [MatchCase] = [
        .init(#"{"a":{"b":["x"],"c":[{"exists":false}]}}"#, #"{"a":[{"b":"y","c":1},{"b":"x"}]}"#, true, "absent from the element that matched"),
        .init(#"{"a":{"b":["x"],"c":[{"exists":false}]}}"#, #"{"a":[{"b":"x","c":1},{"b":"y"}]}"#, false, "present in the element that matched"),
        .init(#"{"a":{"b":["x"],"c":[{"exists":false}]}}"#, #"{"a":[{"b":"x","c":[]},{"c":2}]}"#, true, "an empty array has no value"),
        .init(
            #"{"e":{"f":["Anna"],"ids":[{"exists":false}]}}"#,
            #"{"e":[[{"f":"John","ids":[1234,1000]},{"f":"Anna"}],[{"f":"Peter","ids":[]}]]}"#, true, "nested arrays (case 26)"),
        .init(
            #"{"t":{"s":["A"],"p":{"id":["X"]},"r":{"c":{"i":[{"exists":false}]}}}}"#,
            #"{"t":[{"s":"A","p":{"id":"X"},"r":[{"x":1}]},{"s":"B","p":{"id":"Y"},"r":[{"c":{"i":"d"}}]}]}"#, true,
            "a deeper level of the element that matched (case 229)"),
        .init(
            #"{"t":{"s":["A"],"p":{"id":["X"]},"r":{"c":{"i":[{"exists":false}]}}}}"#,
            #"{"t":[{"s":"A","p":{"id":"X"},"r":[{"c":{"i":"d"}}]},{"s":"B","p":{"id":"X"}}]}"#, false,
            "present below the element that matched"),
        .init(#"{"t":{"s":["A"],"r":{"i":[{"exists":false}]}}}"#, #"{"t":[{"s":"A","r":[{"x":1},{"i":"d"}]}]}"#, false,
              "an inner array no matched field ties to one element: absent from all of them"),
        .init(#"{"a":{"b":[{"exists":false}]}}"#, #"{"a":[{"b":1},{"c":2}]}"#, false, "absences alone tie to no element"),
        .init(#"{"a":{"b":[{"exists":false}],"c":[{"exists":false}]}}"#, #"{"a":[{"b":1},{"c":2}]}"#, false),
        .init(#"{"a":{"b":[{"exists":false}]}}"#, #"{"a":[{"c":1},{"c":2}]}"#, true),
        .init(#"{"a":{"b":["1"],"c":["x",{"exists":false}]}}"#, #"{"a":[{"b":"1"},{"c":"y"}]}"#, true, "value or absent, in the element"),
        .init(#"{"a":{"b":["1"],"c":["x",{"exists":false}]}}"#, #"{"a":[{"b":"1","c":"y"},{"c":"x"}]}"#, false),
        .init(#"{"a":{"b":["1"],"c":["x",{"exists":false}]}}"#, #"{"a":[{"b":"2"},{"b":"1","c":"x"}]}"#, true),
        .init(#"{"z":["1"],"a":{"c":[{"exists":false}]}}"#, #"{"z":"1","a":[{"c":1},{"d":2}]}"#, false, "a field outside the array ties to no element"),
        .init(
            #"{"a":{"b":["1"]},"$or":[{"a":{"c":[{"exists":false}]}},{"d":["3"]}]}"#,
            #"{"a":[{"b":"1"},{"c":"2"}]}"#, true, "$or alternative judged in the same element"),
        .init(
            #"{"a":{"b":["1"]},"$or":[{"a":{"c":[{"exists":false}]}},{"d":["3"]}]}"#,
            #"{"a":[{"b":"1","c":"2"}]}"#, false),
        .init(
            #"{"a":{"b":["1"]},"$or":[{"a":{"c":["2"]}},{"d":["3"]}]}"#,
            #"{"a":[{"b":"1"},{"c":"2"}]}"#, false, "an $or alternative's fields share the element with the fields outside"),
        .init(
            #"{"a":{"b":["1"]},"$or":[{"a":{"c":["2"]}},{"d":["3"]}]}"#,
            #"{"a":[{"b":"1","c":"2"}]}"#, true),
        .init(
            #"{"a":{"b":["1"]},"$or":[{"a":{"c":["2"]}},{"d":["3"]}]}"#,
            #"{"a":[{"b":"0","c":"2"},{"b":"1"}],"d":"3"}"#, true),
        .init(
            #"{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"c":["x"]}]}"#, #"{"name":"c"}"#, false,
            "a field outside and inside $or: both lists hold (event-ruler's override reading differs, case 265)"),
        .init(#"{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"c":["x"]}]}"#, #"{"name":"b"}"#, true),
    ]

    static let wildcard: [MatchCase] = [
        .init(#"{"a":[{"wildcard":"*.png"}]}"#, #"{"a":"dir/cat.png"}"#, true),
        .init(#"{"a":[{"wildcard":"*.png"}]}"#, #"{"a":"cat.png.gz"}"#, false),
        .init(#"{"a":[{"wildcard":"dir/*/file"}]}"#, #"{"a":"dir/x/y/file"}"#, true),
        .init(#"{"a":[{"wildcard":"dir/*/file"}]}"#, #"{"a":"dir/file"}"#, false),
        .init(#"{"a":[{"wildcard":"*"}]}"#, #"{"a":""}"#, true),
        .init(#"{"a":[{"wildcard":"a*b*c"}]}"#, #"{"a":"abc"}"#, true),
        .init(#"{"a":[{"wildcard":"a*b*c"}]}"#, #"{"a":"aXbYc"}"#, true),
        .init(#"{"a":[{"wildcard":"a*b*c"}]}"#, #"{"a":"acb"}"#, false),
        .init(#"{"a":[{"wildcard":"ab*ba"}]}"#, #"{"a":"aba"}"#, false, "prefix and suffix may not overlap"),
        .init(#"{"a":[{"wildcard":"a\\*b"}]}"#, #"{"a":"a*b"}"#, true, "escaped star is literal"),
        .init(#"{"a":[{"wildcard":"a\\*b"}]}"#, #"{"a":"axb"}"#, false, "escaped star is literal"),
        .init(#"{"a":[{"wildcard":"a\\\\b"}]}"#, #"{"a":"a\\b"}"#, true, "escaped backslash"),
        .init(#"{"a":[{"wildcard":"exact"}]}"#, #"{"a":"exact"}"#, true, "no star = equality"),
        .init(#"{"a":[{"wildcard":"1*"}]}"#, #"{"a":123}"#, false, "only strings"),
    ]

    static let cidr: [MatchCase] = [
        .init(#"{"a":[{"cidr":"10.0.0.0/24"}]}"#, #"{"a":"10.0.0.255"}"#, true),
        .init(#"{"a":[{"cidr":"10.0.0.0/24"}]}"#, #"{"a":"10.0.1.1"}"#, false),
        .init(#"{"a":[{"cidr":"10.0.0.0/8"}]}"#, #"{"a":"10.200.3.4"}"#, true),
        .init(#"{"a":[{"cidr":"0.0.0.0/0"}]}"#, #"{"a":"192.168.1.1"}"#, true),
        .init(#"{"a":[{"cidr":"10.0.0.0/24"}]}"#, #"{"a":"not an ip"}"#, false),
        .init(#"{"a":[{"cidr":"10.0.0.0/24"}]}"#, #"{"a":"10.0.0.256"}"#, false),
        .init(#"{"a":[{"cidr":"2001:db8::/32"}]}"#, #"{"a":"2001:db8::1"}"#, true),
        .init(#"{"a":[{"cidr":"2001:db8::/32"}]}"#, #"{"a":"2001:0db8:ffff::abcd"}"#, true),
        .init(#"{"a":[{"cidr":"2001:db8::/32"}]}"#, #"{"a":"2001:db9::1"}"#, false),
        .init(#"{"a":[{"cidr":"2001:db8::/32"}]}"#, #"{"a":"10.0.0.1"}"#, false, "families differ"),
        .init(#"{"a":[{"cidr":"::ffff:0:0/96"}]}"#, #"{"a":"::ffff:10.1.2.3"}"#, true, "embedded IPv4"),
        .init(#"{"a":[{"cidr":"10.0.0.0/8"}]}"#, #"{"a":["192.168.0.1","10.1.1.1"]}"#, true),
    ]

    static let ors: [MatchCase] = [
        .init(#"{"$or":[{"a":["1"]},{"b":["2"]}]}"#, #"{"b":"2"}"#, true),
        .init(#"{"$or":[{"a":["1"]},{"b":["2"]}]}"#, #"{"a":"1"}"#, true),
        .init(#"{"$or":[{"a":["1"]},{"b":["2"]}]}"#, #"{"a":"2","b":"1"}"#, false),
        .init(#"{"c":["3"],"$or":[{"a":["1"]},{"b":["2"]}]}"#, #"{"b":"2"}"#, false, "and with the other fields"),
        .init(#"{"c":["3"],"$or":[{"a":["1"]},{"b":["2"]}]}"#, #"{"b":"2","c":"3"}"#, true),
        .init(#"{"$or":[{"a":["1"]},{"b":["2"],"$or":[{"c":[3]},{"d":[4]}]}]}"#, #"{"b":"2","d":4}"#, true, "nested"),
        .init(#"{"$or":[{"a":["1"]},{"b":["2"],"$or":[{"c":[3]},{"d":[4]}]}]}"#, #"{"b":"2"}"#, false, "nested"),
        .init(#"{"x":{"$or":[{"a":["1"]},{"b":["2"]}]}}"#, #"{"x":{"b":"2"}}"#, true, "inside an object"),
        .init(#"{"x":{"$or":[{"a":["1"]},{"b":["2"]}]}}"#, #"{"x":[{"a":"0"},{"b":"2"}]}"#, true, "inside an array element"),
        .init(#"{"$or":[{"a":[{"exists":false}]},{"b":["2"]}]}"#, #"{"a":1}"#, false),
        .init(#"{"$or":[{"a":[{"exists":false}]},{"b":["2"]}]}"#, #"{}"#, true),
        .init(#"{"$or":[{"a":[{"numeric":[">",5]}]},{"a":[{"prefix":"x"}]}]}"#, #"{"a":"xy"}"#, true),
    ]

    static let headers: [MatchCase] = [
        .init(#"{"headers":{"X-GitHub-Event":["push"]}}"#, #"{"headers":{"x-github-event":"push"}}"#, true, "header names ignore case"),
        .init(#"{"headers":{"x-github-event":["push"]}}"#, #"{"headers":{"x-github-event":"Push"}}"#, false, "values do not"),
        .init(#"{"body":{"X-Key":["v"]}}"#, #"{"body":{"x-key":"v"}}"#, false, "other keys keep their case"),
    ]

    @Test(arguments: exact) func exactValues(_ c: MatchCase) throws { try check(c) }
    @Test(arguments: arrays) func arrayValues(_ c: MatchCase) throws { try check(c) }
    @Test(arguments: strings) func stringOperators(_ c: MatchCase) throws { try check(c) }
    @Test(arguments: unicode) func unicodeText(_ c: MatchCase) throws { try check(c) }
    @Test(arguments: anythingBut) func anythingButForms(_ c: MatchCase) throws { try check(c) }
    @Test(arguments: numeric) func numericRanges(_ c: MatchCase) throws { try check(c) }
    @Test(arguments: exists) func existsChecks(_ c: MatchCase) throws { try check(c) }
    @Test(arguments: existsInArrays) func arrayElementConsistency(_ c: MatchCase) throws { try check(c) }
    @Test(arguments: wildcard) func wildcards(_ c: MatchCase) throws { try check(c) }
    @Test(arguments: cidr) func cidrBlocks(_ c: MatchCase) throws { try check(c) }
    @Test(arguments: ors) func orGroups(_ c: MatchCase) throws { try check(c) }
    @Test(arguments: headers) func headerNames(_ c: MatchCase) throws { try check(c) }

    @Test func matchAllMatchesEverything() {
        let all = PatternCompiler.matchAll
        #expect(all.isMatchAll)
        #expect(all.matches(json(#"{"a":1}"#)))
        #expect(all.explain(.null) == nil)
        #expect(PatternIndex([all, all]).matches(json("{}")) == [0, 1])
    }
}
