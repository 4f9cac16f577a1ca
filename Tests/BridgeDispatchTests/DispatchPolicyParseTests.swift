import BridgeConfig
import BridgeDispatch
import Testing

/// A target's dispatcher keys, read from its section beside the Airflow client's keys.
@Suite struct DispatchPolicyParseTests {
    func parse(_ yaml: String) -> (DispatchPolicy?, [Diagnostic], ConfigSection?) {
        let (root, yd) = YAMLLoader.parse(yaml, file: "t.yaml")
        var d = Diagnostics()
        d.append(contentsOf: yd)
        guard let root else { return (nil, d.items, nil) }
        var section = ConfigSection(root)
        let p = DispatchPolicy.parse(&section, &d)
        return (p, d.items, section)
    }

    @Test func everyKey() {
        let (p, d, section) = parse(
            "max_in_flight: 8\nrate_limit: 50\nretry: {max_attempts: 3, max_age: 2h, initial_backoff: 500ms, max_backoff: 1m, max_retry_after: 10m, breaker_threshold: 7, breaker_cooldown: 1m}\n"
                + "concurrency: fixed\nmax_queued_runs: {default: 50, nightly: 5}\non_paused: hold\nadmission_refresh: 5s\n")
        #expect(d.isEmpty, "\(d)")
        #expect(
            p == DispatchPolicy(
                retry: RetryPolicy(maxAttempts: 3, maxAge: 7200, initialBackoff: 0.5, maxBackoff: 60, maxRetryAfter: 600, breakerThreshold: 7, breakerCooldown: 60),
                maxInFlight: 8, rateLimit: 50, concurrency: .fixed,
                admission: AdmissionPolicy(maxQueuedRuns: 50, maxQueuedRunsByDAG: ["nightly": 5], holdPaused: true, refresh: 5)))
        #expect(p?.admission.maxQueuedRuns(dagId: "nightly") == 5 && p?.admission.maxQueuedRuns(dagId: "other") == 50)
        #expect(section?.known == ["max_in_flight", "rate_limit", "retry", "concurrency", "max_queued_runs", "on_paused", "admission_refresh"])
    }

    @Test("defaults: adaptive concurrency up to 4, no admission checks")
    func defaults() {
        let (p, d, _) = parse("{}\n")
        #expect(d.isEmpty)
        #expect(p?.concurrency == .adaptive && p?.maxInFlight == 4 && p?.admission.isActive == false)
        let (q, _, _) = parse("max_queued_runs: 20\n")
        #expect(q?.admission.maxQueuedRuns == 20 && q?.admission.isActive == true && q?.admission.holdPaused == false)
    }

    @Test("bad values are errors at their position", arguments: [
        ("max_in_flight: 0\n", "1:16"), ("rate_limit: -1\n", "1:13"), ("retry: {max_attempts: 3, initial_backof: 1s}\n", "1:26"),
        ("retry: {initial_backoff: 10m, max_backoff: 1m}\n", "1:26"), ("retry: {max_age: 0s}\n", "1:18"),
        ("concurrency: auto\n", "1:14"), ("max_queued_runs: 0\n", "1:18"), ("max_queued_runs: {nightly: lots}\n", "1:28"),
        ("max_queued_runs: [5]\n", "1:18"), ("on_paused: wait\n", "1:12"), ("admission_refresh: 1ms\n", "1:20"),
    ])
    func badValues(yaml: String, at: String) {
        let (p, d, _) = parse(yaml)
        #expect(p == nil)
        #expect(d.contains { $0.severity == .error && $0.location.map { "\($0.line):\($0.column)" } == at }, "\(d.map(\.description))")
    }

    @Test func unknownRetryKeySuggestsTheKnownOne() {
        let (_, d, _) = parse("retry: {max_attemps: 3}\n")
        #expect(d.first?.message.contains("did you mean 'max_attempts'?") == true, "\(d.map(\.description))")
    }
}
