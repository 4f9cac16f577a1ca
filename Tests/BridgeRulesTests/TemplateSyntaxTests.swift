import BridgeCore
import Testing

@testable import BridgeRules

@Suite("Template syntax")
struct TemplateSyntaxTests {
    /// Compiles `text` and returns the error it must throw.
    func compileError(_ text: String) -> TemplateError? {
        do {
            _ = try Template(text)
            return nil
        } catch {
            return error
        }
    }

    @Test(
        "bad syntax, names and arguments are compile errors at the right offset",
        arguments: [
            ("{{ body.x", 0, "'{{' is not closed"),
            ("ok {{ body.x | lower ", 3, "'{{' is not closed"),
            ("{{", 0, "'{{' is not closed"),
            ("a }} b", 2, "'}}' without an opening '{{'"),
            ("{{ id }} }}", 9, "without an opening"),
            ("{{ }}", 0, "empty expression"),
            ("{{}}", 0, "empty expression"),
            ("{{ body.x | lowr }}", 12, "unknown filter 'lowr'; did you mean 'lower'?"),
            ("{{ body.x | b64decod }}", 12, "did you mean 'b64decode'?"),
            ("{{ body.x | frobnicate }}", 12, "unknown filter 'frobnicate' (filters: default, string"),
            ("{{ bdy.x }}", 3, "unknown name 'bdy'; did you mean 'body'?"),
            ("{{ header['a'] }}", 3, "did you mean 'headers'?"),
            ("{{ cloudevents.id }}", 3, "did you mean 'cloudevent'?"),
            ("{{ bucket }}", 3, "unknown name 'bucket'"),
            ("{{ body..x }}", 8, "expected a field name after '.'"),
            ("{{ body. }}", 8, "expected a field name after '.'"),
            ("{{ body.1 }}", 8, "write an index in brackets: [1]"),
            ("{{ body.items[ }}", 15, "expected a quoted key or a whole number"),
            ("{{ body.items[0 }}", 16, "expected ']'"),
            ("{{ body.items[1.5] }}", 14, "whole number"),
            ("{{ body[x] }}", 8, "expected a quoted key"),
            ("{{ id.x }}", 5, "'id' is a string"),
            ("{{ rule[0] }}", 7, "'rule' is a string"),
            ("{{ now.x }}", 6, "'now' is a timestamp"),
            ("{{ body.x y }}", 10, "expected '|' or '}}'"),
            ("{{ body.x | }}", 12, "expected a filter name after '|'"),
            ("{{ body.x || lower }}", 11, "expected a filter name"),
            ("{{ 'abc }}", 3, "string is not closed by '"),
            (#"{{ "abc }}"#, 3, #"string is not closed by ""#),
            (#"{{ 'a\q' }}"#, 5, "unknown escape"),
            (#"{{ '\u12' }}"#, 4, "\\u must be followed by 4 hex digits"),
            ("{{ body.x | default( }}", 21, "expected a path or a value"),
            ("{{ body.x | default('a' }}", 24, "expected ',' or ')'"),
            ("{{ body.x | default }}", 12, "filter 'default' takes 1 argument"),
            ("{{ body.x | default() }}", 12, "takes 1 argument (the value to use when missing or null), got 0"),
            ("{{ body.x | default(1, 2) }}", 12, "got 2"),
            ("{{ body.x | lower(1) }}", 12, "filter 'lower' takes no arguments, got 1"),
            ("{{ body.x | int() }}", -1, ""),
            ("{{ body.x | truncate }}", 12, "filter 'truncate' takes 1 argument"),
            ("{{ body.x | truncate('a') }}", 21, "whole number ≥ 0"),
            ("{{ body.x | truncate(-1) }}", 21, "whole number ≥ 0"),
            ("{{ body.x | truncate(1.5) }}", 21, "whole number ≥ 0"),
            ("{{ body.x | replace('a') }}", 12, "filter 'replace' takes 2 arguments"),
            ("{{ body.x | replace('', 'b') }}", 20, "must not be empty"),
            ("{{ body.x | replace(body.y, 'b') }}", 20, "argument 1 of 'replace' must be a quoted string"),
            ("{{ body.x | replace('a', 1) }}", 25, "argument 2 of 'replace' must be a quoted string"),
            ("{{ body.x | date('%Q') }}", 18, "unknown directive '%Q'"),
            ("{{ body.x | date('%Y-%') }}", 21, "unknown directive '%'"),
            ("{{ body.x | date(5) }}", 17, "must be a quoted string"),
            ("{{ body.x | date('%Y', 'x') }}", 12, "filter 'date' takes 1 argument"),
            ("{{ body.x | now }}", 12, "'now' is a value, not a filter"),
            ("{{ body.x | default({'a' 1}) }}", 25, "expected ':'"),
            ("{{ body.x | default({a: 1}) }}", 21, "object keys must be quoted strings"),
            ("{{ body.x | default([1 2]) }}", 23, "expected ',' or ']'"),
            ("{{ body.x | default({'a': 1) }}", 27, "expected ',' or '}'"),
            ("{{ body.x | default([foo]) }}", 21, "expected a literal value inside a literal"),
            ("{{ 99999999999999999999 }}", 3, "does not fit a 64-bit integer"),
            ("{{ 1e }}", 3, "empty exponent"),
            ("{{ 12ab }}", 5, "after a number"),
            ("é {{ bdy }}", 6, "unknown name 'bdy'"),
            ("{{ - }}", 3, "expected a number"),
        ])
    func compileErrors(_ text: String, _ offset: Int, _ fragment: String) {
        let error = compileError(text)
        if offset < 0 {
            #expect(error == nil, "\(text) should compile")
            return
        }
        guard let error else {
            Issue.record("'\(text)' compiled but should fail with \(fragment)")
            return
        }
        #expect(error.offset == offset, "\(text): \(error)")
        #expect(error.message.contains(fragment), "\(text): \(error.message)")
        #expect(error.description.contains("offset \(offset)"))
    }

    @Test("deeply nested literals are refused, not a stack overflow")
    func deepLiteral() {
        let text = "{{ " + String(repeating: "[", count: 10_000) + " }}"
        #expect(compileError(text)?.message.contains("nested deeper") == true)
    }

    @Test(
        "strings escapes and quotes in literals",
        arguments: [
            (#"{{ 'it\'s' }}"#, "it's"),
            (#"{{ "say \"hi\"" }}"#, #"say "hi""#),
            (#"{{ 'tab\tnew\nline\\' }}"#, "tab\tnew\nline\\"),
            (#"{{ '\u00e9\/' }}"#, "é/"),
            ("{{ 'a }} b' }}", "a }} b"),
            ("{{ \"{{\" }}", "{{"),
        ])
    func stringLiterals(_ text: String, _ expected: String) throws {
        #expect(try render(text) == .string(expected))
    }

    @Test("filter names after every path form parse, with or without parentheses")
    func parenthesesOptional() throws {
        #expect(try render("{{ body.bucket | upper() }}") == "RAW-LANDING")
        #expect(try render("{{ body.bucket|upper }}") == "RAW-LANDING")
        #expect(try render("{{body['odd key']|upper|lower}}") == "spaces")
        #expect(try render("{{ body.items[0]|json }}") == .string(#"{"id":"a1","qty":2}"#))
    }
}
