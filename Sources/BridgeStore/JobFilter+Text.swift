import BridgeConfig
import BridgeCore
public import Foundation

/// A filter field an operator typed that cannot be used; the message says what to fix.
public struct JobFilterError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension JobFilter {
    /// The field names of a filter as text (URL query parameters, JSON keys of the admin API).
    public static let fieldNames = ["state", "rule", "target", "since", "until", "reason", "limit"]

    /// A time as operators type it: ISO-8601, or a duration meaning "that long ago" (30m, 2h, 7d).
    public static func parseTime(_ text: String, now: Date = Date()) -> Date? {
        if let d = ISO8601.parse(text) { return d }
        if let s = DurationText.seconds(text) { return now.addingTimeInterval(-s) }
        return nil
    }

    /// Builds a filter from text fields; unknown names and unreadable values are errors, so a typo
    /// never widens a bulk replay or purge to every job.
    public init(fields: [(String, String)], defaultState: JobState = .dead, now: Date = Date()) throws(JobFilterError) {
        self.init(state: defaultState)
        for (name, value) in fields {
            switch name {
            case "state":
                guard let s = JobState(rawValue: value) else {
                    throw JobFilterError("state: unknown state '\(value)' (use \(JobState.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                state = s
            case "rule": rule = value
            case "target": target = value
            case "reason": reason = value
            case "since", "until":
                guard let d = Self.parseTime(value, now: now) else {
                    throw JobFilterError("\(name): cannot read '\(value)' as a time; use ISO-8601 (2026-05-01T12:00:00Z) or a duration ago (30m, 2h, 7d)")
                }
                if name == "since" { since = d } else { until = d }
            case "limit":
                guard let l = Int(value), l >= 1 else { throw JobFilterError("limit: must be a whole number of at least 1, found '\(value)'") }
                limit = l
            default:
                var msg = "unknown filter '\(name)' (use \(Self.fieldNames.joined(separator: ", ")))"
                if let s = didYouMean(name, Self.fieldNames) { msg += "; did you mean '\(s)'?" }
                throw JobFilterError(msg)
            }
        }
    }

    /// The filter as text fields (times as ISO-8601), the inverse of ``init(fields:defaultState:now:)``.
    public var fields: [(String, String)] {
        var f: [(String, String)] = [("state", state.rawValue)]
        if let rule { f.append(("rule", rule)) }
        if let target { f.append(("target", target)) }
        if let since { f.append(("since", ISO8601.format(since))) }
        if let until { f.append(("until", ISO8601.format(until))) }
        if let reason { f.append(("reason", reason)) }
        if let limit { f.append(("limit", String(limit))) }
        return f
    }
}
