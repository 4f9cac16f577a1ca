import BridgeConfig
import BridgeCore

/// Compiles template text into ``TemplatePart``s: a scannerless recursive-descent
/// parser over the UTF-8 bytes, so a `}` inside a literal (`default({})`) or a
/// string (`'}}'`) never ends an expression early.
struct TemplateParser {
    private let u: [UInt8]
    private var pos = 0

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

    private mutating func parseOperand() throws(TemplateError) -> Operand {
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

    private mutating func parsePath(root name: String, at start: Int) throws(TemplateError) -> PathExpr {
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

    // MARK: Filters

    private mutating func parseFilter() throws(TemplateError) -> Filter {
        let start = pos
        guard let c = peek, isIdentStart(c) else {
            throw TemplateError(message: "expected a filter name after '|', found \(describeHere())", offset: pos)
        }
        let name = readIdent()
        var args: [(Operand, Int)] = []
        var hasParens = false
        if peek == UInt8(ascii: "(") {
            hasParens = true
            pos += 1
            skipSpaces()
            if peek == UInt8(ascii: ")") {
                pos += 1
            } else {
                while true {
                    skipSpaces()
                    let at = pos
                    args.append((try parseOperand(), at))
                    skipSpaces()
                    if peek == UInt8(ascii: ",") {
                        pos += 1
                        continue
                    }
                    guard peek == UInt8(ascii: ")") else {
                        if atEnd { throw TemplateError(message: "'(' of filter '\(name)' is not closed by ')'", offset: start) }
                        throw TemplateError(message: "expected ',' or ')' in the arguments of '\(name)', found \(describeHere())", offset: pos)
                    }
                    pos += 1
                    break
                }
            }
        }
        return try makeFilter(name, args, at: start, hasParens: hasParens)
    }

    private func makeFilter(_ name: String, _ args: [(Operand, Int)], at start: Int, hasParens: Bool) throws(TemplateError) -> Filter {
        func arity(_ n: Int, _ what: String) throws(TemplateError) {
            guard args.count == n else {
                let wanted = n == 0 ? "no arguments" : n == 1 ? "1 argument (\(what))" : "\(n) arguments (\(what))"
                throw TemplateError(message: "filter '\(name)' takes \(wanted), got \(args.count)", offset: start)
            }
        }
        func literalString(_ i: Int) throws(TemplateError) -> String {
            guard case .literal(.string(let s)) = args[i].0 else {
                throw TemplateError(message: "argument \(i + 1) of '\(name)' must be a quoted string", offset: args[i].1)
            }
            return s
        }
        switch name {
        case "default":
            try arity(1, "the value to use when missing or null")
            return .defaultValue(args[0].0)
        case "string", "int", "float", "bool", "json", "fromjson", "b64decode", "b64encode", "lower", "upper", "trim", "slug",
            "sha256":
            try arity(0, "")
            switch name {
            case "string": return .string
            case "int": return .int
            case "float": return .float
            case "bool": return .bool
            case "json": return .json
            case "fromjson": return .fromjson
            case "b64decode": return .b64decode
            case "b64encode": return .b64encode
            case "lower": return .lower
            case "upper": return .upper
            case "trim": return .trim
            case "slug": return .slug
            default: return .sha256
            }
        case "replace":
            try arity(2, "the text to find and its replacement")
            let find = try literalString(0)
            guard !find.isEmpty else {
                throw TemplateError(message: "the text to find in 'replace' must not be empty", offset: args[0].1)
            }
            return .replace(find, try literalString(1))
        case "truncate":
            try arity(1, "the maximum number of characters")
            guard case .literal(.int(let n)) = args[0].0, n >= 0, let count = Int(exactly: n) else {
                throw TemplateError(message: "the argument of 'truncate' must be a whole number ≥ 0", offset: args[0].1)
            }
            return .truncate(count)
        case "date":
            if args.isEmpty { return .date(nil) }
            try arity(1, "a format such as '%Y-%m-%d'")
            let format = try literalString(0)
            switch DateFormat.compile(format) {
            case .success(let f): return .date(f)
            case .failure(let e):
                throw TemplateError(
                    message: "unknown directive '\(e.directive)' in the date format (known: \(DateFormat.directives))",
                    offset: args[0].1 + 1 + e.offset)
            }
        case "now":
            throw TemplateError(
                message: "'now' is a value, not a filter: write {{ now }} or {{ now | date('%Y-%m-%d') }}", offset: start)
        default:
            var msg = "unknown filter '\(name)'"
            if let s = didYouMean(name, Filter.names) { msg += "; did you mean '\(s)'?" }
            msg += " (filters: \(Filter.names.joined(separator: ", ")))"
            throw TemplateError(message: msg, offset: start)
        }
    }

    // MARK: Literals

    private mutating func parseLiteral(depth: Int) throws(TemplateError) -> JSONValue {
        guard let c = peek else { throw TemplateError(message: "expected a value, found the end of the template", offset: pos) }
        if depth > TemplateParser.maxLiteralDepth {
            throw TemplateError(message: "literal nested deeper than \(TemplateParser.maxLiteralDepth) levels", offset: pos)
        }
        switch c {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        case UInt8(ascii: "{"):
            let open = pos
            pos += 1
            var object = JSONObject()
            skipSpaces()
            if peek == UInt8(ascii: "}") {
                pos += 1
                return .object(object)
            }
            while true {
                skipSpaces()
                guard let q = peek, q == UInt8(ascii: "'") || q == UInt8(ascii: "\"") else {
                    if atEnd { throw TemplateError(message: "'{' is not closed by '}'", offset: open) }
                    throw TemplateError(message: "object keys must be quoted strings, found \(describeHere())", offset: pos)
                }
                let key = try parseString()
                skipSpaces()
                guard peek == UInt8(ascii: ":") else {
                    throw TemplateError(message: "expected ':' after an object key, found \(describeHere())", offset: pos)
                }
                pos += 1
                skipSpaces()
                object[key] = try parseLiteral(depth: depth + 1)
                skipSpaces()
                if peek == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                guard peek == UInt8(ascii: "}") else {
                    if atEnd { throw TemplateError(message: "'{' is not closed by '}'", offset: open) }
                    throw TemplateError(message: "expected ',' or '}' in an object, found \(describeHere())", offset: pos)
                }
                pos += 1
                return .object(object)
            }
        case UInt8(ascii: "["):
            let open = pos
            pos += 1
            var items: [JSONValue] = []
            skipSpaces()
            if peek == UInt8(ascii: "]") {
                pos += 1
                return .array(items)
            }
            while true {
                skipSpaces()
                items.append(try parseLiteral(depth: depth + 1))
                skipSpaces()
                if peek == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                guard peek == UInt8(ascii: "]") else {
                    if atEnd { throw TemplateError(message: "'[' is not closed by ']'", offset: open) }
                    throw TemplateError(message: "expected ',' or ']' in a list, found \(describeHere())", offset: pos)
                }
                pos += 1
                return .array(items)
            }
        default:
            if isIdentStart(c) {
                let start = pos
                let word = readIdent()
                switch word {
                case "true": return .bool(true)
                case "false": return .bool(false)
                case "null": return .null
                default:
                    throw TemplateError(message: "expected a literal value inside a literal, found '\(word)'", offset: start)
                }
            }
            throw TemplateError(message: "expected a path or a value, found \(describeHere())", offset: pos)
        }
    }

    /// A quoted string with `\\ \' \" \n \r \t \/ \uXXXX` escapes.
    private mutating func parseString() throws(TemplateError) -> String {
        let quote = u[pos]
        let open = pos
        pos += 1
        var out: [UInt8] = []
        while pos < u.count {
            let c = u[pos]
            if c == quote {
                pos += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") {
                guard pos + 1 < u.count else { break }
                let e = u[pos + 1]
                switch e {
                case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard pos + 6 <= u.count, let v = UInt32(string(pos + 2, pos + 6), radix: 16), let scalar = Unicode.Scalar(v) else {
                        throw TemplateError(message: "\\u must be followed by 4 hex digits of a Unicode scalar", offset: pos)
                    }
                    out.append(contentsOf: String(Character(scalar)).utf8)
                    pos += 6
                    continue
                default:
                    throw TemplateError(
                        message: "unknown escape '\\\(String(decoding: [e], as: UTF8.self))' (known: \\\\ \\' \\\" \\n \\r \\t \\/ \\uXXXX)",
                        offset: pos)
                }
                pos += 2
                continue
            }
            out.append(c)
            pos += 1
        }
        throw TemplateError(message: "string is not closed by \(quote == UInt8(ascii: "'") ? "'" : "\"")", offset: open)
    }

    /// `-?digits(.digits)?([eE][+-]?digits)?`: an integer when there is no fraction or exponent.
    private mutating func parseNumber() throws(TemplateError) -> JSONValue {
        let start = pos
        var isInt = true
        if peek == UInt8(ascii: "-") { pos += 1 }
        let digitsStart = pos
        while let c = peek, isDigit(c) { pos += 1 }
        guard pos > digitsStart else { throw TemplateError(message: "expected a number, found \(describeHere())", offset: start) }
        if peek == UInt8(ascii: "."), pos + 1 < u.count, isDigit(u[pos + 1]) {
            isInt = false
            pos += 1
            while let c = peek, isDigit(c) { pos += 1 }
        }
        if let c = peek, c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            isInt = false
            pos += 1
            if let s = peek, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { pos += 1 }
            let expStart = pos
            while let c = peek, isDigit(c) { pos += 1 }
            guard pos > expStart else { throw TemplateError(message: "number has an empty exponent", offset: start) }
        }
        if let c = peek, isIdentStart(c) {
            throw TemplateError(message: "unexpected '\(String(decoding: [c], as: UTF8.self))' after a number", offset: pos)
        }
        let text = string(start, pos)
        if isInt {
            guard let i = Int64(text) else { throw TemplateError(message: "\(text) does not fit a 64-bit integer", offset: start) }
            return .int(i)
        }
        guard let d = Double(text), d.isFinite else { throw TemplateError(message: "\(text) is not a finite number", offset: start) }
        return .double(d)
    }

    // MARK: Bytes

    private var peek: UInt8? { pos < u.count ? u[pos] : nil }
    private var atEnd: Bool { pos >= u.count }
    private var atClose: Bool { pos + 1 < u.count && u[pos] == UInt8(ascii: "}") && u[pos + 1] == UInt8(ascii: "}") }

    private mutating func skipSpaces() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { pos += 1 }
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private func isIdentStart(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || c == UInt8(ascii: "_")
    }

    private mutating func readIdent() -> String {
        let start = pos
        while let c = peek, isIdentStart(c) || isDigit(c) || c == UInt8(ascii: "-") { pos += 1 }
        return string(start, pos)
    }

    private mutating func readDigitsPreview() -> String {
        var end = pos
        while end < u.count, isDigit(u[end]) { end += 1 }
        return string(pos, end)
    }

    private func string(_ from: Int, _ to: Int) -> String {
        String(decoding: u[from..<to], as: UTF8.self)
    }

    /// The next few characters, quoted, or "the end of the template".
    private func describeHere() -> String {
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
