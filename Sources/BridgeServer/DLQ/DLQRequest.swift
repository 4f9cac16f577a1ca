public import BridgeCore
import BridgeConfig
public import BridgeStore
public import Foundation

/// The body of `POST /admin/dlq/replay` and `POST /admin/dlq/purge`.
///
/// ```json
/// {"ids": [41, 42]}
/// {"filter": {"target": "prod", "since": "2h"}, "dry_run": true}
/// {"filter": {}, "new_run_id": true, "rate": 20, "by": "alice"}
/// ```
/// Exactly one of `ids` or `filter` (an empty filter means every dead job: it has to be written
/// out). Unknown keys are errors, so a typo never widens the selection.
public struct AdminDLQRequest: Sendable, Equatable {
    public enum Selection: Sendable, Equatable {
        case ids([Int64])
        case filter(JobFilter)
    }

    public var selection: Selection
    public var dryRun = false
    public var newRunID = false
    /// Replayed jobs per second.
    public var rate: Double = 50
    /// Render again from the stored event with the service's current rules.
    public var rerender = false
    /// Who acts, for the audit log.
    public var by: String?
    /// Purge only: the caller confirms the deletion (or sends `dry_run`).
    public var yes = false

    public init(selection: Selection) { self.selection = selection }

    static let replayKeys = ["ids", "filter", "dry_run", "new_run_id", "rate", "rerender", "by"]
    static let purgeKeys = ["ids", "filter", "dry_run", "yes", "by"]

    /// Reads a request body; the error says what to fix.
    public static func parse(_ body: [UInt8], purge: Bool, now: Date = Date()) throws(JobFilterError) -> AdminDLQRequest {
        let allowed = purge ? purgeKeys : replayKeys
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw JobFilterError("the body must be a JSON object: \(error)")
        }
        guard let o = value.objectValue else { throw JobFilterError("the body must be a JSON object such as {\"ids\": [42]} or {\"filter\": {\"target\": \"prod\"}}") }
        for key in o.keys where !allowed.contains(key) {
            var msg = "unknown key '\(key)' (use \(allowed.joined(separator: ", ")))"
            if let s = didYouMean(key, allowed) { msg += "; did you mean '\(s)'?" }
            throw JobFilterError(msg)
        }
        let selection: Selection
        switch (o["ids"], o["filter"]) {
        case (.some(let ids), nil):
            guard let list = ids.arrayValue, !list.isEmpty else { throw JobFilterError("ids: give a non-empty array of job ids") }
            selection = .ids(
                try list.map { (v: JSONValue) throws(JobFilterError) -> Int64 in
                    guard case .int(let n) = v, n > 0 else { throw JobFilterError("ids: '\(JSONWriter.string(v))' is not a job id (a positive whole number)") }
                    return n
                })
        case (nil, .some(let f)):
            guard let fo = f.objectValue else { throw JobFilterError("filter: give an object such as {\"target\": \"prod\", \"since\": \"2h\"} ({} selects every dead job)") }
            var fields: [(String, String)] = []
            for (k, v) in fo.members {
                switch v {
                case .string(let s): fields.append((k, s))
                case .int(let n): fields.append((k, String(n)))
                default: throw JobFilterError("filter.\(k): give a string or a number")
                }
            }
            let filter = try JobFilter(fields: fields, now: now)
            guard filter.state == .dead else { throw JobFilterError("filter.state: only dead jobs can be selected by filter; name other jobs by id") }
            selection = .filter(filter)
        case (.some, .some): throw JobFilterError("give either ids or filter, not both")
        case (nil, nil): throw JobFilterError("give ids ([42, 43]) or filter ({\"target\": \"prod\"}; {} selects every dead job)")
        }
        var r = AdminDLQRequest(selection: selection)
        func flag(_ key: String) throws(JobFilterError) -> Bool {
            guard let v = o[key] else { return false }
            guard case .bool(let b) = v else { throw JobFilterError("\(key): give true or false") }
            return b
        }
        r.dryRun = try flag("dry_run")
        r.newRunID = try flag("new_run_id")
        r.rerender = try flag("rerender")
        r.yes = try flag("yes")
        if let rate = o["rate"] {
            guard let x = rate.doubleValue, x > 0, x.isFinite else { throw JobFilterError("rate: give a positive number of jobs per second") }
            r.rate = x
        }
        if let by = o["by"] {
            guard case .string(let s) = by, !s.isEmpty else { throw JobFilterError("by: give a non-empty name") }
            r.by = s
        }
        if purge, !r.yes, !r.dryRun { throw JobFilterError("purging deletes jobs for good: send \"yes\": true (or \"dry_run\": true to see which)") }
        return r
    }

    /// The request as a JSON body (what the CLI sends).
    public var json: JSONValue {
        var o = JSONObject()
        switch selection {
        case .ids(let ids): o["ids"] = .array(ids.map { .int($0) })
        case .filter(let f):
            var fo = JSONObject()
            for (k, v) in f.fields where k != "state" { fo[k] = .string(v) }
            o["filter"] = .object(fo)
        }
        if dryRun { o["dry_run"] = true }
        if newRunID { o["new_run_id"] = true }
        if rerender { o["rerender"] = true }
        if yes { o["yes"] = true }
        if rate != 50 { o["rate"] = .double(rate) }
        if let by { o["by"] = .string(by) }
        return .object(o)
    }
}
