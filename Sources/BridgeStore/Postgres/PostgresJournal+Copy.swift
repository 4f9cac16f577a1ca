import BridgeCore
import Foundation
public import Logging
import NIOCore
import PostgresNIO

/// What `dagbridge store migrate` and `dagbridge store copy` ask of the database beyond the journal
/// contract: the schema version before any migration, and a bulk import that keeps ids.
extension PostgresJournal {
    // MARK: Schema version

    /// The schema version of the database `config` names (0: no journal there yet), read without
    /// migrating and without opening a journal, so `store migrate` can say which version it started from.
    ///
    /// Uses one connection of its own, closed before returning.
    /// - Throws: ``BridgeError``: `.config` without a URL or with an unreadable CA file,
    ///   `.unavailable` when the database does not answer in about twice ``StoreConfig/connectTimeout``.
    public static func schemaVersion(config: StoreConfig, logger: Logger = Logger(label: "dagbridge.store")) async throws -> Int {
        guard let settings = config.postgres else { throw BridgeError(.config, "store backend 'postgres' needs url") }
        var c = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password?.value,
            database: settings.database, tls: try tls(settings))
        c.options.connectTimeout = .milliseconds(Int64(config.connectTimeout * 1000))
        c.options.maximumConnections = 1
        c.options.additionalStartupParameters = [("application_name", settings.applicationName)]
        if settings.sslMode == .verifyFull { c.options.tlsServerName = settings.host }
        let client = PostgresClient(configuration: c, backgroundLogger: logger)
        let what = "reading the schema version of \(settings.description)"
        do {
            return try await withThrowingTaskGroup(of: Int?.self) { g in
                g.addTask {
                    await client.run()
                    return nil
                }
                // Leaving the group (also by a throw) cancels run(), which closes the connection.
                defer { g.cancelAll() }
                return try await withDeadline(max(config.connectTimeout * 2, 10)) {
                    try await client.withConnection { conn in try await version(conn, logger: logger) }
                }
            }
        } catch let e as BridgeError {
            throw BridgeError(e.code, "\(what): \(e.message)")
        } catch {
            throw BridgeError(isStatementError(error) ? .io : .unavailable, "\(what): \(describe(error))")
        }
    }

    // MARK: Import (store copy)

    /// Writes an exported SQLite journal into this database, ids and all.
    ///
    /// One transaction for the whole copy, not one per table: a copy that fails half-way (the
    /// network, a full disk, a row PostgreSQL refuses) rolls back to the empty journal it started
    /// from, so the emptiness check lets the operator simply run it again; a copy that succeeds
    /// appears at once, never as events without their jobs. The journal's tables are locked
    /// against writers (`EXCLUSIVE`, 10 s to get the lock) so a replica started by mistake waits
    /// instead of writing rows whose ids the copy is about to use.
    func importJournal(
        _ export: Journal.Export, counts: JournalCopy.Counts, chunk: Int, now: Double,
        progress: @escaping @Sendable (JournalCopy.Progress) -> Void
    ) async throws {
        let client = self.client, logger = self.logger, location = settings.description
        // The deadline is the copy's whole length; a week stands for "no deadline".
        try await run("copying into \(location)", timeout: 7 * 86400) {
            do {
                try await client.withTransaction(logger: logger) { c in
                    try await Self.lockEmptyJournal(c, location: location, logger: logger)
                    var last: Int64 = 0
                    try await Self.copyTable(.events, total: counts.events, progress: progress) {
                        let rows = try await export.events(after: last, limit: chunk)
                        last = rows.last?.id ?? last
                        return rows
                    } write: { try await Self.insertEvents($0, c, logger: logger) }
                    last = 0
                    try await Self.copyTable(.jobs, total: counts.jobs, progress: progress) {
                        let rows = try await export.jobs(after: last, limit: chunk)
                        last = rows.last?.id ?? last
                        return rows
                    } write: { try await Self.insertJobs($0, now: now, c, logger: logger) }
                    last = 0
                    try await Self.copyTable(.attempts, total: counts.attempts, progress: progress) {
                        let rows = try await export.attempts(after: last, limit: chunk)
                        last = rows.last?.id ?? last
                        return rows
                    } write: { try await Self.insertAttempts($0, c, logger: logger) }
                    last = 0
                    try await Self.copyTable(.audit, total: counts.audit, progress: progress) {
                        let rows = try await export.audit(after: last, limit: chunk)
                        last = rows.last?.id ?? last
                        return rows
                    } write: { try await Self.insertAudit($0, c, logger: logger) }
                    last = 0
                    try await Self.copyTable(.auditJobs, total: counts.auditJobs, progress: progress) {
                        let (rows, next) = try await export.auditJobs(after: last, limit: chunk)
                        last = next
                        return rows
                    } write: { try await Self.insertAuditJobs($0, c, logger: logger) }
                    // New rows get ids above the copied ones. setval(seq, NULL) (an empty table) does nothing.
                    for table in ["events", "jobs", "attempts", "audit"] {
                        _ = try await c.query(
                            PostgresQuery(unsafeSQL: "SELECT setval(pg_get_serial_sequence('dagbridge.\(table)', 'id'), max(id)) FROM dagbridge.\(table)"),
                            logger: logger
                        ).collect()
                    }
                }
            } catch let t as PostgresTransactionError {
                // What the copy itself refused (a journal already there) reads as it was said.
                if let refused = t.closureError as? BridgeError { throw refused }
                throw t
            }
        }
    }

    /// Reads chunks with `next` until it returns none, writing each with `write` and reporting it.
    private static func copyTable<Row>(
        _ table: JournalCopy.Table, total: Int, progress: @Sendable (JournalCopy.Progress) -> Void,
        next: () async throws -> [Row], write: ([Row]) async throws -> Void
    ) async throws {
        var copied = 0
        progress(JournalCopy.Progress(table: table, copied: 0, total: total))
        while true {
            let rows = try await next()
            if rows.isEmpty { return }
            try await write(rows)
            copied += rows.count
            progress(JournalCopy.Progress(table: table, copied: copied, total: total))
        }
    }

    /// Locks the journal's tables against writers and refuses a database that already holds a journal.
    private static func lockEmptyJournal(_ c: PostgresConnection, location: String, logger: Logger) async throws {
        do {
            _ = try await c.query("SET LOCAL lock_timeout = '10s'", logger: logger).collect()
            _ = try await c.query(
                "LOCK TABLE dagbridge.events, dagbridge.jobs, dagbridge.attempts, dagbridge.audit, dagbridge.audit_jobs IN EXCLUSIVE MODE",
                logger: logger
            ).collect()
        } catch let e as PSQLError where e.serverInfo?[.sqlState] == "55P03" {
            throw BridgeError(
                .conflict, "another session holds the journal's tables at \(location) (is dagbridge running on it?): stop it and copy again")
        }
        let rows = try await c.query(
            """
            SELECT (SELECT count(*) FROM dagbridge.events), (SELECT count(*) FROM dagbridge.jobs),
                (SELECT count(*) FROM dagbridge.attempts), (SELECT count(*) FROM dagbridge.audit)
            """, logger: logger
        ).collect()
        let (events, jobs, attempts, audit) = try rows.first?.decode((Int, Int, Int, Int).self) ?? (0, 0, 0, 0)
        guard events + jobs + attempts + audit == 0 else {
            throw BridgeError(
                .conflict,
                "the journal at \(location) is not empty (\(events) events, \(jobs) jobs, \(attempts) attempts, \(audit) audit entries); "
                    + "nothing was copied. Copy into an empty database, or, if the journal there may go, drop it "
                    + "(psql: DROP SCHEMA dagbridge CASCADE) and copy again")
        }
    }

    private static func insertEvents(_ rows: [JournalCopy.EventRow], _ c: PostgresConnection, logger: Logger) async throws {
        let ids = rows.map(\.id), sources = rows.map(\.source.pgText), eventIDs = rows.map(\.eventID.pgText)
        let received = rows.map(\.receivedAt), envelopes = rows.map(\.envelope.pgText)
        let bodies = rows.map { ByteBuffer(bytes: $0.rawBody) }
        _ = try await c.query(
            """
            INSERT INTO dagbridge.events (id, source, event_id, received_at, envelope, raw_body)
            SELECT * FROM unnest(\(ids)::int8[], \(sources)::text[], \(eventIDs)::text[], \(received)::float8[], \(envelopes)::text[], \(bodies)::bytea[])
            """, logger: logger
        ).collect()
    }

    /// Jobs in flight in the source are written pending and due `now`: nobody holds them any more.
    private static func insertJobs(_ rows: [JournalCopy.JobRow], now: Double, _ c: PostgresConnection, logger: Logger) async throws {
        var ids: [Int64] = [], refs: [Int64] = [], seq: [Int64] = [], rule: [String] = [], target: [String] = [], dag: [String] = []
        var conf: [String] = [], run: [String] = [], logical: [String?] = [], note: [String?] = [], retry: [String?] = []
        var state: [String] = [], attempts: [Int64] = [], next: [Double] = [], age: [Double] = [], created: [Double] = []
        var updated: [Double] = [], status: [Int64] = [], reason: [String?] = [], replays: [Int64] = []
        for r in rows {
            let inFlight = r.state == JobState.inFlight.rawValue
            ids.append(r.id)
            refs.append(r.eventRef)
            seq.append(r.seq)
            rule.append(r.rule.pgText)
            target.append(r.target.pgText)
            dag.append(r.dagID.pgText)
            conf.append(r.conf.pgText)
            run.append(r.dagRunID.pgText)
            logical.append(r.logicalDate.pgText)
            note.append(r.note.pgText)
            retry.append(r.retry.pgText)
            state.append(inFlight ? JobState.pending.rawValue : r.state.pgText)
            attempts.append(r.attempts)
            next.append(inFlight ? now : r.nextAttemptAt)
            age.append(r.ageFrom)
            created.append(r.createdAt)
            updated.append(inFlight ? now : r.updatedAt)
            status.append(r.lastStatus ?? -1)
            reason.append(r.lastReason.pgText)
            replays.append(r.replays)
        }
        let logicalA = NullableTextArray(values: logical), noteA = NullableTextArray(values: note)
        let retryA = NullableTextArray(values: retry), reasonA = NullableTextArray(values: reason)
        _ = try await c.query(
            """
            INSERT INTO dagbridge.jobs (id, event_ref, seq, rule, target, dag_id, conf, dag_run_id, logical_date, note, retry, state,
                attempts, next_attempt_at, age_from, created_at, updated_at, last_status, last_reason, replays)
            SELECT id, event_ref, seq, rule, target, dag_id, conf, dag_run_id, logical_date, note, retry, state,
                attempts, next_attempt_at, age_from, created_at, updated_at, NULLIF(last_status, -1), last_reason, replays
            FROM unnest(\(ids)::int8[], \(refs)::int8[], \(seq)::int8[], \(rule)::text[], \(target)::text[], \(dag)::text[],
                \(conf)::text[], \(run)::text[], \(logicalA)::text[], \(noteA)::text[], \(retryA)::text[], \(state)::text[],
                \(attempts)::int8[], \(next)::float8[], \(age)::float8[], \(created)::float8[], \(updated)::float8[],
                \(status)::int8[], \(reasonA)::text[], \(replays)::int8[])
                AS r(id, event_ref, seq, rule, target, dag_id, conf, dag_run_id, logical_date, note, retry, state,
                    attempts, next_attempt_at, age_from, created_at, updated_at, last_status, last_reason, replays)
            """, logger: logger
        ).collect()
    }

    private static func insertAttempts(_ rows: [JournalCopy.AttemptRow], _ c: PostgresConnection, logger: Logger) async throws {
        let ids = rows.map(\.id), jobs = rows.map(\.jobID), at = rows.map(\.at), duration = rows.map(\.duration)
        let status = rows.map { $0.httpStatus ?? -1 }, outcome = rows.map(\.outcome.pgText)
        let reason = rows.map(\.reason.pgText), answer = rows.map(\.answer.pgText)
        _ = try await c.query(
            """
            INSERT INTO dagbridge.attempts (id, job_id, at, duration, http_status, outcome, reason, answer)
            SELECT id, job_id, at, duration, NULLIF(http_status, -1), outcome, reason, answer
            FROM unnest(\(ids)::int8[], \(jobs)::int8[], \(at)::float8[], \(duration)::float8[], \(status)::int8[],
                \(outcome)::text[], \(reason)::text[], \(answer)::text[])
                AS a(id, job_id, at, duration, http_status, outcome, reason, answer)
            """, logger: logger
        ).collect()
    }

    private static func insertAudit(_ rows: [JournalCopy.AuditRow], _ c: PostgresConnection, logger: Logger) async throws {
        let ids = rows.map(\.id), at = rows.map(\.at), actor = rows.map(\.actor.pgText), action = rows.map(\.action.pgText)
        let filters = rows.map(\.filters.pgText), options = rows.map(\.options.pgText), count = rows.map(\.jobCount)
        _ = try await c.query(
            """
            INSERT INTO dagbridge.audit (id, at, actor, action, filters, options, job_count)
            SELECT * FROM unnest(\(ids)::int8[], \(at)::float8[], \(actor)::text[], \(action)::text[], \(filters)::text[],
                \(options)::text[], \(count)::int8[])
            """, logger: logger
        ).collect()
    }

    private static func insertAuditJobs(_ rows: [JournalCopy.AuditJobRow], _ c: PostgresConnection, logger: Logger) async throws {
        let audit = rows.map(\.auditID), jobs = rows.map(\.jobID), detail = NullableTextArray(values: rows.map(\.detail.pgText))
        _ = try await c.query(
            """
            INSERT INTO dagbridge.audit_jobs (audit_id, job_id, detail)
            SELECT * FROM unnest(\(audit)::int8[], \(jobs)::int8[], \(detail)::text[])
            """, logger: logger
        ).collect()
    }
}
