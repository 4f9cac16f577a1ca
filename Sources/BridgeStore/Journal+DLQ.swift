public import BridgeCore
public import Foundation
import GRDB

/// Options of a replay.
public struct ReplayOptions: Sendable, Equatable {
    /// Give each replayed job a new run id (`<run id>__r<n>`), so Airflow creates a second run on purpose.
    public var newRunID: Bool
    /// Jobs per second the replayed jobs become due at, so a bulk replay cannot starve live traffic.
    public var rate: Double
    /// Compute and report, change nothing.
    public var dryRun: Bool
    /// Text recorded in the audit log (e.g. `rerender`).
    public var note: String

    public init(newRunID: Bool = false, rate: Double = 50, dryRun: Bool = false, note: String = "") {
        self.newRunID = newRunID
        self.rate = rate
        self.dryRun = dryRun
        self.note = note
    }
}

/// What a replay or purge did (or, in a dry run, would do) to one job.
public struct DLQActionResult: Sendable, Equatable {
    public var jobID: Int64
    /// `true` when the job was (or would be) replayed or purged.
    public var ok: Bool
    /// The run id sent before, and the one the replay will send.
    public var oldRunID: String?
    public var newRunID: String?
    /// When the replayed job becomes due.
    public var dueAt: Date?
    /// Why the job was skipped, or what changed.
    public var message: String

    public init(jobID: Int64, ok: Bool, oldRunID: String? = nil, newRunID: String? = nil, dueAt: Date? = nil, message: String) {
        self.jobID = jobID
        self.ok = ok
        self.oldRunID = oldRunID
        self.newRunID = newRunID
        self.dueAt = dueAt
        self.message = message
    }

    /// The result as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        o["id"] = .int(jobID)
        o["ok"] = .bool(ok)
        o["old_run_id"] = oldRunID.map(JSONValue.string) ?? .null
        o["new_run_id"] = newRunID.map(JSONValue.string) ?? .null
        o["due_at"] = dueAt.map { .string(ISO8601.format($0)) } ?? .null
        o["message"] = .string(message)
        return .object(o)
    }
}

extension Journal {
    /// Jobs matching `filter`, oldest update first (newest first with ``JobFilter/newestFirst``).
    ///
    /// Every order and cursor is a range of `jobs_state_updated (state, updated_at)` (the rowid
    /// `id` is its implicit last column), so a page deep in a 100,000-job DLQ reads one page of rows.
    public func jobs(matching filter: JobFilter) async throws -> [StoredJob] {
        let order = filter.newestFirst ? " ORDER BY updated_at DESC, id DESC" : " ORDER BY updated_at, id"
        return try await pool.read { db in
            // A windowed reason search: first where the window ends (an index-only offset), then the
            // filter bounded by it, so the walk stops at the page's last match or the window's end.
            let (whereSQL, whereArgs) = Journal.filterSQL(filter, bound: try Journal.windowBound(filter, db))
            var sql = "SELECT \(Journal.jobColumns) FROM jobs WHERE " + whereSQL + order
            var args = whereArgs
            if let l = filter.limit {
                sql += " LIMIT ?"
                args.append(l)
            }
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map(Journal.decodeJob)
        }
    }

    /// How many jobs match `filter` (its limit and cursor ignored), counting at most `upTo`: a
    /// caller that shows "more than 1,000" never scans the whole DLQ to say so.
    public func countJobs(matching filter: JobFilter, upTo: Int) async throws -> Int {
        var f = filter
        f.cursor = nil
        let uncursored = f
        return try await pool.read { db in
            let (whereSQL, whereArgs) = Journal.filterSQL(uncursored, bound: try Journal.windowBound(uncursored, db))
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE \(whereSQL) LIMIT ?)", arguments: StatementArguments(whereArgs + [upTo])) ?? 0
        }
    }

    /// The last job of the window a ``JobFilter/scanLimit`` search looks at (the reason ignored),
    /// nil when the window reaches the end of the matching jobs.
    public func scanEnd(matching filter: JobFilter) async throws -> JobCursor? {
        try await pool.read { db in try Journal.windowBound(filter, db) }
    }

    /// Where a reason search's window ends: the `scanLimit`-th job matching the other fields after
    /// the cursor, read from the index alone; nil without a window or when fewer jobs remain.
    static func windowBound(_ filter: JobFilter, _ db: Database) throws -> JobCursor? {
        guard let scan = filter.scanLimit, filter.reason != nil else { return nil }
        var f = filter
        f.reason = nil
        let (whereSQL, whereArgs) = filterSQL(f, bound: nil)
        let order = f.newestFirst ? " ORDER BY updated_at DESC, id DESC" : " ORDER BY updated_at, id"
        let sql = "SELECT updated_at, id FROM jobs WHERE \(whereSQL)\(order) LIMIT 1 OFFSET ?"
        return try Row.fetchOne(db, sql: sql, arguments: StatementArguments(whereArgs + [scan - 1])).map { JobCursor(updatedAt: $0[0], id: $0[1]) }
    }

    /// The `WHERE` clause of a filter (without its limit) and its arguments.
    static func filterSQL(_ filter: JobFilter, bound: JobCursor?) -> (String, [(any DatabaseValueConvertible)?]) {
        var sql = "state = ?"
        var args: [(any DatabaseValueConvertible)?] = [filter.state.rawValue]
        if let r = filter.rule {
            sql += " AND rule = ?"
            args.append(r)
        }
        if let t = filter.target {
            sql += " AND target = ?"
            args.append(t)
        }
        if let s = filter.since {
            sql += " AND updated_at >= ?"
            args.append(s.timeIntervalSince1970)
        }
        if let u = filter.until {
            sql += " AND updated_at < ?"
            args.append(u.timeIntervalSince1970)
        }
        if let r = filter.reason {
            sql += " AND instr(lower(COALESCE(last_reason, '')), lower(?)) > 0"
            args.append(r)
        }
        if let c = filter.cursor {
            sql += filter.newestFirst ? " AND (updated_at, id) < (?, ?)" : " AND (updated_at, id) > (?, ?)"
            args.append(c.updatedAt)
            args.append(c.id)
        }
        if let b = bound {
            sql += filter.newestFirst ? " AND (updated_at, id) >= (?, ?)" : " AND (updated_at, id) <= (?, ?)"
            args.append(b.updatedAt)
            args.append(b.id)
        }
        return (sql, args)
    }

    /// One job, or nil.
    public func job(id: Int64) async throws -> StoredJob? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Journal.jobColumns) FROM jobs WHERE id = ?", arguments: [id])
                .map(Journal.decodeJob)
        }
    }

    /// One stored event by row id, or nil.
    public func event(rowID: Int64) async throws -> StoredEvent? {
        try await pool.read { db in try Journal.fetchEvent(rowID, db) }
    }

    static func fetchEvent(_ rowID: Int64, _ db: Database) throws -> StoredEvent? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT id, source, event_id, received_at, envelope, raw_body FROM events WHERE id = ?",
                arguments: [rowID])
        else { return nil }
        let raw = [UInt8]((row[5] as Data?) ?? Data())
        let envelope = Journal.restoredEnvelope((try? JSONParser.parse(row[4] as String)) ?? .null, rawBody: raw)
        return StoredEvent(
            rowID: row[0], source: row[1], eventID: row[2], receivedAt: Journal.date(row[3]), envelope: envelope,
            rawBody: raw)
    }

    /// Every attempt of a job, oldest first.
    public func attempts(jobID: Int64) async throws -> [AttemptRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT at, duration, http_status, outcome, reason, answer FROM attempts WHERE job_id = ? ORDER BY id",
                arguments: [jobID]
            ).map {
                AttemptRecord(at: Journal.date($0[0]), duration: $0[1], httpStatus: $0[2], outcome: $0[3], reason: $0[4], answer: $0[5])
            }
        }
    }

    /// The operator actions that touched a job, oldest first.
    public func audit(jobID: Int64) async throws -> [AuditEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT a.id, a.at, a.actor, a.action, a.filters, a.options, a.job_count, j.detail
                    FROM audit_jobs j JOIN audit a ON a.id = j.audit_id WHERE j.job_id = ? ORDER BY a.id
                    """,
                arguments: [jobID]
            ).map {
                AuditEntry(
                    id: $0[0], at: Journal.date($0[1]), actor: $0[2], action: $0[3], filters: $0[4], options: $0[5],
                    jobCount: $0[6], detail: $0[7])
            }
        }
    }

    /// The run id a replay with ``ReplayOptions/newRunID`` sends: any earlier `__r<n>` suffix is
    /// replaced by `__r<replay>`, and the result is kept within Airflow's run-id alphabet and length.
    public static func replayRunID(_ id: String, replay: Int) -> String {
        var base = id
        if let r = base.range(of: "__r", options: .backwards),
            !base[r.upperBound...].isEmpty, base[r.upperBound...].allSatisfy(\.isNumber)
        {
            base = String(base[..<r.lowerBound])
        }
        let suffix = "__r\(replay)"
        base = RunID.sanitize(base)
        let room = RunID.maxLength - suffix.utf8.count
        if base.utf8.count > room { base = String(decoding: Array(base.utf8.prefix(room)), as: UTF8.self) }
        return base + suffix
    }

    /// Re-enqueues finished jobs (usually dead ones) with fresh attempts and a fresh `max_age` clock.
    ///
    /// By default each job is sent again exactly as before (same run id: a replay can never
    /// double-trigger; replaying a delivered job ends `duplicate`). `transform` may return a different request (re-rendered by the current
    /// rules) or nil to skip the job; what it throws is reported for that job. Replayed jobs
    /// become due `1/rate` seconds apart. The action is recorded in the audit log.
    /// - Parameters:
    ///   - ids: the jobs to replay (already filtered by the caller).
    ///   - actor: who asks (`user@host`).
    ///   - filters: what the operator typed, for the audit log.
    /// - Returns: one result per id, in order.
    /// The default replay transform: the stored request as it was. A job whose trigger never
    /// rendered (a render error at intake) has no request and needs re-rendering.
    public static func storedRequest(_ job: StoredJob, _ event: StoredEvent) throws -> TriggerJob? {
        if job.job.dagId.isEmpty {
            throw BridgeError(.invalidInput, "its trigger never rendered (\(job.lastReason ?? "render error")); fix the rule and replay with --rerender --rules DIR")
        }
        return job.job
    }

    public func jobsWithEvents(ids: [Int64]) async throws -> [(Int64, StoredJob?, StoredEvent?)] {
        try await pool.read { db in
            try ids.map { id in
                let j = try Row.fetchOne(db, sql: "SELECT \(Journal.jobColumns) FROM jobs WHERE id = ?", arguments: [id])
                    .map(Journal.decodeJob)
                let e = try j.flatMap { try Journal.fetchEvent($0.eventRef, db) }
                return (id, j, e)
            }
        }
    }

    public func applyReplay(_ plans: [ReplayPlan], audit: AuditDraft) async throws -> Set<Int64> {
        let applied = try await writer.submit { db -> Set<Int64> in
            try db.execute(
                sql: "INSERT INTO audit (at, actor, action, filters, options, job_count) VALUES (?, ?, 'replay', ?, ?, ?)",
                arguments: [audit.at, audit.actor, audit.filters, audit.options, plans.count])
            let auditID = db.lastInsertedRowID
            let upd = try db.cachedStatement(
                sql: """
                    UPDATE jobs SET state = \(JobState.pending.sql), attempts = 0, next_attempt_at = ?, age_from = ?, updated_at = ?,
                        replays = ?, dag_id = ?, conf = ?, dag_run_id = ?, logical_date = ?, note = ?, retry = ?,
                        last_reason = ?
                    WHERE id = ? AND replays = ? AND state IN (\(JobState.dead.sql), \(JobState.delivered.sql), \(JobState.duplicate.sql))
                    """)
            let link = try db.cachedStatement(sql: "INSERT INTO audit_jobs (audit_id, job_id, detail) VALUES (?, ?, ?)")
            var applied = Set<Int64>()
            for p in plans {
                let j = PreparedJob(p.job)
                try upd.execute(arguments: [
                    p.due, audit.at, audit.at, p.replays, j.dagId, j.conf, j.dagRunId, j.logicalDate, j.note, j.retry,
                    "replayed by \(audit.actor)", p.id, p.replays - 1,
                ])
                if db.changesCount > 0 {
                    applied.insert(p.id)
                    try link.execute(arguments: [auditID, p.id, "run id \(j.dagRunId)"])
                }
            }
            try db.execute(sql: "UPDATE audit SET job_count = ? WHERE id = ?", arguments: [applied.count, auditID])
            return applied
        }
        if !applied.isEmpty {
            adjustActive(applied.count)
            notifyNewJobs()
        }
        return applied
    }

    public func applyPurge(_ ids: [Int64], audit: AuditDraft) async throws -> Set<Int64> {
        try await writer.submit { db -> Set<Int64> in
            try db.execute(
                sql: "INSERT INTO audit (at, actor, action, filters, options, job_count) VALUES (?, ?, 'purge', ?, ?, ?)",
                arguments: [audit.at, audit.actor, audit.filters, audit.options, ids.count])
            let auditID = db.lastInsertedRowID
            var deleted = Set<Int64>()
            for id in ids {
                guard let ref = try Int64.fetchOne(
                    db, sql: "SELECT event_ref FROM jobs WHERE id = ? AND state = \(JobState.dead.sql)", arguments: [id])
                else { continue }
                try db.execute(sql: "DELETE FROM jobs WHERE id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM attempts WHERE job_id = ?", arguments: [id])
                try db.execute(
                    sql: "DELETE FROM events WHERE id = ? AND NOT EXISTS (SELECT 1 FROM jobs WHERE event_ref = ?)",
                    arguments: [ref, ref])
                try db.execute(
                    sql: "INSERT INTO audit_jobs (audit_id, job_id, detail) VALUES (?, ?, 'purged')", arguments: [auditID, id])
                deleted.insert(id)
            }
            try db.execute(sql: "UPDATE audit SET job_count = ? WHERE id = ?", arguments: [deleted.count, auditID])
            return deleted
        }
    }

    /// The whole audit log, newest first (at most `limit` entries).
    public func auditLog(limit: Int) async throws -> [AuditEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, at, actor, action, filters, options, job_count FROM audit ORDER BY id DESC LIMIT ?",
                arguments: [limit]
            ).map {
                AuditEntry(
                    id: $0[0], at: Journal.date($0[1]), actor: $0[2], action: $0[3], filters: $0[4], options: $0[5],
                    jobCount: $0[6], detail: nil)
            }
        }
    }
}
