public import BridgeCore
import Foundation
import GRDB

/// Read-only views of jobs and events as JSON, shared by `dagbridge dlq show` and the admin API
/// so both print the same document, from either backend.
extension JournalStore {
    /// Everything about one job: summary, the request, its event, attempts and operator actions.
    ///
    /// The shape of `dagbridge dlq show --json` and of `GET /admin/dlq/{id}`. Nil when no such job.
    public func jobDetail(id: Int64) async throws -> JSONValue? {
        guard let job = try await job(id: id) else { return nil }
        let event = try await event(rowID: job.eventRef)
        let attempts = try await attempts(jobID: id)
        let audit = try await audit(jobID: id)
        var o = JSONObject()
        var summary = job.summaryJSON.objectValue ?? JSONObject()
        summary["logical_date"] = job.job.logicalDate.map(JSONValue.string) ?? .null
        summary["note"] = job.job.note.map(JSONValue.string) ?? .null
        o["job"] = .object(summary)
        o["request"] = job.job.json
        o["event"] = event.map { $0.detailJSON } ?? .null
        o["attempts"] = .array(attempts.map(\.json))
        o["audit"] = .array(audit.map(\.json))
        return .object(o)
    }

    /// What happened to an event: its envelope, the rules it matched and the runs they asked for.
    ///
    /// The shape of `GET /admin/events/{id}`: `{"events": [...]}`, one item per source that
    /// delivered this id.
    public func eventDetail(eventID: String, source: String? = nil) async throws -> [JSONValue] {
        var out: [JSONValue] = []
        for event in try await events(eventID: eventID, source: source) {
            let jobs = try await jobs(eventRef: event.rowID)
            var o = event.detailJSON.objectValue ?? JSONObject()
            var rules: [String] = []
            for j in jobs where !rules.contains(j.job.rule) { rules.append(j.job.rule) }
            o["rules_matched"] = .array(rules.map(JSONValue.string))
            o["runs"] = .array(
                jobs.map { j in
                    var r = JSONObject()
                    r["job_id"] = .int(j.id)
                    r["rule"] = .string(j.job.rule)
                    r["target"] = .string(j.job.target)
                    r["dag_id"] = .string(j.job.dagId)
                    r["dag_run_id"] = .string(j.job.dagRunId)
                    r["state"] = .string(j.state.rawValue)
                    r["attempts"] = .int(Int64(j.attempts))
                    r["reason"] = j.lastReason.map(JSONValue.string) ?? .null
                    return .object(r)
                })
            out.append(.object(o))
        }
        return out
    }
}

extension Journal {
    /// Stored events with this event id (from any source, or only `source`), oldest first.
    public func events(eventID: String, source: String?) async throws -> [StoredEvent] {
        try await pool.read { db in
            var sql = "SELECT id FROM events WHERE event_id = ?"
            var args: [any DatabaseValueConvertible] = [eventID]
            if let source {
                sql += " AND source = ?"
                args.append(source)
            }
            let ids = try Int64.fetchAll(db, sql: sql + " ORDER BY id", arguments: StatementArguments(args))
            return try ids.compactMap { try Journal.fetchEvent($0, db) }
        }
    }

    /// The jobs an event produced (render failures included, as dead jobs), in rule order.
    public func jobs(eventRef: Int64) async throws -> [StoredJob] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Journal.jobColumns) FROM jobs WHERE event_ref = ? ORDER BY seq, id", arguments: [eventRef])
                .map(Journal.decodeJob)
        }
    }
}

extension StoredEvent {
    /// The event as shown by `dlq show` and the admin API (raw body as text, lossy for binary).
    public var detailJSON: JSONValue {
        var e = JSONObject()
        e["source"] = .string(source)
        e["id"] = .string(eventID)
        e["received_at"] = .string(ISO8601.format(receivedAt))
        e["envelope"] = envelope
        e["raw_body"] = .string(String(decoding: rawBody, as: UTF8.self))
        return .object(e)
    }
}

extension Journal {
    /// The `envelope` column of an event row exactly as stored, for tests.
    @_spi(Testing) public func storedEnvelopeText(rowID: Int64) async throws -> String? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT envelope FROM events WHERE id = ?", arguments: [rowID]) }
    }

    /// Frames in the WAL now (`PRAGMA wal_checkpoint(PASSIVE)` on the writer), for tests. SQLite
    /// answers -1 while the background ``Checkpointer`` runs its own checkpoint (SQLITE_BUSY): that
    /// is asked again, for up to 5 s, rather than reported as the frame count.
    func walFrames() async throws -> Int {
        var frames = -1
        for _ in 0..<100 {
            frames = try await pool.writeWithoutTransaction { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")?[1] ?? -1 }
            if frames >= 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return frames
    }
}
