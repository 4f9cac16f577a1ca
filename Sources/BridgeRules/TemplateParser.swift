import BridgeConfig
import BridgeCore

/// Compiles template text into ``TemplatePart``s: a scannerless recursive-descent
/// parser over the UTF-8 bytes, so a `}` inside a literal (`default({})`) or a
/// string (`'}}'`) never ends an expression early.
struct TemplateParser {
    let u: [UInt8]
    var pos = 0

    /// Deepest nesting of `{…}`/`[…]` literals accepted.
    static let maxLiteralDepth = 32

    private init(_ text: String) { u = Array(text.utf8) }

    static func parse(_ text: String) throws(TemplateError) -> [TemplatePart] {
        var p = TemplateParser(text)
        return try p.parseTemplate()
    }

    // MARK: Template level

    private mutating func parseTemplate() throws(TemplateError) -> [TemplatePart] {
        var parts: [TemplatePart] = []
        var literalStart = 0
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "{"), i + 1 < u.count, u[i + 1] == UInt8(ascii: "{") {
                if literalStart < i { parts.append(.text(string(literalStart, i))) }
                let open = i
                pos = i + 2
                skipSpaces()
                if atEnd { throw unclosed(open) }
                if atClose { throw TemplateError(message: "empty expression '{{ }}': put a path, literal or filter chain inside", offset: open) }
                let (operand, filters) = try parseExpr()
                skipSpaces()
                guard atClose else {
                    if atEnd { throw unclosed(open) }
                    throw TemplateError(message: "expected '|' or '}}' after the expression, found \(describeHere())", offset: pos)
                }
                pos += 2
                parts.append(.expr(Expr(operand: operand, filters: filters, source: string(open, pos))))
                i = pos
                literalStart = i
            } else if u[i] == UInt8(ascii: "}"), i + 1 < u.count, u[i + 1] == UInt8(ascii: "}") {
                throw TemplateError(
                    message: "'}}' without an opening '{{' (write {{ '}}' }} for a literal '}}')", offset: i)
            } else {
                i += 1
            }
        }
        if literalStart < u.count { parts.append(.text(string(literalStart, u.count))) }
        return parts
    }

    private func unclosed(_ open: Int) -> TemplateError {
        TemplateError(message: "'{{' is not closed by '}}' (write {{ '{{' }} for a literal '{{')", offset: open)
    }

    // MARK: Expressions

    private mutating func parseExpr() throws(TemplateError) -> (Operand, [Filter]) {
        let operand = try parseOperand()
        var filters: [Filter] = []
        while true {
            skipSpaces()
            guard peek == UInt8(ascii: "|") else { break }
            pos += 1
            skipSpaces()
            filters.append(try parseFilter())
        }
        return (operand, filters)
    }

    mutating func parseOperand() throws(TemplateError) -> Operand {
        guard let c = peek else { throw TemplateError(message: "expected a path or a value, found the end of the template", offset: pos) }
        if isIdentStart(c) {
            let start = pos
            let name = readIdent()
            switch name {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            case "now":
                if peek == UInt8(ascii: ".") || peek == UInt8(ascii: "[") {
                    throw TemplateError(message: "'now' is a timestamp string and has no fields", offset: pos)
                }
                return .now
            default:
                return .path(try parsePath(root: name, at: start))
            }
        }
        return .literal(try parseLiteral(depth: 0))
    }

    mutating func parsePath(root name: String, at start: Int) throws(TemplateError) -> PathExpr {
        guard let root = PathRoot.named(name) else {
            var names = PathRoot.allCases.map(\.name)
            names.append("now")
            var msg = "unknown name '\(name)'"
            if let s = didYouMean(name, names) { msg += "; did you mean '\(s)'?" }
            msg += " (paths start with \(names.joined(separator: ", ")); quote text as 'text')"
            throw TemplateError(message: msg, offset: start)
        }
        var segments: [PathSegment] = []
        var text = root.name
        while let c = peek, c == UInt8(ascii: ".") || c == UInt8(ascii: "[") {
            if root.isScalar {
                throw TemplateError(message: "'\(root.name)' is a string and has no fields or elements", offset: pos)
            }
            if c == UInt8(ascii: ".") {
                pos += 1
                guard let n = peek, isIdentStart(n) else {
                    if let n = peek, n >= UInt8(ascii: "0"), n <= UInt8(ascii: "9") {
                        throw TemplateError(message: "write an index in brackets: [\(readDigitsPreview())]", offset: pos)
                    }
                    throw TemplateError(
                        message: "expected a field name after '.', found \(describeHere()) (use [\"…\"] for other keys)", offset: pos)
                }
                let key = readIdent()
                segments.append(.key(key))
                text += "." + key
            } else {
                pos += 1
                skipSpaces()
                guard let n = peek else { throw TemplateError(message: "'[' is not closed by ']'", offset: pos) }
                if n == UInt8(ascii: "'") || n == UInt8(ascii: "\"") {
                    var key = try parseString()
                    if root == .headers && segments.isEmpty { key = key.lowercased() }
                    segments.append(.key(key))
                    text += PathParsing.canonicalKey(key)
                } else if n == UInt8(ascii: "-") || (n >= UInt8(ascii: "0") && n <= UInt8(ascii: "9")) {
                    let at = pos
                    guard case .int(let i) = try parseNumber(), let index = Int(exactly: i) else {
                        throw TemplateError(message: "an index must be a whole number", offset: at)
                    }
                    segments.append(.index(index))
                    text += "[\(index)]"
                } else {
                    throw TemplateError(
                        message: "expected a quoted key or a whole number inside [ ], found \(describeHere())", offset: pos)
                }
                skipSpaces()
                guard peek == UInt8(ascii: "]") else {
                    throw TemplateError(message: "expected ']', found \(describeHere())", offset: pos)
                }
                pos += 1
            }
        }
        return PathExpr(root: root, segments: segments, text: text)
    }

    // MARK: Bytes

    var peek: UInt8? { pos < u.count ? u[pos] : nil }
    var atEnd: Bool { pos >= u.count }
    var atClose: Bool { pos + 1 < u.count && u[pos] == UInt8(ascii: "}") && u[pos + 1] == UInt8(ascii: "}") }

    mutating func skipSpaces() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { pos += 1 }
    }

    func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    func isIdentStart(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || c == UInt8(ascii: "_")
    }

    mutating func readIdent() -> String {
        let start = pos
        while let c = peek, isIdentStart(c) || isDigit(c) || c == UInt8(ascii: "-") { pos += 1 }
        return string(start, pos)
    }

    mutating func readDigitsPreview() -> String {
        var end = pos
        while end < u.count, isDigit(u[end]) { end += 1 }
        return string(pos, end)
    }

    func string(_ from: Int, _ to: Int) -> String {
        String(decoding: u[from..<to], as: UTF8.self)
    }

    /// The next few characters, quoted, or "the end of the template".
    func describeHere() -> String {
        guard pos < u.count else { return "the end of the template" }
        if atClose { return "'}}'" }
        var end = min(u.count, pos + 12)
        while end < u.count, end > pos, (u[end] & 0xC0) == 0x80 { end += 1 }
        return "'\(string(pos, end))'"
    }
}

enum PathParsing {
    /// `.key` when the key is a plain name, else `["key"]` with JSON escaping.
    static func canonicalKey(_ key: String) -> String {
        var plain = !key.isEmpty
        for (n, c) in key.utf8.enumerated() {
            let letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95
            let other = (c >= 48 && c <= 57) || c == 45
            if !(letter || (n > 0 && other)) {
                plain = false
                break
            }
        }
        if plain { return "." + key }
        var out: [UInt8] = [UInt8(ascii: "[")]
        JSONWriter.writeString(key, into: &out)
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }
}
