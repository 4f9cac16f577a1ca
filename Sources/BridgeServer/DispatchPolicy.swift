public import BridgeAirflow
public import BridgeCore

/// How the dispatcher treats one target: concurrency, rate, retries and circuit breaker.
///
/// The service maps each target's configuration onto this. Defaults:
/// `max_attempts` 10, `max_age` 24h, `initial_backoff` 1s, `max_backoff` 5m,
/// `max_retry_after` 15m, `breaker_threshold` 5, `breaker_cooldown` 30s,
/// `max_in_flight` 4, `rate_limit` none.
public struct DispatchPolicy: Sendable, Equatable {
    /// A job is dead after this many attempts.
    public var maxAttempts: Int
    /// A job is dead once this many seconds passed since it was created (or replayed).
    public var maxAge: Double
    /// Backoff cap of the first retry, in seconds; doubles per attempt.
    public var initialBackoff: Double
    /// Largest backoff cap, in seconds.
    public var maxBackoff: Double
    /// A server's `Retry-After` is honoured up to this many seconds.
    public var maxRetryAfter: Double
    /// Consecutive retryable failures that open the target's circuit breaker (0 disables it).
    public var breakerThreshold: Int
    /// Seconds the breaker stays open before one probe request.
    public var breakerCooldown: Double
    /// Most concurrent requests to the target.
    public var maxInFlight: Int
    /// Most requests per second to the target; nil for no limit.
    public var rateLimit: Double?

    public init(
        maxAttempts: Int = 10, maxAge: Double = 86400, initialBackoff: Double = 1, maxBackoff: Double = 300,
        maxRetryAfter: Double = 900, breakerThreshold: Int = 5, breakerCooldown: Double = 30, maxInFlight: Int = 4,
        rateLimit: Double? = nil
    ) {
        self.maxAttempts = maxAttempts
        self.maxAge = maxAge
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
        self.breakerThreshold = breakerThreshold
        self.breakerCooldown = breakerCooldown
        self.maxInFlight = maxInFlight
        self.rateLimit = rateLimit
    }

    /// The policy with a rule's overrides applied.
    public func applying(_ overrides: RetryOverrides?) -> DispatchPolicy {
        guard let o = overrides else { return self }
        var p = self
        if let v = o.maxAttempts { p.maxAttempts = v }
        if let v = o.maxAge { p.maxAge = v }
        if let v = o.initialBackoff { p.initialBackoff = v }
        if let v = o.maxBackoff { p.maxBackoff = v }
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
        let r = target.retry
        self.init(
            maxAttempts: r.maxAttempts, maxAge: r.maxAge, initialBackoff: r.initialBackoff, maxBackoff: r.maxBackoff,
            maxRetryAfter: r.maxRetryAfter, breakerThreshold: r.breakerThreshold, breakerCooldown: r.breakerCooldown,
            maxInFlight: target.maxInFlight, rateLimit: target.rateLimit)
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
