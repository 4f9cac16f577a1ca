public import Foundation
import GRDB

/// Job counts by state, for metrics and `dagbridge dlq`.
public struct JournalCounts: Sendable, Equatable {
    public var pending = 0
    public var inFlight = 0
    public var delivered = 0
    public var duplicate = 0
    public var dead = 0

    public init() {}

    /// Records `count` jobs in the state the store spells `state` (an unknown spelling is ignored).
    mutating func set(_ state: String, _ count: Int) {
        switch JobState(rawValue: state) {
        case .pending: pending = count
        case .inFlight: inFlight = count
        case .delivered: delivered = count
        case .duplicate: duplicate = count
        case .dead: dead = count
        case nil: break
        }
    }
}

/// What one retention pass removed.
public struct PruneResult: Sendable, Equatable {
    public var jobs = 0
    public var events = 0

    public init() {}
}

extension Journal {
    /// Moves jobs that were in flight when the previous process stopped back to due.
    ///
    /// Call once at dispatcher start-up, before taking jobs. A job whose call had reached the
    /// target is then sent again with the same run id and ends `duplicate`.
    /// - Returns: how many jobs were reset.
    @discardableResult
    public func recoverInFlight(now: Date) async throws -> Int {
        let t = now.timeIntervalSince1970
        return try await writer.submit { db in
            try db.execute(
                sql: "UPDATE jobs SET state = \(JobState.pending.sql), next_attempt_at = ?, updated_at = ? WHERE state = \(JobState.inFlight.sql)",
                arguments: [t, t])
            return db.changesCount
        }
    }

    /// Claims up to `limit` due jobs of `target`, earliest `next_attempt_at` first, and marks them in flight.
    ///
    /// Ties (e.g. jobs held back by an open circuit breaker) go to the job with fewer attempts, so
    /// successive breaker probes rotate over the jobs instead of burning one job's attempts.
    /// `fleet` is ignored: one process dispatches from a file, and its lanes hold the limits.
    public func claimDue(target: String, limit: Int, fleet: FleetLimits?, now: Date) async throws -> [StoredJob] {
        guard limit > 0 else { return [] }
        let t = now.timeIntervalSince1970
        return try await writer.submit { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(Journal.jobColumns) FROM jobs
                        WHERE target = ? AND state = \(JobState.pending.sql) AND next_attempt_at <= ?
                        ORDER BY next_attempt_at, attempts, id LIMIT ?
                        """),
                arguments: [target, t, limit])
            let upd = try db.cachedStatement(sql: "UPDATE jobs SET state = \(JobState.inFlight.sql), updated_at = ? WHERE id = ?")
            var jobs: [StoredJob] = []
            jobs.reserveCapacity(rows.count)
            for row in rows {
                var j = Journal.decodeJob(row)
                try upd.execute(arguments: [t, j.id])
                j.state = .inFlight
                jobs.append(j)
            }
            return jobs
        }
    }

    /// When the next pending job of `target` is due, or nil when it has none.
    public func nextDue(target: String) async throws -> Date? {
        try await pool.read { db in
            try Double.fetchOne(
                db, sql: "SELECT MIN(next_attempt_at) FROM jobs WHERE target = ? AND state = \(JobState.pending.sql)",
                arguments: [target]
            ).map(Journal.date)
        }
    }

    /// The targets that have pending jobs.
    public func targetsWithPendingJobs() async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT target FROM jobs WHERE state = \(JobState.pending.sql)")
        }
    }

    /// Records one attempt of an in-flight job and moves it on.
    public func complete(jobID: Int64, attempt: AttemptRecord, transition: JobTransition, now: Date) async throws {
        let t = now.timeIntervalSince1970
        try await writer.submit { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO attempts (job_id, at, duration, http_status, outcome, reason, answer)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                jobID, attempt.at.timeIntervalSince1970, attempt.duration, attempt.httpStatus, attempt.outcome,
                attempt.reason, attempt.answer,
            ])
            let state: String
            var next: Double? = nil
            var reason = attempt.reason
            switch transition {
            case .delivered: state = "delivered"
            case .duplicate: state = "duplicate"
            case .retry(let at):
                state = "pending"
                next = at.timeIntervalSince1970
            case .dead(let r):
                state = "dead"
                reason = r
            }
            try db.cachedStatement(
                sql: """
                    UPDATE jobs SET state = ?, attempts = attempts + 1, next_attempt_at = COALESCE(?, next_attempt_at),
                        updated_at = ?, last_status = ?, last_reason = ?
                    WHERE id = ?
                    """
            ).execute(arguments: [state, next, t, attempt.httpStatus, reason, jobID])
        }
        switch transition {
        case .retry: break
        default: adjustActive(-1)
        }
    }

    /// Moves in-flight jobs back to pending without counting an attempt (shutdown, breaker open).
    public func release(jobIDs: [Int64], dueAt: Date) async throws {
        guard !jobIDs.isEmpty else { return }
        let t = dueAt.timeIntervalSince1970
        let now = Date().timeIntervalSince1970
        try await writer.submit { db in
            let st = try db.cachedStatement(
                sql: "UPDATE jobs SET state = \(JobState.pending.sql), next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = \(JobState.inFlight.sql)")
            for id in jobIDs { try st.execute(arguments: [t, now, id]) }
        }
    }

    /// Nothing to do: one process dispatches from the file, and ``recoverInFlight(now:)`` makes
    /// in-flight jobs due again at the next start.
    public func abandon(jobIDs: [Int64]) {}

    /// Pushes the pending jobs of `target` (of its DAG `dagId` only, when given) that are due before
    /// `until` to `until`, without counting attempts (while a target's circuit breaker is open, or a DAG's jobs are held).
    /// - Returns: how many jobs were pushed.
    @discardableResult
    public func postpone(target: String, dagId: String?, until: Date) async throws -> Int {
        let t = until.timeIntervalSince1970
        return try await writer.submit { db in
            if let dagId {
                try db.execute(
                    sql: "UPDATE jobs SET next_attempt_at = ? WHERE target = ? AND state = \(JobState.pending.sql) AND next_attempt_at < ? AND dag_id = ?",
                    arguments: [t, target, t, dagId])
            } else {
                try db.execute(
                    sql: "UPDATE jobs SET next_attempt_at = ? WHERE target = ? AND state = \(JobState.pending.sql) AND next_attempt_at < ?",
                    arguments: [t, target, t])
            }
            return db.changesCount
        }
    }

    /// Moves every pending job whose target is not in `known` to the dead-letter queue.
    /// - Returns: how many jobs died.
    @discardableResult
    public func killJobsOfUnknownTargets(known: [String], now: Date) async throws -> Int {
        let t = now.timeIntervalSince1970
        let n = try await writer.submit { db -> Int in
            let targets = try String.fetchAll(db, sql: "SELECT DISTINCT target FROM jobs WHERE state = \(JobState.pending.sql)")
            var n = 0
            for target in targets where !known.contains(target) {
                try db.execute(
                    sql: """
                        UPDATE jobs SET state = \(JobState.dead.sql), updated_at = ?,
                            last_reason = 'target ''' || target || ''' is not configured (known targets: ' || ? || ')'
                        WHERE target = ? AND state = \(JobState.pending.sql)
                        """,
                    arguments: [t, known.sorted().joined(separator: ", "), target])
                n += db.changesCount
            }
            return n
        }
        if n > 0 { adjustActive(-n) }
        return n
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// Job counts by state.
    public func counts() async throws -> JournalCounts {
        try await pool.read { db in
            var c = JournalCounts()
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) FROM jobs GROUP BY state") {
                c.set(row[0], row[1])
            }
            return c
        }
    }

    /// Deletes delivered and duplicate jobs last updated before `now - retention`, their attempts,
    /// and their events once no job refers to them. Dead jobs stay until purged.
    ///
    /// Works in chunks so a large pass never holds the write lock for long; the service calls
    /// it periodically (e.g. hourly).
    @discardableResult
    public func prune(now: Date, chunk: Int) async throws -> PruneResult {
        let cutoff = now.timeIntervalSince1970 - config.retention
        var total = PruneResult()
        while true {
            let r = try await writer.submit { db -> PruneResult in
                var r = PruneResult()
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, event_ref FROM jobs
                        WHERE state IN (\(JobState.delivered.sql), \(JobState.duplicate.sql)) AND updated_at < ? LIMIT ?
                        """,
                    arguments: [cutoff, chunk])
                if rows.isEmpty { return r }
                let delJob = try db.cachedStatement(sql: "DELETE FROM jobs WHERE id = ?")
                let delAttempts = try db.cachedStatement(sql: "DELETE FROM attempts WHERE job_id = ?")
                var events = Set<Int64>()
                for row in rows {
                    let id: Int64 = row[0]
                    try delJob.execute(arguments: [id])
                    try delAttempts.execute(arguments: [id])
                    events.insert(row[1])
                }
                r.jobs = rows.count
                let delEvent = try db.cachedStatement(
                    sql: "DELETE FROM events WHERE id = ? AND NOT EXISTS (SELECT 1 FROM jobs WHERE event_ref = ?)")
                for e in events {
                    try delEvent.execute(arguments: [e, e])
                    r.events += db.changesCount
                }
                return r
            }
            total.jobs += r.jobs
            total.events += r.events
            if r.jobs < chunk { break }
        }
        return total
    }
}
