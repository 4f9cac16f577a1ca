public import Foundation

/// Moves a SQLite journal into an empty PostgreSQL journal (`dagbridge store copy`), so a single
/// node can become a fleet without losing its queue, its dead-letter queue or its audit log.
///
/// Every row keeps its id, so `dlq show ID`, the audit log's job links and the run ids operators
/// noted still point at the same jobs; afterwards the database's identity sequences are set past
/// the largest ids, so new rows get ids above the copied ones. Jobs keep their state, attempts,
/// replays, reason and run id, except jobs in flight: nobody holds them after the copy, so they are
/// written as pending and due at once (what a SQLite dispatcher does to them at start-up; the
/// target dedupes a run id that was already created).
///
/// The source is read from one WAL snapshot, a chunk at a time; the target is written in one
/// transaction (see ``PostgresJournal`` `importJournal`), so a copy that fails leaves the database
/// as empty as it was and can simply run again. Run it with the service stopped: a journal that
/// still takes events would lose what arrives after the snapshot.
///
/// ```swift
/// let counts = try await JournalCopy.copy(from: journal, to: postgres) { p in print(p) }
/// print(counts)   // copied 3 events, 4 jobs (1 pending, ...), 5 attempts, 2 audit entries
/// ```
public enum JournalCopy {
    /// The tables a copy moves, in the order it moves them.
    public enum Table: String, Sendable, CaseIterable {
        case events
        case jobs
        case attempts
        case audit
        case auditJobs = "audit_jobs"
    }

    /// How far a copy is: `copied` of `total` rows of `table` are written.
    public struct Progress: Sendable, Equatable, CustomStringConvertible {
        public var table: Table
        public var copied: Int
        public var total: Int

        public var description: String { "\(table.rawValue): \(copied) of \(total)" }
    }

    /// What a copy read from the source (and wrote to the target).
    public struct Counts: Sendable, Equatable, CustomStringConvertible {
        public var events = 0
        public var jobs = 0
        /// Jobs by their state in the source (those `in_flight` there are pending in the target).
        public var jobsByState: [String: Int] = [:]
        public var attempts = 0
        /// Operator actions (replays, purges).
        public var audit = 0
        /// The links from operator actions to the jobs they touched.
        public var auditJobs = 0

        public init() {}

        /// The summary `store copy` prints: "copied N events, M jobs (P pending, ...), A attempts, U audit entries".
        public var description: String {
            var states = ["\(jobsByState[JobState.pending.rawValue] ?? 0) pending"]
            if let n = jobsByState[JobState.inFlight.rawValue], n > 0 { states.append("\(n) in flight, copied as pending") }
            for s in [JobState.delivered, .duplicate, .dead] { states.append("\(jobsByState[s.rawValue] ?? 0) \(s.rawValue)") }
            let known = Set(JobState.allCases.map(\.rawValue))
            for (s, n) in jobsByState.sorted(by: { $0.key < $1.key }) where !known.contains(s) { states.append("\(n) \(s)") }
            return "copied \(events) events, \(jobs) jobs (\(states.joined(separator: ", "))), \(attempts) attempts, "
                + "\(audit) audit entries (\(auditJobs) job links)"
        }
    }

    /// Copies every event, job, attempt and audit entry of `source` into `target`.
    ///
    /// - Parameters:
    ///   - chunk: rows per `INSERT … SELECT FROM unnest(…)` statement (events: fewer when their
    ///     bodies pass 16 MiB, so a chunk of large bodies stays small in memory).
    ///   - now: when jobs in flight in the source become due in the target.
    ///   - progress: called after each chunk is written.
    /// - Returns: what was copied.
    /// - Throws: ``BridgeError`` `.conflict` when the target already holds a journal (events, jobs,
    ///   attempts or audit entries), saying how to proceed; `.io` / `.unavailable` when a database fails.
    public static func copy(
        from source: Journal, to target: PostgresJournal, chunk: Int = 1000, now: Date = Date(),
        progress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async throws -> Counts {
        precondition(chunk > 0, "a chunk holds at least one row")
        let export = try source.export()
        let counts = try await export.counts()
        try await target.importJournal(export, counts: counts, chunk: chunk, now: now.timeIntervalSince1970, progress: progress)
        return counts
    }

    /// Bytes of event bodies and envelopes one events statement carries at most (one event always goes).
    static let maxChunkBytes = 16 << 20

    // MARK: Rows as both stores hold them (the SQLite columns, read as stored)

    struct EventRow: Sendable {
        var id: Int64
        var source: String
        var eventID: String
        var receivedAt: Double
        /// The stored envelope text (without `body` when it is the raw body parsed; see ``Journal``).
        var envelope: String
        var rawBody: [UInt8]
    }

    struct JobRow: Sendable {
        var id: Int64
        var eventRef: Int64
        var seq: Int64
        var rule: String
        var target: String
        var dagID: String
        var conf: String
        var dagRunID: String
        var logicalDate: String?
        var note: String?
        var retry: String?
        var state: String
        var attempts: Int64
        var nextAttemptAt: Double
        var ageFrom: Double
        var createdAt: Double
        var updatedAt: Double
        var lastStatus: Int64?
        var lastReason: String?
        var replays: Int64
    }

    struct AttemptRow: Sendable {
        var id: Int64
        var jobID: Int64
        var at: Double
        var duration: Double
        var httpStatus: Int64?
        var outcome: String
        var reason: String
        var answer: String
    }

    struct AuditRow: Sendable {
        var id: Int64
        var at: Double
        var actor: String
        var action: String
        var filters: String
        var options: String
        var jobCount: Int64
    }

    struct AuditJobRow: Sendable {
        var auditID: Int64
        var jobID: Int64
        var detail: String?
    }
}
