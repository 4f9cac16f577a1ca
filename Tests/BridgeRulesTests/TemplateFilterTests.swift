import BridgeCore
import Foundation
import Testing

@testable import BridgeRules

@Suite("Template filters")
struct TemplateFilterTests {
    @Test(
        "every filter, happy cases",
        arguments: [
            // string
            ("{{ body.count | string }}", JSONValue.string("7")),
            ("{{ body.nothing | string }}", ""),
            ("{{ body.bucket | string }}", "raw-landing"),
            ("{{ body.metadata | string }}", #"{"team":"data","tier":2}"#),
            ("{{ body.ratio | string }}", "0.25"),
            ("{{ body.flag | string }}", "true"),
            // int
            ("{{ body.size | int }}", 1024),
            ("{{ body.count | int }}", 7),
            ("{{ body.num_text | int }}", 3),
            ("{{ body.ratio | int }}", 0),
            ("{{ -2.9 | int }}", -2),
            ("{{ body.flag | int }}", 1),
            ("{{ ' 42 ' | int }}", 42),
            ("{{ '-7' | int }}", -7),
            ("{{ '1e3' | int }}", 1000),
            ("{{ '9223372036854775807' | int }}", .int(Int64.max)),
            // float
            ("{{ body.size | float }}", .double(1024)),
            ("{{ body.num_text | float }}", 3.75),
            ("{{ body.count | float }}", .double(7)),
            ("{{ '-1.5E2' | float }}", .double(-150)),
            ("{{ false | float }}", .double(0)),
            // bool
            ("{{ 'yes' | bool }}", true),
            ("{{ 'True' | bool }}", true),
            ("{{ ' on ' | bool }}", true),
            ("{{ '1' | bool }}", true),
            ("{{ 'OFF' | bool }}", false),
            ("{{ 'no' | bool }}", false),
            ("{{ '' | bool }}", false),
            ("{{ 0 | bool }}", false),
            ("{{ 2.5 | bool }}", true),
            ("{{ body.nothing | bool }}", false),
            ("{{ body.flag | bool }}", true),
            // json
            ("{{ body.bucket | json }}", #""raw-landing""#),
            ("{{ body.metadata | json }}", #"{"team":"data","tier":2}"#),
            ("{{ body.nothing | json }}", "null"),
            ("{{ body.count | json }}", "7"),
            ("{{ 'a\"b\\n' | json }}", #""a\"b\n""#),
            // fromjson
            (#"{{ '{"a":[1,2.5,null]}' | fromjson }}"#, json(#"{"a":[1,2.5,null]}"#)),
            ("{{ '42' | fromjson }}", 42),
            ("{{ ' \"s\" ' | fromjson }}", "s"),
            ("{{ body.metadata | json | fromjson }}", json(#"{"team":"data","tier":2}"#)),
            // b64decode / b64encode
            ("{{ 'aGVsbG8=' | b64decode }}", "hello"),
            ("{{ 'aGVsbG8' | b64decode }}", "hello"),
            ("{{ 'aGk' | b64decode }}", "hi"),
            ("{{ 'aGk=' | b64decode }}", "hi"),
            ("{{ 'Pz8+' | b64decode }}", "??>"),
            ("{{ 'Pz8-' | b64decode }}", "??>"),
            ("{{ 'Pz8/' | b64decode }}", "???"),
            ("{{ 'Pz8_' | b64decode }}", "???"),
            ("{{ 'aGVs\\nbG8=' | b64decode }}", "hello"),
            ("{{ '' | b64decode }}", ""),
            ("{{ 'Y2Fmw6k=' | b64decode }}", "café"),
            ("{{ 'hello' | b64encode }}", "aGVsbG8="),
            ("{{ 'hi' | b64encode }}", "aGk="),
            ("{{ '???' | b64encode }}", "Pz8/"),
            ("{{ 'café' | b64encode }}", "Y2Fmw6k="),
            ("{{ body.count | b64encode }}", "Nw=="),
            ("{{ body.unicode | b64encode | b64decode }}", "Café Münchën 日本"),
            // lower / upper / trim
            ("{{ body.bucket | upper }}", "RAW-LANDING"),
            ("{{ 'MiXeD' | lower }}", "mixed"),
            ("{{ body.unicode | lower }}", "café münchën 日本"),
            ("{{ body.unicode | upper }}", "CAFÉ MÜNCHËN 日本"),
            ("{{ 'straße' | upper }}", "STRASSE"),
            ("{{ 'ÉCOLE' | lower }}", "école"),
            ("{{ body.title | trim }}", "Hello World"),
            ("{{ '\u{a0} x y \t' | trim }}", "x y"),
            ("{{ 'none' | trim }}", "none"),
            ("{{ '   ' | trim }}", ""),
            // replace
            ("{{ body.name | replace('/', '-') }}", "incoming-2024-05-01-Report Q1.csv"),
            ("{{ 'aaa' | replace('a', 'bb') }}", "bbbbbb"),
            ("{{ 'abcabc' | replace('bc', '') }}", "aa"),
            ("{{ 'aaaa' | replace('aa', 'a') }}", "aa"),
            ("{{ 'Münchën' | replace('ü', 'ue') }}", "Muenchën"),
            ("{{ 'no match' | replace('zz', 'y') }}", "no match"),
            ("{{ 'ab' | replace('abc', 'y') }}", "ab"),
            // slug
            ("{{ body.name | slug }}", "incoming_2024_05_01_Report_Q1.csv"),
            ("{{ body.unicode | slug }}", "Cafe_Munchen_"),
            ("{{ 'a~b:c+d-e.f_g' | slug }}", "a~b:c+d-e.f_g"),
            ("{{ 'a//b  c' | slug }}", "a_b_c"),
            ("{{ 'Cafe\u{301}' | slug }}", "Cafe"),
            ("{{ '日本' | slug }}", "_"),
            ("{{ body.count | slug }}", "7"),
            // sha256
            ("{{ 'abc' | sha256 }}", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("{{ '' | sha256 }}", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("{{ body.count | sha256 }}", "7902699be42c8a8e46fbbb4501726517e86b22c56a189f7625a6da49081b2451"),
            // truncate
            ("{{ 'abcdef' | truncate(3) }}", "abc"),
            ("{{ 'abcdef' | truncate(0) }}", ""),
            ("{{ 'abcdef' | truncate(6) }}", "abcdef"),
            ("{{ 'abc' | truncate(100) }}", "abc"),
            ("{{ body.unicode | truncate(6) }}", "Café M"),
            ("{{ 'Cafe\u{301}s' | truncate(4) }}", "Cafe\u{301}"),
            ("{{ '🇫🇷🇩🇪' | truncate(1) }}", "🇫🇷"),
            ("{{ '👨‍👩‍👧x' | truncate(1) }}", "👨‍👩‍👧"),
            ("{{ body.count | truncate(5) }}", "7"),
            ("{{ 12345 | truncate(2) }}", "12"),
            // chains
            ("{{ body.bucket | upper | replace('-', '_') }}", "RAW_LANDING"),
            ("{{ body.title | trim | lower | slug }}", "hello_world"),
            ("{{ body.nope | default('  X ') | trim | lower }}", "x"),
        ])
    func happy(_ text: String, _ expected: JSONValue) throws {
        let value = try render(text)
        #expect(value == expected)
        #expect(jsonCase(value) == jsonCase(expected))
    }

    @Test(
        "failed conversions are render errors that say what failed",
        arguments: [
            ("{{ 'abc' | int }}", "int", "'abc'"),
            ("{{ body.unicode | int }}", "int", "whole number"),
            ("{{ body.metadata | int }}", "int", "object"),
            ("{{ body.nothing | int }}", "int", "null"),
            ("{{ '1e30' | int }}", "int", "'1e30'"),
            ("{{ 'nan' | int }}", "int", "'nan'"),
            ("{{ '0x10' | int }}", "int", "'0x10'"),
            ("{{ 'abc' | float }}", "float", "'abc'"),
            ("{{ 'inf' | float }}", "float", "'inf'"),
            ("{{ 'nan' | float }}", "float", "'nan'"),
            ("{{ body.items | float }}", "float", "array"),
            ("{{ 'maybe' | bool }}", "bool", "'maybe'"),
            ("{{ body.items | bool }}", "bool", "array"),
            ("{{ 'not json' | fromjson }}", "fromjson", "not JSON"),
            ("{{ '{\"a\":' | fromjson }}", "fromjson", "not JSON"),
            ("{{ body.metadata | fromjson }}", "fromjson", "object"),
            ("{{ '@@@' | b64decode }}", "b64decode", "not base64"),
            ("{{ 'a' | b64decode }}", "b64decode", "length"),
            ("{{ 'aGVsbG8==' | b64decode }}", "b64decode", "padding"),
            ("{{ 'aG=VsbG8' | b64decode }}", "b64decode", "padding"),
            ("{{ '/w==' | b64decode }}", "b64decode", "UTF-8"),
            ("{{ body.count | b64decode }}", "b64decode", "number"),
            ("{{ 'xyz' | date('%Y') }}", "date", "'xyz'"),
            ("{{ '2024-13-01' | date }}", "date", "ISO-8601"),
            ("{{ body.metadata | date }}", "date", "object"),
            ("{{ 1e300 | date }}", "date", "number"),
        ])
    func conversionErrors(_ text: String, _ filter: String, _ detail: String) throws {
        let error = try #require(try renderError(text))
        #expect(error.message.hasPrefix(filter + " in {{"), "\(error.message)")
        #expect(error.message.contains(detail), "\(error.message)")
    }

    @Test("a conversion error names the operand's path")
    func conversionErrorPath() throws {
        let error = try #require(try renderError("{{ body.unicode | int }}"))
        #expect(error.path == "body.unicode")
        #expect(error.message.contains("{{ body.unicode | int }}"))
    }

    @Test("error messages quote at most 40 characters of a value")
    func shortQuotes() throws {
        let long = String(repeating: "x", count: 10_000)
        let ctx = RenderContext(envelope: ["body": ["big": .string(long)]], rule: "r", now: templateTestNow)
        let error = try #require(try renderError("{{ body.big | int }}", ctx))
        #expect(error.message.count < 200)
    }

    @Test(
        "date formats (UTC; ISO-8601 text, epoch seconds or milliseconds in)",
        arguments: [
            ("{{ body.created | date('%Y-%m-%d') }}", "2024-05-01"),
            ("{{ body.created | date('%Y-%m-%dT%H:%M:%SZ') }}", "2024-05-01T12:00:00Z"),
            ("{{ body.created_ms | date('%F %T') }}", "2024-05-01 12:00:00"),
            ("{{ body.created_ms | date('%S.%f') }}", "00.123000"),
            ("{{ body.when | date('%j %H:%M:%S.%f %z %Z') }}", "060 21:59:58.500000 +0000 UTC"),
            ("{{ body.when | date }}", "2024-02-29T21:59:58.500Z"),
            ("{{ body.when | date('%s') }}", "1709243998"),
            ("{{ now | date('%s') }}", "1714564800"),
            ("{{ now | date('%Y%m%d') }}", "20240501"),
            ("{{ '1969-12-31T23:59:59Z' | date('%s %Y') }}", "-1 1969"),
            ("{{ '2024-05-01' | date('%y%m%d 100%%') }}", "240501 100%"),
            ("{{ '2023-12-31T10:00:00-05:00' | date('%Y-%j') }}", "2023-365"),
            ("{{ '2024-12-31' | date('%j') }}", "366"),
            ("{{ '1714564800' | date('%F') }}", "2024-05-01"),
            ("{{ 1714564800.75 | date('%T.%f') }}", "12:00:00.750000"),
            ("{{ kafka.timestamp | date('%H:%M:%S') }}", "12:00:00"),
            ("{{ cloudevent.time | date('%Hh%M') }}", "11h59"),
            ("{{ body.created | date('no directives') }}", "no directives"),
            ("{{ '0005-01-01' | date('%Y') }}", "0005"),
        ])
    func dates(_ text: String, _ expected: String) throws {
        #expect(try render(text) == .string(expected))
    }

    @Test("a hostile replace cannot build a huge string")
    func hostileReplace() throws {
        let input = String(repeating: "a", count: 100_000)
        let ctx = RenderContext(envelope: ["body": ["big": .string(input)]], rule: "r", now: templateTestNow)
        let replacement = String(repeating: "b", count: 100)
        let started = ContinuousClock.now
        let error = try #require(try renderError("{{ body.big | replace('a', '\(replacement)') }}", ctx))
        #expect(error.message.contains("longer than 1048576 bytes"))
        #expect(ContinuousClock.now - started < .seconds(2))
        // Within the limit it works, and the limit is adjustable.
        var small = ctx
        small.maxTextBytes = 99_999
        #expect(try renderError("{{ body.big | replace('aa', 'a') }}", small) == nil)
        #expect(try renderError("{{ body.big | replace('b', 'c') }}", small)?.message.contains("99999") == true)
    }

    @Test("interpolation stops at the text limit; truncate of a huge value is cheap")
    func textLimit() throws {
        let input = String(repeating: "é", count: 300_000)
        var ctx = RenderContext(envelope: ["body": ["big": .string(input)]], rule: "r", now: templateTestNow)
        ctx.maxTextBytes = 1_000_000
        #expect(try renderError("{{ body.big }}{{ body.big }}", ctx)?.message.contains("longer than 1000000") == true)
        #expect(try render("{{ body.big | truncate(3) }}", ctx) == "ééé")
        #expect(try render("{{ body.big | truncate(999999999) }}", ctx) == .string(input))
    }
}
