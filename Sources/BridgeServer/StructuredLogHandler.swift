public import Logging
import BridgeCore
import Foundation
import Synchronization

/// A swift-log handler writing one line per message as logfmt or JSON to stderr (or any sink).
///
/// Metadata (`event_id`, `rule`, `target`, `dag_run_id`, …) becomes fields on the line.
/// Values of metadata keys that look secret (`token`, `password`, `secret`, `authorization`)
/// are redacted, as a second line of defence behind ``Secret``.
public struct StructuredLogHandler: LogHandler {
    /// Output format.
    public enum Format: String, Sendable, CaseIterable {
        case logfmt, json
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public let label: String
    let format: Format
    let sink: LogSink

    public init(label: String, format: Format, level: Logger.Level, sink: LogSink = .standardError) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static let secretKeys = ["token", "password", "secret", "authorization", "api_key", "apikey"]

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("ts", ISO8601.format(Date())), ("level", event.level.rawValue), ("msg", event.message.description),
        ]
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for key in merged.keys.sorted() {
            let lower = key.lowercased()
            let value = Self.secretKeys.contains(where: { lower.contains($0) }) ? "<redacted>" : "\(merged[key]!)"
            fields.append((key, value))
        }
        if event.level >= .warning || logLevel <= .debug { fields.append(("src", "\(event.source)")) }
        let line: String
        switch format {
        case .json:
            var o = JSONObject()
            for (k, v) in fields { o[k] = .string(v) }
            line = JSONWriter.string(.object(o))
        case .logfmt:
            line = fields.map { "\($0.0)=\(Self.logfmtValue($0.1))" }.joined(separator: " ")
        }
        sink.write(line)
    }

    /// Quotes a logfmt value when it has spaces, quotes, `=` or control characters.
    static func logfmtValue(_ v: String) -> String {
        let needsQuotes = v.isEmpty || v.utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") || $0 == 0x7F }
        guard needsQuotes else { return v }
        var out = [UInt8]()
        JSONWriter.writeString(v, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Where log lines go: stderr, or a buffer tests read.
public final class LogSink: Sendable {
    private let capture: Bool
    // Lock around captured lines (only used when capturing).
    private let lines = Mutex<[String]>([])
    private init(capture: Bool) { self.capture = capture }

    /// Writes to standard error.
    public static let standardError = LogSink(capture: false)
    /// Keeps lines in memory (tests).
    public static func capturing() -> LogSink { LogSink(capture: true) }

    /// The captured lines.
    public var captured: [String] { lines.withLock { $0 } }

    func write(_ line: String) {
        if capture {
            lines.withLock { $0.append(line) }
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}
