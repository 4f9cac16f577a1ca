public import BridgeCore
public import BridgeStore
public import Foundation

/// One target lane's state and decisions, with no clock, socket or journal of its own: every
/// method takes the time and returns what the lane should do, and the lane does the I/O
/// (claim, call, record) outside its lock.
public struct LaneState: Sendable {
    /// What the loop does next.
    public enum Plan: Sendable, Equatable {
        /// Sleep until this time (nil: until woken or the idle poll).
        case wait(Date?)
        /// Take up to `limit` due jobs; `probe` when the only one is the breaker's probe.
        case claim(limit: Int, probe: Bool)
    }

    /// What to do with a finished attempt.
    public enum AttemptAction: Sendable, Equatable {
        /// The job was handed back at shutdown: record nothing.
        case discard
        /// Record the attempt with this transition; `breakerOpenedUntil` when this attempt opened
        /// the breaker (the lane postpones the target's other jobs until then).
        case record(JobTransition, breakerOpenedUntil: Date?)
    }

    public let policy: DispatchPolicy
    public private(set) var inFlight: Set<Int64> = []
    /// Jobs handed back to the journal at shutdown: their late results are not recorded.
    public private(set) var released: Set<Int64> = []
    public private(set) var breaker: CircuitBreaker
    private var limiter: RateLimiter?
    /// Calls allowed in flight (adaptive or fixed).
    public private(set) var concurrency: ConcurrencyLimit
    private var tickets: [Int64: ConcurrencyLimit.Ticket] = [:]
    /// The last change of the concurrency limit, until the lane takes it for its log line.
    private var limitChange: ConcurrencyLimit.Change?
    public var stopping = false
    public private(set) var delivered = 0, duplicates = 0, retries = 0, dead = 0
    public private(set) var lastError: String?
    public private(set) var lastErrorAt: Date?

    public init(policy: DispatchPolicy) {
        self.policy = policy
        breaker = CircuitBreaker(threshold: policy.breakerThreshold, cooldown: policy.breakerCooldown)
        limiter = policy.rateLimit.map { RateLimiter(rate: $0) }
        concurrency = ConcurrencyLimit(maximum: policy.maxInFlight, adaptive: policy.concurrency == .adaptive)
    }

    /// How many jobs the lane may take now: limited by the concurrency limit (`max_in_flight` at most), the breaker and the rate.
    public mutating func plan(now: Date) -> Plan {
        var limit = concurrency.current - inFlight.count
        var probe = false
        switch breaker.permission(now: now) {
        case .allowed: break
        case .probe:
            limit = min(limit, 1)
            probe = true
        case .wait(let until):
            return .wait(until)
        }
        if limit <= 0 { return .wait(nil) }
        if var rl = limiter {
            let available = rl.available(now: now)
            if available == 0 {
                let t = rl.nextToken(now: now)
                limiter = rl
                return .wait(t)
            }
            limit = min(limit, available)
            limiter = rl
        }
        return .claim(limit: limit, probe: probe)
    }

    /// Jobs were claimed and their calls are starting.
    public mutating func started(_ ids: [Int64], now: Date, probe: Bool) {
        // The batch is claimed together: each call uses the limit as much as the whole batch does.
        let others = inFlight.count + ids.count - 1
        for id in ids {
            tickets[id] = concurrency.started(inFlight: others)
            inFlight.insert(id)
            limiter?.take(now: now)
        }
        if probe { breaker.probeStarted() }
    }

    /// Decides what an answered call means for its job, the concurrency limit and the breaker.
    ///
    /// - Overload (5xx, 429, 408, a timeout after the request was sent) shrinks an adaptive limit
    ///   (``ConcurrencyLimit``); it counts against the breaker only when the call was made at one in
    ///   flight (with `concurrency: fixed`: always). A target that could not be reached always counts.
    ///   Any answer closes the breaker.
    /// - While the breaker is open the job waits for it: its own backoff starts after the cool-down,
    ///   so the next probe is likely another job.
    public mutating func attemptFinished(
        _ job: StoredJob, result: TriggerResult, now: Date, using rng: inout some RandomNumberGenerator
    ) -> AttemptAction {
        if released.contains(job.id) { return .discard }
        var transition = Backoff.transition(
            for: result, attemptsBefore: job.attempts, ageFrom: job.ageFrom, now: now, policy: policy.applying(job.job.retry), using: &rng)
        let signal = Self.signal(result)
        let ticket = tickets.removeValue(forKey: job.id) ?? concurrency.started(inFlight: 0)
        if let change = concurrency.finished(ticket, signal, now: now) { limitChange = change }
        let verdict: CircuitBreaker.Verdict
        switch signal {
        case .answered: verdict = .success
        case .unreachable: verdict = .failure
        case .overloaded: verdict = !concurrency.adaptive || ticket.limitAtStart <= 1 ? .failure : .neutral
        }
        let openedUntil = breaker.record(verdict, now: now)
        if case .retry(let at) = transition, case .open(let until) = breaker.state {
            transition = .retry(at: until.addingTimeInterval(max(0, at.timeIntervalSince(now))))
        }
        return .record(transition, breakerOpenedUntil: openedUntil)
    }

    /// Counts a transition the journal recorded.
    public mutating func recorded(_ transition: JobTransition, reason: String, now: Date) {
        switch transition {
        case .delivered: delivered += 1
        case .duplicate: duplicates += 1
        case .retry:
            retries += 1
            lastError = reason
            lastErrorAt = now
        case .dead(let deadReason):
            dead += 1
            lastError = deadReason
            lastErrorAt = now
        }
    }

    /// A call ended (recorded or not).
    public mutating func finished(_ id: Int64) {
        inFlight.remove(id)
        tickets.removeValue(forKey: id)
    }

    /// The concurrency limit's last change, once (for the lane's log line).
    public mutating func takeLimitChange() -> ConcurrencyLimit.Change? {
        defer { limitChange = nil }
        return limitChange
    }

    /// What an attempt's result says about the target.
    public static func signal(_ result: TriggerResult) -> ConcurrencyLimit.Signal {
        guard case .retry = result.outcome else { return .answered(latency: result.duration) }
        return result.reachedTarget ? .overloaded(latency: result.duration) : .unreachable
    }

    /// Shutdown: the calls still in flight are handed back; their late results will be discarded.
    public mutating func releaseInFlight() -> [Int64] {
        let left = Array(inFlight)
        released.formUnion(left)
        return left
    }
}
