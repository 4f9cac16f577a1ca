import BridgeCore

// The compiled form of a template: paths are pre-split into segments, filter
// arguments are parsed and checked, and `date` formats are pre-compiled, so
// rendering never looks at template text again.

/// Where a path starts: one member of the event envelope, or the rule's name.
enum PathRoot: Sendable, CaseIterable {
    case id, source, receivedAt, headers, body, kafka, cloudevent, rule

    /// The name written in templates.
    var name: String {
        switch self {
        case .id: return "id"
        case .source: return "source"
        case .receivedAt: return "received_at"
        case .headers: return "headers"
        case .body: return "body"
        case .kafka: return "kafka"
        case .cloudevent: return "cloudevent"
        case .rule: return "rule"
        }
    }

    /// `true` for roots that are always strings, so a field or index after them is a mistake.
    var isScalar: Bool {
        switch self {
        case .id, .source, .receivedAt, .rule: return true
        case .headers, .body, .kafka, .cloudevent: return false
        }
    }

    /// Looks a root up by its template name.
    static func named(_ name: String) -> PathRoot? {
        allCases.first { $0.name == name }
    }
}

/// One step of a path after its root.
enum PathSegment: Sendable, Equatable {
    /// `.name` or `["name"]`.
    case key(String)
    /// `[3]`; negative counts from the end (`[-1]` is the last element).
    case index(Int)
}

/// A compiled path such as `body.items[0].id`.
///
/// A class so that reading it while rendering costs one retain, not one per field.
final class PathExpr: Sendable {
    let root: PathRoot
    let segments: [PathSegment]
    /// Canonical text (`body.items[0].id`, `headers["x-github-event"]`), used in messages and `referencedPaths`.
    let text: String

    init(root: PathRoot, segments: [PathSegment], text: String) {
        self.root = root
        self.segments = segments
        self.text = text
    }
}

/// The value an expression starts from.
enum Operand: Sendable {
    case literal(JSONValue)
    case path(PathExpr)
    /// The render context's clock, as ISO-8601 text.
    case now
}

/// One compiled filter with its checked arguments.
enum Filter: Sendable {
    case defaultValue(Operand)
    case string, int, float, bool, json, fromjson, b64decode, b64encode
    case lower, upper, trim, slug, sha256
    /// Text to find (never empty) and its replacement.
    case replace(String, String)
    /// Maximum number of characters (grapheme clusters), ≥ 0.
    case truncate(Int)
    /// `nil`: ISO-8601 UTC with milliseconds.
    case date(DateFormat?)

    /// Every filter name, for did-you-mean suggestions.
    static let names = [
        "default", "string", "int", "float", "bool", "json", "fromjson", "b64decode", "b64encode",
        "lower", "upper", "trim", "replace", "slug", "sha256", "truncate", "date",
    ]
}

/// `operand | filter | filter …`, as written between `{{` and `}}`.
///
/// A class so that templates and their parts copy with one retain while rendering.
final class Expr: Sendable {
    let operand: Operand
    let filters: [Filter]
    /// The expression's text including its braces, for error messages.
    let source: String

    init(operand: Operand, filters: [Filter], source: String) {
        self.operand = operand
        self.filters = filters
        self.source = source
    }
}

/// A piece of a template string.
enum TemplatePart: Sendable {
    case text(String)
    case expr(Expr)
}
