import BridgeCore
import Foundation
import GRDB

extension Journal {
    /// A consistent read of the whole file for ``JournalCopy``: every chunk comes from one WAL
    /// snapshot taken when the export starts, so a copy never sees half of a commit.
    ///
    /// Rows come in id order (`audit_jobs`, which has no id, in rowid order), a chunk at a time
    /// after the last key seen, so memory stays at one chunk whatever the size of the file. Reads
    /// run on GRDB's own queue (`read` is async), never on the cooperative pool.
    struct Export: Sendable {
        let snapshot: DatabaseSnapshot

        /// Rows per table.
        func counts() async throws -> JournalCopy.Counts {
            try await snapshot.read { db in
                func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
                var c = JournalCopy.Counts()
                c.events = try count("events")
                c.jobs = try count("jobs")
                c.attempts = try count("attempts")
                c.audit = try count("audit")
                c.auditJobs = try count("audit_jobs")
                for row in try Row.fetchAll(db, sql: "SELECT state, count(*) FROM jobs GROUP BY state") {
                    c.jobsByState[row[0] as String] = row[1] as Int
                }
                return c
            }
        }

        /// Events after `id`: at most `limit`, and no more once their envelopes and bodies pass
        /// ``JournalCopy/maxChunkBytes`` (one event always comes).
        func events(after id: Int64, limit: Int) async throws -> [JournalCopy.EventRow] {
            try await snapshot.read { db in
                var out: [JournalCopy.EventRow] = []
                var bytes = 0
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT id, source, event_id, received_at, envelope, raw_body FROM events WHERE id > ? ORDER BY id LIMIT ?",
                    arguments: [id, limit])
                while let r = try rows.next() {
                    let body = (r[5] as Data?) ?? Data()
                    let row = JournalCopy.EventRow(id: r[0], source: r[1], eventID: r[2], receivedAt: r[3], envelope: r[4], rawBody: [UInt8](body))
                    out.append(row)
                    bytes += row.rawBody.count + row.envelope.utf8.count
                    if bytes >= JournalCopy.maxChunkBytes { break }
                }
                return out
            }
        }

        func jobs(after id: Int64, limit: Int) async throws -> [JournalCopy.JobRow] {
            try await snapshot.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, event_ref, seq, rule, target, dag_id, conf, dag_run_id, logical_date, note, retry, state, attempts,
                            next_attempt_at, age_from, created_at, updated_at, last_status, last_reason, replays
                        FROM jobs WHERE id > ? ORDER BY id LIMIT ?
                        """,
                    arguments: [id, limit]
                ).map { r in
                    JournalCopy.JobRow(
                        id: r[0], eventRef: r[1], seq: r[2], rule: r[3], target: r[4], dagID: r[5], conf: r[6], dagRunID: r[7],
                        logicalDate: r[8], note: r[9], retry: r[10], state: r[11], attempts: r[12], nextAttemptAt: r[13], ageFrom: r[14],
                        createdAt: r[15], updatedAt: r[16], lastStatus: r[17], lastReason: r[18], replays: r[19])
                }
            }
        }

        func attempts(after id: Int64, limit: Int) async throws -> [JournalCopy.AttemptRow] {
            try await snapshot.read { db in
                try Row.fetchAll(
                    db,
                    sql: "SELECT id, job_id, at, duration, http_status, outcome, reason, answer FROM attempts WHERE id > ? ORDER BY id LIMIT ?",
                    arguments: [id, limit]
                ).map { r in
                    JournalCopy.AttemptRow(
                        id: r[0], jobID: r[1], at: r[2], duration: r[3], httpStatus: r[4], outcome: r[5], reason: r[6], answer: r[7])
                }
            }
        }

        func audit(after id: Int64, limit: Int) async throws -> [JournalCopy.AuditRow] {
            try await snapshot.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT id, at, actor, action, filters, options, job_count FROM audit WHERE id > ? ORDER BY id LIMIT ?",
                    arguments: [id, limit]
                ).map { r in
                    JournalCopy.AuditRow(id: r[0], at: r[1], actor: r[2], action: r[3], filters: r[4], options: r[5], jobCount: r[6])
                }
            }
        }

        /// `audit_jobs` rows after SQLite rowid `rowID`, with the rowid of the last one (the next key).
        func auditJobs(after rowID: Int64, limit: Int) async throws -> (rows: [JournalCopy.AuditJobRow], last: Int64) {
            try await snapshot.read { db in
                var last = rowID
                let rows = try Row.fetchAll(
                    db, sql: "SELECT rowid, audit_id, job_id, detail FROM audit_jobs WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    arguments: [rowID, limit]
                ).map { r in
                    last = r[0]
                    return JournalCopy.AuditJobRow(auditID: r[1], jobID: r[2], detail: r[3])
                }
                return (rows, last)
            }
        }
    }

    /// Starts a consistent export of the file (see ``Export``).
    func export() throws -> Export {
        do {
            return Export(snapshot: try pool.makeSnapshot())
        } catch {
            throw BridgeError(.io, "cannot read the store '\(config.path)' for a copy", cause: error)
        }
    }
}
