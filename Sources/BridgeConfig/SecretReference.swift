public import BridgeCore
internal import Foundation

/// Resolves `${env:NAME}` and `${file:/path}` references in configuration values.
///
/// A value may be exactly one reference (the common case for secrets) or text
/// with references inside. Values read from files lose one trailing newline,
/// as `echo secret > file` adds one.
public struct SecretResolver: Sendable {
    /// Where environment variables come from (the process environment by default; tests pass their own).
    public var environment: [String: String]

    public init(environment: [String: String]? = nil) {
        self.environment = environment ?? ProcessInfo.processInfo.environment
    }

    /// Resolves references in a node's scalar. Records a diagnostic (never the secret) on failure.
    public func resolve(_ node: ConfigNode, _ diags: inout Diagnostics) -> Secret? {
        guard let text = node.string(&diags) else { return nil }
        do {
            return try resolve(text)
        } catch {
            diags.error(error.message, at: node)
            return nil
        }
    }

    /// Resolves references in `text`.
    /// - Throws: ``BridgeError`` (`.config`) naming the missing variable or file, never the value.
    public func resolve(_ text: String) throws(BridgeError) -> Secret {
        var out = ""
        var origins: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            out += rest[rest.startIndex..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw BridgeError(.config, "unterminated '${' reference: write ${env:NAME} or ${file:/path}")
            }
            let ref = rest[start.upperBound..<end]
            if ref.hasPrefix("env:") {
                let name = String(ref.dropFirst(4))
                guard !name.isEmpty else { throw BridgeError(.config, "empty variable name in ${env:}") }
                guard let v = environment[name] else {
                    throw BridgeError(.config, "environment variable \(name) is not set (referenced as ${env:\(name)})")
                }
                out += v
                origins.append("env:\(name)")
            } else if ref.hasPrefix("file:") {
                let path = String(ref.dropFirst(5))
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw BridgeError(.config, "secret file \(path) cannot be read (referenced as ${file:\(path)})")
                }
                var v = String(decoding: data, as: UTF8.self)
                if v.hasSuffix("\r\n") { v.removeLast(2) } else if v.hasSuffix("\n") { v.removeLast() }
                out += v
                origins.append("file:\(path)")
            } else {
                throw BridgeError(.config, "unknown reference '${\(ref)}': use ${env:NAME} or ${file:/path}")
            }
            rest = rest[rest.index(after: end)...]
        }
        out += rest
        return Secret(out, origin: origins.isEmpty ? "inline" : origins.joined(separator: "+"))
    }
}
