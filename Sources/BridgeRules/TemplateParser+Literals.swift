import BridgeCore

extension TemplateParser {
    /// A JSON-like literal: quoted strings, numbers, `true`/`false`/`null`, `{…}` and `[…]`.
    mutating func parseLiteral(depth: Int) throws(TemplateError) -> JSONValue {
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
    mutating func parseString() throws(TemplateError) -> String {
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
    mutating func parseNumber() throws(TemplateError) -> JSONValue {
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
}
