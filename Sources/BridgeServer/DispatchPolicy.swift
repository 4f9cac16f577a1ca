public import BridgeAirflow
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
    /// Most concurrent requests to the target (default 4).
    public var maxInFlight: Int
    /// Most requests per second to the target; nil for no limit.
    public var rateLimit: Double?

    public init(retry: RetryPolicy = RetryPolicy(), maxInFlight: Int = 4, rateLimit: Double? = nil) {
        self.retry = retry
        self.maxInFlight = maxInFlight
        self.rateLimit = rateLimit
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

extension DispatchPolicy {
    /// The dispatch policy of a configured Airflow target (its `retry:`, `max_in_flight`, `rate_limit`).
    public init(target: TargetConfig) {
        self.init(retry: target.retry, maxInFlight: target.maxInFlight, rateLimit: target.rateLimit)
    }
}

extension DispatchTarget {
    /// One dispatch target per configured Airflow target, with its client and policy.
    public static func all(_ targets: AirflowTargets) -> [DispatchTarget] {
        targets.entries.values.map {
            DispatchTarget(name: $0.client.name, client: $0.client, policy: DispatchPolicy(target: $0.client.config))
        }
    }
}
