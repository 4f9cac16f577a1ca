public import BridgeConfig
import BridgeCore

extension DispatchPolicy {
    /// Reads a target's dispatch keys from its section (the Airflow client reads the others):
    ///
    /// - `max_in_flight` (integer 1...1024, default 4): Airflow on SQLite fails concurrent writes.
    /// - `rate_limit` (requests per second, optional).
    /// - `concurrency` (`adaptive` | `fixed`, default `adaptive`): whether the calls in flight adapt between 1 and
    ///   `max_in_flight` to what the target shows (``ConcurrencyLimit``) or stay at `max_in_flight`.
    /// - `max_queued_runs` (integer 1...1000000, or a mapping of DAG ids to such integers with an optional `default`;
    ///   optional): hold a DAG's jobs while Airflow has this many of its runs queued.
    /// - `on_paused` (`trigger` | `hold`, default `trigger`): `hold` keeps jobs for a paused DAG until it is unpaused.
    /// - `admission_refresh` (duration 100ms...10m, default 2s): how long a read of a DAG's queued runs or pause is reused.
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
        if let n = section["concurrency"], let v = n.string(&diagnostics) {
            if let mode = ConcurrencyMode(rawValue: v) { p.concurrency = mode } else {
                diagnostics.error("concurrency must be adaptive or fixed, not '\(v)'", at: n)
            }
        }
        if let n = section["max_queued_runs"], !n.isNull { parseQueuedRuns(n, into: &p.admission, &diagnostics) }
        if let n = section["on_paused"], let v = n.string(&diagnostics) {
            switch v {
            case "hold": p.admission.holdPaused = true
            case "trigger": p.admission.holdPaused = false
            default: diagnostics.error("on_paused must be trigger (Airflow queues the run until the DAG is unpaused) or hold, not '\(v)'", at: n)
            }
        }
        if let n = section["admission_refresh"], let v = n.duration(&diagnostics) {
            if (0.1...600).contains(v) { p.admission.refresh = v } else {
                diagnostics.error("admission_refresh must be between 100ms and 10m", at: n)
            }
        }
        return diagnostics.items[before...].contains { $0.severity == .error } ? nil : p
    }
}

extension DispatchPolicy {
    /// `max_queued_runs: 50`, or `max_queued_runs: {default: 50, nightly_rebuild: 5}`.
    static func parseQueuedRuns(_ n: ConfigNode, into a: inout AdmissionPolicy, _ diagnostics: inout Diagnostics) {
        let range = 1...1_000_000
        if let entries = n.mapping {
            for (key, value) in entries {
                guard let dag = key.scalar, !dag.isEmpty else {
                    diagnostics.error("max_queued_runs: keys are DAG ids (or default)", at: key)
                    continue
                }
                guard let v = value.int(&diagnostics, in: range) else { continue }
                if dag == "default" { a.maxQueuedRuns = v } else { a.maxQueuedRunsByDAG[dag] = v }
            }
        } else if n.scalar != nil {
            if let v = n.int(&diagnostics, in: range) { a.maxQueuedRuns = v }
        } else {
            diagnostics.error("max_queued_runs must be a number of runs, or a mapping of DAG ids (and default) to numbers", at: n)
        }
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
