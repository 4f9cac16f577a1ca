import BridgeCore
public import BridgeStore
public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// Delivers due jobs from the journal to their targets: a `Service` with one ``run()``.
///
/// Each target has its own lane (its own loop, concurrency limit, rate limiter and circuit
/// breaker), so a broken or slow target never delays another. A lane takes due jobs in order of
/// `next_attempt_at`, calls the target's ``TriggerClient``, records the attempt and moves the
/// job to delivered, duplicate, retry (backoff with full jitter, `Retry-After` honoured up to a
/// cap) or dead (see ``Backoff/transition(for:attemptsBefore:ageFrom:now:policy:using:)``).
///
/// - Start-up: jobs left in flight by a crashed process are due again; pending jobs of targets
///   that are not configured go to the dead-letter queue.
/// - New jobs wake the lanes at once (the journal notifies); otherwise they poll every
///   ``Options/idlePoll``, which also picks up jobs replayed by `dagbridge dlq` from another process.
/// - Graceful shutdown stops taking jobs, waits for calls in flight up to
///   ``Options/shutdownDeadline``, then leaves the rest due for the next start.
public final class Dispatcher: Service, Sendable {
    /// Settings of the dispatcher itself (per-target settings are in ``DispatchPolicy``).
    public struct Options: Sendable {
        /// How long graceful shutdown waits for calls in flight.
        public var shutdownDeadline: Duration
        /// Longest sleep of an idle lane.
        public var idlePoll: Duration
        /// Time between maintenance passes (re-count the queue, dead-letter jobs of unknown targets).
        public var maintenanceInterval: Duration
        /// Time between retention passes (``Journal/prune(now:chunk:)``); nil disables pruning here.
        public var pruneInterval: Duration?
        /// Called after every recorded attempt (metrics): target, outcome and the seconds the request took.
        public var onAttempt: (@Sendable (_ target: String, _ outcome: DispatchOutcome, _ seconds: Double) -> Void)?

        public init(
            shutdownDeadline: Duration = .seconds(10), idlePoll: Duration = .seconds(1), maintenanceInterval: Duration = .seconds(30),
            pruneInterval: Duration? = .seconds(3600),
            onAttempt: (@Sendable (_ target: String, _ outcome: DispatchOutcome, _ seconds: Double) -> Void)? = nil
        ) {
            self.shutdownDeadline = shutdownDeadline
            self.idlePoll = idlePoll
            self.maintenanceInterval = maintenanceInterval
            self.pruneInterval = pruneInterval
            self.onAttempt = onAttempt
        }
    }

    /// A target's live state, for metrics and the admin API.
    public struct TargetStatus: Sendable, Equatable {
        public var target: String
        public var inFlight: Int
        /// Where the target's circuit breaker is.
        public var breaker: CircuitBreaker.Phase
        /// Counters since start.
        public var delivered: Int
        public var duplicates: Int
        public var retries: Int
        public var dead: Int
        /// The reason of the last failed attempt (retry or dead) and when it happened.
        public var lastError: String?
        public var lastErrorAt: Date?
        /// Calls allowed in flight now, its ceiling (`max_in_flight`) and how it is set.
        public var concurrency: Int
        public var maxInFlight: Int
        public var concurrencyMode: ConcurrencyMode
        /// Moving average and fastest recent latency of answers (seconds; nil before the first).
        public var latency: Double?
        public var baselineLatency: Double?
        /// Jobs held by admission (``AdmissionGate``), by reason, and the DAGs held.
        public var held: [AdmissionGate.HoldReason: Int]
        public var heldDAGs: [AdmissionGate.Held]
    }

    let journal: any JournalStore
    let lanes: [String: Lane]
    let options: Options
    let logger: Logger
    private let maintenanceWake = Wakeup()
    private let stopped = Mutex(false)

    /// - Parameters:
    ///   - journal: the store to take jobs from.
    ///   - targets: every configured target; jobs for other targets go to the dead-letter queue.
    public init(journal: any JournalStore, targets: [DispatchTarget], options: Options = Options(), logger: Logger = Logger(label: "dagbridge.dispatcher")) {
        self.journal = journal
        self.options = options
        self.logger = logger
        var lanes: [String: Lane] = [:]
        for t in targets { lanes[t.name] = Lane(target: t, journal: journal, options: options, logger: logger) }
        self.lanes = lanes
        let all = Array(lanes.values)
        journal.onNewJobs { for lane in all { lane.wake.signal() } }
    }

    /// Runs until cancelled or asked to shut down gracefully.
    public func run() async throws {
        let reset = try await journal.recoverInFlight()
        if reset > 0 { logger.notice("jobs in flight at the last stop are due again", metadata: ["jobs": "\(reset)"]) }
        let killed = try await journal.killJobsOfUnknownTargets(known: Array(lanes.keys))
        if killed > 0 { logger.warning("jobs for unconfigured targets moved to the dead-letter queue", metadata: ["jobs": "\(killed)"]) }
        let lanes = Array(self.lanes.values)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for lane in lanes { group.addTask { await lane.run() } }
                group.addTask { await self.maintain() }
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Stops taking jobs (as graceful shutdown does); ``run()`` returns once calls in flight end.
    public func stop() {
        stopped.withLock { $0 = true }
        for lane in lanes.values { lane.stop() }
        maintenanceWake.signal()
    }

    private var isStopped: Bool { stopped.withLock { $0 } }

    private func maintain() async {
        var lastPrune = Date()
        while !Task.isCancelled, !isStopped {
            await maintenanceWake.wait(until: Date().addingTimeInterval(options.maintenanceInterval.timeInterval))
            if Task.isCancelled || isStopped { return }
            do {
                try await journal.killJobsOfUnknownTargets(known: Array(lanes.keys))
                try await journal.refreshCounters()
                if let every = options.pruneInterval, Date().timeIntervalSince(lastPrune) >= every.timeInterval {
                    lastPrune = Date()
                    let r = try await journal.prune()
                    if r.jobs > 0 { logger.info("pruned delivered jobs", metadata: ["jobs": "\(r.jobs)", "events": "\(r.events)"]) }
                }
            } catch {
                logger.error("store maintenance failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Pending + in-flight jobs.
    public var queueDepth: Int { journal.queueDepth }

    /// Jobs in the dead-letter queue.
    public func deadLetterCount() async throws -> Int { try await journal.counts().dead }

    /// Live state of every target, sorted by name.
    public func status() -> [TargetStatus] {
        lanes.values.map(\.status).sorted { $0.target < $1.target }
    }

    /// The breaker phase of one target, nil for an unknown target.
    public func breakerState(target: String) -> CircuitBreaker.Phase? { lanes[target]?.status.breaker }
}
