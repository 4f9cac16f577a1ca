public import BridgeConfig
import BridgeCore

extension DispatchPolicy {
    /// Reads a target's dispatch keys from its section (the Airflow client reads the others):
    ///
    /// - `max_in_flight` (integer 1...1024, default 4): Airflow on SQLite fails concurrent writes.
    /// - `rate_limit` (requests per second, optional).
    /// - `retry` (mapping): `max_attempts` (integer, default 10), `max_age` (duration, default 24h), `initial_backoff`
    ///   (duration, default 1s), `max_backoff` (duration, default 5m), `max_retry_after` (duration, default 15m),
    ///   `breaker_threshold` (integer, default 5, 0 disables), `breaker_cooldown` (duration, default 30s).
    ///
    /// - Returns: the policy, or nil when a key had errors (all recorded).
    public static func parse(_ section: inout ConfigSection, _ diagnostics: inout Diagnostics) -> DispatchPolicy? {
        let before = diagnostics.items.count
        var p = DispatchPolicy()
        if let n = section["max_in_flight"], let v = n.int(&diagnostics, in: 1...1024) { p.maxInFlight = v }
        if let n = section["rate_limit"], !n.isNull, let v = n.double(&diagnostics) {
            if v > 0 { p.rateLimit = v } else { diagnostics.error("rate_limit must be a positive number of requests per second", at: n) }
        }
        if let n = section["retry"], let r = RetryPolicy.parse(n, &diagnostics) { p.retry = r }
        return diagnostics.items[before...].contains { $0.severity == .error } ? nil : p
    }
}

extension RetryPolicy {
    /// Parses a `retry:` mapping; `nil` when it has errors (all recorded).
    public static func parse(_ node: ConfigNode, _ diagnostics: inout Diagnostics) -> RetryPolicy? {
        var section = ConfigSection(node)
        var p = RetryPolicy()
        let before = diagnostics.items.count
        func duration(_ key: String) -> Double? {
            guard let n = section[key], let v = n.duration(&diagnostics) else { return nil }
            guard v > 0 else {
                diagnostics.error("duration must be greater than zero", at: n)
                return nil
            }
            return v
        }
        if let n = section["max_attempts"], let v = n.int(&diagnostics, in: 1...1_000_000) { p.maxAttempts = v }
        if let v = duration("max_age") { p.maxAge = v }
        if let v = duration("initial_backoff") { p.initialBackoff = v }
        if let v = duration("max_backoff") { p.maxBackoff = v }
        if let v = duration("max_retry_after") { p.maxRetryAfter = v }
        if let n = section["breaker_threshold"], let v = n.int(&diagnostics, in: 0...1_000_000) { p.breakerThreshold = v }
        if let v = duration("breaker_cooldown") { p.breakerCooldown = v }
        section.reportUnknown(&diagnostics)
        if p.initialBackoff > p.maxBackoff {
            diagnostics.error(
                "initial_backoff (\(DurationText.format(p.initialBackoff))) is larger than max_backoff (\(DurationText.format(p.maxBackoff)))",
                at: node["initial_backoff"] ?? node)
        }
        return diagnostics.items[before...].contains { $0.severity == .error } ? nil : p
    }
}
