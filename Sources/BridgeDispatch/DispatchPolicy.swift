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

extension DispatchTarget {
    /// One dispatch target per client, with its target's policy (the default policy where none was configured).
    public static func all(clients: [String: any TriggerClient], policies: [String: DispatchPolicy]) -> [DispatchTarget] {
        clients.map { DispatchTarget(name: $0.key, client: $0.value, policy: policies[$0.key] ?? DispatchPolicy()) }
    }
}
