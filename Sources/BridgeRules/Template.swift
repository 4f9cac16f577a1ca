import BridgeCore

/// One compiled string template, such as `"ingest_{{ body.bucket | slug }}"`.
///
/// ## Syntax
/// `{{ expr }}` anywhere in a string, where `expr` is an operand followed by
/// filters: `{{ body.size | int }}`, `{{ body.message.data | b64decode | fromjson }}`.
///
/// - Operands: paths over the event envelope — `id`, `source`, `received_at`,
///   `headers["x-github-event"]`, `body.a.b`, `body.items[0].id`, `body["odd key"]`,
///   `kafka.key`, `cloudevent.type` — plus `rule` (the rule's name), `now`
///   (the render clock as ISO-8601 text) and literals: `'text'`, `"text"`,
///   numbers, `true`, `false`, `null`, `{…}` and `[…]` in JSON form.
///   Names may contain `-` (`body.pull-request`); other keys need brackets.
///   `headers[...]` keys are lower-cased, as the envelope's are. A negative index
///   counts from the end (`[-1]` is the last element).
/// - Filters are applied left to right; see ``Template`` filter list below.
/// - A literal `{{` or `}}` is written as an expression: `{{ '{{' }}`.
///   A `}}` outside an expression is a compile error, like an unclosed `{{`.
///
/// ## Typed or interpolated
/// A string that is exactly one expression (`"{{ body.size | int }}"`, nothing
/// outside the braces) renders to the expression's JSON value, so numbers,
/// booleans, null, objects and arrays keep their type. Any other string is
/// interpolated: strings are inserted as they are, `null` as nothing, and other
/// values as compact JSON.
///
/// ## Missing values
/// A path that is not in the event (absent key, index out of range, a field of a
/// non-object) is *missing*. `default(v)` replaces a missing or null value;
/// a missing value that reaches any other filter or the end of the expression is
/// a ``RenderError`` naming the path.
///
/// ## Filters
/// | filter | result |
/// | --- | --- |
/// | `default(v)` | `v` (a literal or a path) when the value is missing or null |
/// | `string` | text form: strings as is, null → `""`, others compact JSON |
/// | `int`, `float` | number from a number, boolean or numeric text (`int` truncates); error otherwise |
/// | `bool` | from booleans, numbers (≠ 0), null (false) and `true/false/yes/no/on/off/1/0/y/n` text |
/// | `json` | compact JSON text of the value |
/// | `fromjson` | parses JSON text (strings only) |
/// | `b64decode` | decodes standard or URL-safe base64, padding optional, to UTF-8 text |
/// | `b64encode` | standard base64 (with padding) of the text form |
/// | `lower`, `upper`, `trim` | Unicode case mapping / whitespace trimming of the text form |
/// | `replace(a, b)` | every `a` replaced by `b` (`a` not empty) |
/// | `slug` | Airflow run-id alphabet `[A-Za-z0-9_.~:+-]`: accents dropped, other runs → `_`, ≤ 250 bytes |
/// | `sha256` | lowercase hex SHA-256 of the text form's UTF-8 |
/// | `truncate(n)` | at most `n` characters (never splits a character; no ellipsis) |
/// | `date(format)` | ISO-8601 text or epoch seconds (≥ 1e11: milliseconds) formatted in UTC; no format: ISO-8601 |
///
/// `now` is a value, not a filter: `{{ now }}`, `{{ now | date('%Y%m%d') }}`.
/// Text filters take the text form of non-string input.
public struct Template: Sendable, CustomStringConvertible {
    /// The compiled form, shared by copies (a template copies with one retain).
    let program: Program

    final class Program: Sendable {
        let text: String
        let parts: [TemplatePart]
        /// The expression, when the string is exactly one expression (typed rendering).
        let single: Expr?

        init(text: String, parts: [TemplatePart]) {
            self.text = text
            self.parts = parts
            if parts.count == 1, case .expr(let e) = parts[0] { single = e } else { single = nil }
        }
    }

    /// Compiles a template.
    /// - Throws: ``TemplateError`` (message and UTF-8 offset) on bad syntax, an
    ///   unknown filter or name, or bad filter arguments.
    public init(_ text: String) throws(TemplateError) {
        program = Program(text: text, parts: try TemplateParser.parse(text))
    }

    /// The template as written.
    public var text: String { program.text }

    var parts: [TemplatePart] { program.parts }

    /// `true` when the string has no expressions (it renders to itself).
    public var isConstant: Bool {
        !parts.contains { if case .expr = $0 { return true } else { return false } }
    }

    /// The template text.
    public var description: String { text }

    /// Every envelope path this template reads, in order of first use, e.g.
    /// `["body.bucket", "cloudevent.id"]` (not `rule` or `now`).
    public var referencedPaths: [String] {
        var out: [String] = []
        for case .expr(let e) in parts {
            e.collectPaths(into: &out)
        }
        return out
    }
}

extension Expr {
    func collectPaths(into out: inout [String]) {
        func add(_ o: Operand) {
            if case .path(let p) = o, p.root != .rule, !out.contains(p.text) { out.append(p.text) }
        }
        add(operand)
        for case .defaultValue(let o) in filters { add(o) }
    }
}

/// A template that does not compile: what is wrong and where.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public var message: String
    /// UTF-8 offset of the problem within the template string.
    public var offset: Int

    /// Makes an error.
    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) (at offset \(offset))" }
}

/// A template that compiled but cannot render for this event.
///
/// The message names the expression and, for missing values, the path; the
/// caller adds the rule's name.
public struct RenderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, e.g. `body.size is missing in {{ body.size | int }} (add | default(...) to allow it)`.
    public var message: String
    /// The envelope path involved, when there is one (`body.size`).
    public var path: String?

    /// Makes an error.
    public init(message: String, path: String? = nil) {
        self.message = message
        self.path = path
    }

    public var description: String { message }
}
