import BridgeConfig
import BridgeCore

extension TemplateParser {
    /// `name` or `name(arg, …)` after a `|`, checked into a ``Filter``.
    mutating func parseFilter() throws(TemplateError) -> Filter {
        let start = pos
        guard let c = peek, isIdentStart(c) else {
            throw TemplateError(message: "expected a filter name after '|', found \(describeHere())", offset: pos)
        }
        let name = readIdent()
        var args: [(Operand, Int)] = []
        if peek == UInt8(ascii: "(") {
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
        return try makeFilter(name, args, at: start)
    }

    private func makeFilter(_ name: String, _ args: [(Operand, Int)], at start: Int) throws(TemplateError) -> Filter {
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
}
