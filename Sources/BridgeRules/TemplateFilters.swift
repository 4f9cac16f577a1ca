import BridgeCore
import Crypto
import Foundation

extension Filter {
    /// Applies a filter (other than `default`) to a present value.
    func apply(_ v: JSONValue, expr: Expr, ctx: RenderContext) throws(RenderError) -> JSONValue {
        switch self {
        case .defaultValue:
            return v
        case .string:
            if case .string = v { return v }
            return .string(TemplateText.text(v))
        case .int:
            return try Filter.toInt(v, expr)
        case .float:
            return try Filter.toFloat(v, expr)
        case .bool:
            return try Filter.toBool(v, expr)
        case .json:
            return .string(JSONWriter.string(v))
        case .fromjson:
            guard case .string(let s) = v else { throw Filter.error("fromjson", "needs JSON text, got \(TemplateText.describe(v))", expr) }
            do {
                return try JSONParser.parse(s)
            } catch {
                throw Filter.error("fromjson", "the text is not JSON (\(error.description)): \(TemplateText.quote(s))", expr)
            }
        case .b64decode:
            guard case .string(let s) = v else { throw Filter.error("b64decode", "needs base64 text, got \(TemplateText.describe(v))", expr) }
            switch Base64.decodeChecked(s) {
            case .success(let bytes):
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw Filter.error("b64decode", "the decoded bytes are not UTF-8 text", expr)
                }
                return .string(text)
            case .failure(let e):
                throw Filter.error("b64decode", "\(e.message) in \(TemplateText.quote(s))", expr)
            }
        case .b64encode:
            return .string(Base64.encode(Array(TemplateText.text(v).utf8)))
        case .lower:
            return .string(TemplateText.text(v).lowercased())
        case .upper:
            return .string(TemplateText.text(v).uppercased())
        case .trim:
            return .string(TemplateText.trim(TemplateText.text(v)))
        case .slug:
            return .string(TemplateText.slug(TemplateText.text(v)))
        case .sha256:
            let digest = SHA256.hash(data: Array(TemplateText.text(v).utf8))
            return .string(Hex.encode(digest))
        case .replace(let find, let with):
            guard let s = TemplateText.replace(TemplateText.text(v), find, with, limit: ctx.maxTextBytes) else {
                throw Filter.error("replace", "the result would be longer than \(ctx.maxTextBytes) bytes", expr)
            }
            return .string(s)
        case .truncate(let n):
            if case .string(let s) = v, s.utf8.count <= n { return v }
            let s = TemplateText.text(v)
            if s.utf8.count <= n { return .string(s) }
            return .string(String(s.prefix(n)))
        case .date(let format):
            guard let secs = DateFormat.seconds(of: v) else {
                throw Filter.error(
                    "date", "needs ISO-8601 text (2024-05-01T12:00:00Z) or epoch seconds, got \(TemplateText.describe(v))", expr)
            }
            guard let format else {
                return .string(ISO8601.format(Date(timeIntervalSince1970: secs)))
            }
            return .string(format.format(secs))
        }
    }

    static func error(_ filter: String, _ what: String, _ expr: Expr) -> RenderError {
        RenderError(message: "\(filter) in \(expr.source): \(what)", path: expr.operand.pathText)
    }

    private static func toInt(_ v: JSONValue, _ expr: Expr) throws(RenderError) -> JSONValue {
        switch v {
        case .int: return v
        case .double(let d):
            if let i = Int64(exactly: d.rounded(.towardZero)) { return .int(i) }
        case .bool(let b): return .int(b ? 1 : 0)
        case .string(let s):
            let t = TemplateText.trim(s)
            if let i = Int64(t) { return .int(i) }
            if TemplateText.isDecimal(t), let d = Double(t), let i = Int64(exactly: d.rounded(.towardZero)) { return .int(i) }
        default: break
        }
        throw error("int", "cannot convert \(TemplateText.describe(v)) to a whole number", expr)
    }

    private static func toFloat(_ v: JSONValue, _ expr: Expr) throws(RenderError) -> JSONValue {
        switch v {
        case .int(let i): return .double(Double(i))
        case .double: return v
        case .bool(let b): return .double(b ? 1 : 0)
        case .string(let s):
            let t = TemplateText.trim(s)
            if TemplateText.isDecimal(t), let d = Double(t), d.isFinite { return .double(d) }
        default: break
        }
        throw error("float", "cannot convert \(TemplateText.describe(v)) to a number", expr)
    }

    private static func toBool(_ v: JSONValue, _ expr: Expr) throws(RenderError) -> JSONValue {
        switch v {
        case .bool: return v
        case .null: return .bool(false)
        case .int(let i): return .bool(i != 0)
        case .double(let d): return .bool(d != 0)
        case .string(let s):
            switch TemplateText.trim(s).lowercased() {
            case "true", "yes", "on", "1", "y", "t": return .bool(true)
            case "false", "no", "off", "0", "n", "f", "": return .bool(false)
            default: break
            }
        default: break
        }
        throw error("bool", "cannot convert \(TemplateText.describe(v)) to true or false (use true/false, yes/no, on/off, 1/0)", expr)
    }
}
