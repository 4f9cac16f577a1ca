public import BridgeCore
public import Foundation

/// The journal contract: what intake, the dispatcher, the DLQ service, the admin API and the
/// CLI ask of a journal, whatever holds it.
///
/// Two backends implement it: ``Journal`` (one SQLite file, the embedded default, one process
/// dispatches) and ``PostgresJournal`` (one database shared by a fleet of replicas: claims carry
/// an owner and a lease, dedupe, replay cache, DLQ and limits hold for the fleet). The
/// contract suite (`JournalContractTests`) runs the same tests against both.
///
/// Times are seconds since 1970 taken from the caller's clock (`now`), as in the SQLite file.
public protocol JournalStore: JobStore, AnyObject {
    /// The settings the journal was opened with.
    var config: StoreConfig { get }
    /// Pending + in-flight jobs as last counted (the queue depth behind backpressure).
    var queueDepth: Int { get }
    /// Registers a handler called after new due jobs were committed (by this process, or, on a
    /// shared journal, by any replica). Keep it short.
    func onNewJobs(_ handler: @escaping @Sendable () -> Void)
    /// Re-counts pending + in-flight jobs from the store (another process may have replayed jobs).
    func refreshCounters() async throws
    /// Whether the store answers now (readiness).
    func ping() async throws

    // MARK: Dispatch

    /// Makes jobs that a stopped dispatcher left in flight due again. SQLite: every in-flight
    /// job (one process dispatches). PostgreSQL: nothing at once; a dead replica's claims are due
    /// again when their lease runs out. Returns how many were reset.
    func recoverInFlight(now: Date) async throws -> Int
    /// Claims up to `limit` due jobs of `target`, earliest first, and marks them in flight for this
    /// process. `fleet` (a shared journal only) caps the claim so the target's `max_in_flight`
    /// and `rate_limit` hold across every replica.
    func claimDue(target: String, limit: Int, fleet: FleetLimits?, now: Date) async throws -> [StoredJob]
    /// When the next pending job of `target` is due, or nil when it has none.
    func nextDue(target: String) async throws -> Date?
    /// The targets that have pending jobs.
    func targetsWithPendingJobs() async throws -> [String]
    /// Records one attempt of an in-flight job and moves it on. On a shared journal the write
    /// applies only while this process still owns the claim (a job whose lease ran out and was
    /// claimed by another replica is left to that one).
    func complete(jobID: Int64, attempt: AttemptRecord, transition: JobTransition, now: Date) async throws
    /// Moves in-flight jobs back to pending without counting an attempt (shutdown, breaker open).
    func release(jobIDs: [Int64], dueAt: Date) async throws
    /// The dispatcher gave up recording these jobs' attempts (the store failed meanwhile): this
    /// process stops holding them. On a shared journal their leases are no longer renewed, so they
    /// are due again (on any replica) when the lease runs out; the SQLite journal makes them due at
    /// the next start.
    func abandon(jobIDs: [Int64])
    /// Pushes the pending jobs of `target` (of its DAG `dagId` only, when given) due before `until` to
    /// `until`, without counting attempts (breaker open, a DAG's jobs held).
    func postpone(target: String, dagId: String?, until: Date) async throws -> Int
    /// Moves every pending job whose target is not in `known` to the dead-letter queue.
    func killJobsOfUnknownTargets(known: [String], now: Date) async throws -> Int
    /// Job counts by state.
    func counts() async throws -> JournalCounts
    /// Deletes delivered and duplicate jobs older than the retention, and events no job refers
    /// to. On a shared journal one replica prunes at a time; the others skip the pass.
    func prune(now: Date, chunk: Int) async throws -> PruneResult

    // MARK: Inspection

    /// Jobs matching `filter`, oldest update first.
    func jobs(matching filter: JobFilter) async throws -> [StoredJob]
    /// How many jobs match `filter` (its limit and cursor ignored), counting at most `upTo`.
    func countJobs(matching filter: JobFilter, upTo: Int) async throws -> Int
    /// The last job of the window a ``JobFilter/scanLimit`` search looks at, nil when it reaches the end.
    func scanEnd(matching filter: JobFilter) async throws -> JobCursor?
    /// One job, or nil.
    func job(id: Int64) async throws -> StoredJob?
    /// One stored event by row id, or nil.
    func event(rowID: Int64) async throws -> StoredEvent?
    /// Every attempt of a job, oldest first.
    func attempts(jobID: Int64) async throws -> [AttemptRecord]
    /// The operator actions that touched a job, oldest first.
    func audit(jobID: Int64) async throws -> [AuditEntry]
    /// Stored events with this event id (from any source, or only `source`), oldest first.
    func events(eventID: String, source: String?) async throws -> [StoredEvent]
    /// The jobs an event produced (render failures included, as dead jobs), in rule order.
    func jobs(eventRef: Int64) async throws -> [StoredJob]
    /// The whole audit log, newest first (at most `limit` entries).
    func auditLog(limit: Int) async throws -> [AuditEntry]
    /// Each id with its job and the job's event (nil where missing), in the order of `ids`.
    func jobsWithEvents(ids: [Int64]) async throws -> [(Int64, StoredJob?, StoredEvent?)]

    // MARK: Operator actions (the planning is shared, see ``JournalStore/replay(ids:actor:filters:options:now:transform:)``)

    /// Writes planned replays and their audit entry in one transaction. A plan applies only when
    /// its job is still finished and still has `replays - 1` replays, so two operators (or two
    /// replicas) replaying the same job at once replay it once. Returns the ids that applied.
    func applyReplay(_ plans: [ReplayPlan], audit: AuditDraft) async throws -> Set<Int64>
    /// Deletes the dead jobs among `ids` (their attempts, and their events once no job refers to
    /// them) with an audit entry, in one transaction. Returns the ids deleted.
    func applyPurge(_ ids: [Int64], audit: AuditDraft) async throws -> Set<Int64>
}

/// A target's limits as the fleet must hold them (a shared journal caps each claim with them).
public struct FleetLimits: Sendable, Equatable {
    /// Calls in flight across every replica.
    public var maxInFlight: Int
    /// Calls started per second across every replica, and the burst; nil: no rate limit.
    public var rate: Double?
    public var burst: Double

    public init(maxInFlight: Int, rate: Double? = nil, burst: Double = 1) {
        self.maxInFlight = maxInFlight
        self.rate = rate
        self.burst = burst
    }
}

/// One job a replay re-enqueues, as planned before the write.
public struct ReplayPlan: Sendable, Equatable {
    public var id: Int64
    public var job: TriggerJob
    /// When it becomes due (seconds since 1970).
    public var due: Double
    /// The job's replay count after this replay (the write applies only when it is one above the stored count).
    public var replays: Int
}

/// An operator action as the audit log records it.
public struct AuditDraft: Sendable, Equatable {
    public var at: Double
    public var actor: String
    public var filters: String
    public var options: String
}

extension JournalStore {
    /// ``recoverInFlight(now:)`` now.
    @discardableResult
    public func recoverInFlight() async throws -> Int { try await recoverInFlight(now: Date()) }
    /// ``claimDue(target:limit:fleet:now:)`` without fleet limits.
    public func claimDue(target: String, limit: Int, now: Date = Date()) async throws -> [StoredJob] {
        try await claimDue(target: target, limit: limit, fleet: nil, now: now)
    }
    /// ``complete(jobID:attempt:transition:now:)`` now.
    public func complete(jobID: Int64, attempt: AttemptRecord, transition: JobTransition) async throws {
        try await complete(jobID: jobID, attempt: attempt, transition: transition, now: Date())
    }
    /// ``release(jobIDs:dueAt:)`` due now.
    public func release(jobIDs: [Int64]) async throws { try await release(jobIDs: jobIDs, dueAt: Date()) }
    /// ``killJobsOfUnknownTargets(known:now:)`` now.
    @discardableResult
    public func killJobsOfUnknownTargets(known: [String]) async throws -> Int {
        try await killJobsOfUnknownTargets(known: known, now: Date())
    }
    /// Pushes every pending job of `target` due before `until` to `until` (the breaker's pause).
    @discardableResult
    public func postpone(target: String, until: Date) async throws -> Int { try await postpone(target: target, dagId: nil, until: until) }
    /// ``prune(now:chunk:)`` now, in chunks of 2,000 jobs.
    @discardableResult
    public func prune() async throws -> PruneResult { try await prune(now: Date(), chunk: 2000) }
    /// ``prune(now:chunk:)`` in chunks of 2,000 jobs.
    @discardableResult
    public func prune(now: Date) async throws -> PruneResult { try await prune(now: now, chunk: 2000) }
    /// ``events(eventID:source:)`` from any source.
    public func events(eventID: String) async throws -> [StoredEvent] { try await events(eventID: eventID, source: nil) }
    /// ``auditLog(limit:)``, the last 100.
    public func auditLog() async throws -> [AuditEntry] { try await auditLog(limit: 100) }
}
