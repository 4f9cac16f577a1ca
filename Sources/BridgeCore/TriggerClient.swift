/// How an Airflow answered one trigger attempt, classified (DESIGN.md "Answer classification").
public enum TriggerOutcome: Sendable, Equatable {
    /// The run was created; `run` is Airflow's description of it when it sent one.
    case delivered(run: JSONValue?)
    /// Airflow already had a run with this id: success, nothing more to do.
    case duplicate
    /// Try again later; `retryAfter` (seconds) when the server said so.
    case retry(retryAfter: Double?)
    /// Will never succeed as sent; the job goes to the dead-letter queue.
    case permanent
}

/// One attempt's full result: outcome, reason, HTTP status, timing and Airflow's answer (trimmed).
public struct TriggerResult: Sendable, Equatable {
    public var outcome: TriggerOutcome
    /// A sentence a person can act on ("DAG 'x' not found on target 'prod'").
    public var reason: String
    /// HTTP status, or `nil` when no answer arrived (timeout, connection error).
    public var httpStatus: Int?
    /// Wall time of the attempt in seconds.
    public var duration: Double
    /// The start of Airflow's answer body, for the attempt history.
    public var answer: String
    /// `false` when the request never reached the target (connection refused, DNS, TLS, connect
    /// timeout): an outage rather than overload.
    public var reachedTarget: Bool

    public init(
        outcome: TriggerOutcome, reason: String, httpStatus: Int? = nil, duration: Double = 0, answer: String = "", reachedTarget: Bool = true
    ) {
        self.outcome = outcome
        self.reason = reason
        self.httpStatus = httpStatus
        self.duration = duration
        self.answer = answer
        self.reachedTarget = reachedTarget
    }
}

/// What a target says about one DAG, read before runs are created for it (admission control).
public struct DAGState: Sendable, Equatable {
    /// Whether the DAG is paused (nil: not read).
    public var paused: Bool?
    /// How many of its runs are queued (nil: not read).
    public var queuedRuns: Int?

    public init(paused: Bool? = nil, queuedRuns: Int? = nil) {
        self.paused = paused
        self.queuedRuns = queuedRuns
    }
}

/// A client that can read a DAG's state (the Airflow client; test doubles).
public protocol DAGStateReader: Sendable {
    /// Reads what is asked of the DAG.
    /// - Throws: when the target cannot answer (the reason is the error's description).
    func dagState(_ dagId: String, paused: Bool, queuedRuns: Bool) async throws -> DAGState
}

/// Something that can create DAG runs on a named target (the Airflow client, or a test double).
public protocol TriggerClient: Sendable {
    /// Sends one job once and classifies the answer. Never throws: every failure is an outcome.
    func trigger(_ job: TriggerJob) async -> TriggerResult
}

/// A matched rule whose trigger could not be rendered for an event: it becomes a dead letter
/// carrying the reason, so nothing acknowledged is silently dropped.
public struct RenderFailure: Sendable, Equatable {
    public var rule: String
    /// The rule's target, for DLQ filtering.
    public var target: String
    public var reason: String

    public init(rule: String, target: String, reason: String) {
        self.rule = rule
        self.target = target
        self.reason = reason
    }
}

/// Where a source writes accepted events (the journal).
public protocol JobStore: Sendable {
    /// Durably stores an event and its jobs in one transaction; returns only when durable.
    /// - Returns: the ids given to the jobs, in order.
    func enqueue(event: Event, jobs: [TriggerJob]) async throws -> [Int64]
    /// Like ``enqueue(event:jobs:)``, and also records `failures` as dead letters in the same transaction.
    func enqueue(event: Event, jobs: [TriggerJob], failures: [RenderFailure]) async throws -> [Int64]
    /// Stores several events, each with its jobs and dead letters, in one transaction; returns
    /// only when all are durable. Idempotent per event like ``enqueue(event:jobs:failures:)``.
    func enqueueBatch(_ entries: [JobStoreEntry]) async throws
    /// `true` while sources should slow down (queue above its high-water mark).
    var isBackpressured: Bool { get }
}

/// A replay cache shared by a fleet: a signed delivery verified by one replica is refused by every
/// other inside its window. (One process's own cache is in the verifier; a shared journal adds this.)
public protocol ReplayGuard: Sendable {
    /// Remembers `key` in `scope` until `until` (Unix seconds).
    /// - Returns: `false` when it was remembered before and has not expired at `now`.
    /// - Throws: when the shared store cannot be asked (the delivery is then not acknowledged).
    func firstSeen(scope: String, key: [UInt8], until: Double, now: Double) async throws -> Bool
}

/// One event of a ``JobStore/enqueueBatch(_:)`` call.
public struct JobStoreEntry: Sendable {
    public var event: Event
    public var jobs: [TriggerJob]
    public var failures: [RenderFailure]

    public init(event: Event, jobs: [TriggerJob], failures: [RenderFailure]) {
        self.event = event
        self.jobs = jobs
        self.failures = failures
    }
}

extension JobStore {
    /// One ``enqueue(event:jobs:failures:)`` after another, for stores without a batch write.
    public func enqueueBatch(_ entries: [JobStoreEntry]) async throws {
        for e in entries { _ = try await enqueue(event: e.event, jobs: e.jobs, failures: e.failures) }
    }
}
