public import BridgeCore

/// How the dispatcher treats one target: its retry policy (attempts, age, backoff,
/// `Retry-After` cap, circuit breaker — the target's `retry:` keys, with their defaults in
/// ``RetryPolicy``), plus concurrency and rate.
///
/// The retry fields read through directly (`policy.maxAttempts`), so there is one definition
/// of them and of their defaults.
@dynamicMemberLookup
public struct DispatchPolicy: Sendable, Equatable {
    /// Attempts, age, backoff, `Retry-After` cap and breaker settings.
    public var retry: RetryPolicy
    /// Most concurrent requests to the target (default 4); with `concurrency: adaptive` the ceiling of the adaptive limit.
    public var maxInFlight: Int
    /// Most requests per second to the target; nil for no limit.
    public var rateLimit: Double?
    /// Whether the calls in flight adapt to the target (``ConcurrencyLimit``) or stay at `maxInFlight`.
    public var concurrency: ConcurrencyMode
    /// Checks against Airflow's own state before runs are created (off by default).
    public var admission: AdmissionPolicy

    public init(
        retry: RetryPolicy = RetryPolicy(), maxInFlight: Int = 4, rateLimit: Double? = nil, concurrency: ConcurrencyMode = .adaptive,
        admission: AdmissionPolicy = AdmissionPolicy()
    ) {
        self.retry = retry
        self.maxInFlight = maxInFlight
        self.rateLimit = rateLimit
        self.concurrency = concurrency
        self.admission = admission
    }

    /// The retry settings, read and written as if they were the policy's own.
    public subscript<T>(dynamicMember keyPath: WritableKeyPath<RetryPolicy, T>) -> T {
        get { retry[keyPath: keyPath] }
        set { retry[keyPath: keyPath] = newValue }
    }

    /// The policy with a rule's overrides applied.
    public func applying(_ overrides: RetryOverrides?) -> DispatchPolicy {
        var p = self
        p.retry = retry.applying(overrides)
        return p
    }
}

/// `concurrency:` of a target.
public enum ConcurrencyMode: String, Sendable, Equatable, CaseIterable {
    /// Between 1 and `max_in_flight`, from what the target shows (the default).
    case adaptive
    /// Always up to `max_in_flight`.
    case fixed
}

/// Admission against Airflow's own state (opt-in): hold a DAG's jobs, without spending attempts,
/// while Airflow already has `max_queued_runs` of its runs queued, or while the DAG is paused.
public struct AdmissionPolicy: Sendable, Equatable {
    /// The limit on queued runs for every DAG of the target; nil for none.
    public var maxQueuedRuns: Int?
    /// Limits for single DAGs (win over ``maxQueuedRuns``).
    public var maxQueuedRunsByDAG: [String: Int]
    /// `on_paused: hold`: jobs for a paused DAG wait until it is unpaused.
    public var holdPaused: Bool
    /// How long a read of a DAG's state is reused (seconds); held jobs are looked at again after it.
    public var refresh: Double

    public init(maxQueuedRuns: Int? = nil, maxQueuedRunsByDAG: [String: Int] = [:], holdPaused: Bool = false, refresh: Double = 2) {
        self.maxQueuedRuns = maxQueuedRuns
        self.maxQueuedRunsByDAG = maxQueuedRunsByDAG
        self.holdPaused = holdPaused
        self.refresh = refresh
    }

    /// The queued-runs limit of one DAG, nil for none.
    public func maxQueuedRuns(dagId: String) -> Int? { maxQueuedRunsByDAG[dagId] ?? maxQueuedRuns }

    /// Whether any queued-runs limit is set.
    public var limitsQueuedRuns: Bool { maxQueuedRuns != nil || !maxQueuedRunsByDAG.isEmpty }

    /// Whether anything is checked before a trigger.
    public var isActive: Bool { holdPaused || limitsQueuedRuns }
}

/// One target the dispatcher delivers to: its name (as in jobs), client and policy.
public struct DispatchTarget: Sendable {
    public var name: String
    public var client: any TriggerClient
    public var policy: DispatchPolicy

    public init(name: String, client: any TriggerClient, policy: DispatchPolicy = DispatchPolicy()) {
        self.name = name
        self.client = client
        self.policy = policy
    }
}

extension DispatchTarget {
    /// One dispatch target per client, with its target's policy (the default policy where none was configured).
    public static func all(clients: [String: any TriggerClient], policies: [String: DispatchPolicy]) -> [DispatchTarget] {
        clients.map { DispatchTarget(name: $0.key, client: $0.value, policy: policies[$0.key] ?? DispatchPolicy()) }
    }
}
