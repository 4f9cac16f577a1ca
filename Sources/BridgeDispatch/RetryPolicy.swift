public import BridgeCore

/// How the dispatcher retries a target's jobs (the `retry:` mapping of a target).
///
/// A job is dead after ``maxAttempts`` attempts or ``maxAge`` seconds since it was
/// accepted, whichever comes first. Backoff is exponential with full jitter from
/// ``initialBackoff`` up to ``maxBackoff``; a `Retry-After` answer is honoured up to
/// ``maxRetryAfter``. After ``breakerThreshold`` consecutive retriable failures the
/// target's breaker opens for ``breakerCooldown``.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts before a job is dead (default 10).
    public var maxAttempts: Int
    /// Seconds after acceptance before a job is dead (default 24h).
    public var maxAge: Double
    /// First backoff in seconds (default 1s).
    public var initialBackoff: Double
    /// Largest backoff in seconds (default 5m).
    public var maxBackoff: Double
    /// Largest `Retry-After` honoured, in seconds (default 15m).
    public var maxRetryAfter: Double
    /// Consecutive retriable failures that open the circuit breaker (default 5; 0 disables it).
    public var breakerThreshold: Int
    /// Seconds the breaker stays open before one probe request (default 30s).
    public var breakerCooldown: Double

    /// Creates the settings; every parameter has the documented default.
    public init(
        maxAttempts: Int = 10, maxAge: Double = 86_400, initialBackoff: Double = 1, maxBackoff: Double = 300,
        maxRetryAfter: Double = 900, breakerThreshold: Int = 5, breakerCooldown: Double = 30
    ) {
        self.maxAttempts = maxAttempts
        self.maxAge = maxAge
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
        self.breakerThreshold = breakerThreshold
        self.breakerCooldown = breakerCooldown
    }

    /// This policy with a rule's overrides applied.
    public func applying(_ overrides: RetryOverrides?) -> RetryPolicy {
        guard let overrides else { return self }
        var p = self
        if let v = overrides.maxAttempts { p.maxAttempts = v }
        if let v = overrides.maxAge { p.maxAge = v }
        if let v = overrides.initialBackoff { p.initialBackoff = v }
        if let v = overrides.maxBackoff { p.maxBackoff = v }
        return p
    }
}
