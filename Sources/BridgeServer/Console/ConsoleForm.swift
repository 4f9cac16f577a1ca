import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body or a query string: repeated names keep every value.
public struct ConsoleForm: Sendable {
    private(set) var pairs: [(String, String)] = []

    /// Largest form body the console reads (the "try an event" form has its own, larger limit).
    static let maxBody = 64 * 1024

    /// A form with these fields, in order.
    public init(pairs: [(String, String)]) { self.pairs = pairs }

    /// Parses `a=1&b=x+y%21`; nil for bytes that are not percent-encoded UTF-8.
    init?(encoded text: Substring) {
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(kv[0]), let value = Self.decode(kv.count > 1 ? kv[1] : "") else { return nil }
            pairs.append((name, value))
        }
    }

    private static func decode(_ s: Substring) -> String? {
        s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// The first value of `name`, nil when absent; "" counts as absent for filters via ``nonEmpty(_:)``.
    subscript(_ name: String) -> String? { pairs.first { $0.0 == name }?.1 }

    /// The first value of `name` with surrounding spaces removed, nil when absent or empty.
    func nonEmpty(_ name: String) -> String? {
        guard let v = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }

    /// Every value of `name`, in order.
    func all(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }

    /// Reads a form body of at most `limit` bytes.
    /// - Throws: ``ConsoleError`` 413 when larger, 400 when not a form.
    static func read(_ request: Request, limit: Int = maxBody) async throws(ConsoleError) -> ConsoleForm {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw ConsoleError(.contentTooLarge, "The form is larger than \(limit / 1024) KiB; nothing was done.")
        }
        let type = request.headers[.contentType] ?? ""
        guard type.lowercased().hasPrefix("application/x-www-form-urlencoded") else {
            throw ConsoleError(.unsupportedMediaType, "Send the form as application/x-www-form-urlencoded; nothing was done.")
        }
        guard let form = ConsoleForm(encoded: Substring(String(buffer: buffer))) else {
            throw ConsoleError(.badRequest, "The form is not percent-encoded UTF-8; nothing was done.")
        }
        return form
    }

    /// The query string of a request.
    static func query(_ request: Request) -> ConsoleForm {
        ConsoleForm(encoded: Substring(request.uri.query ?? "")) ?? ConsoleForm(pairs: [])
    }

    /// The value of cookie `name` in a request, if any.
    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for item in header.split(separator: ";") {
                let kv = item.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == name { return kv[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return nil
    }
}
