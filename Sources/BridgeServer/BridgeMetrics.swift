public import Prometheus

/// The service's Prometheus metrics, on one registry that `GET /metrics` renders.
///
/// Created per application (not a process-wide bootstrap) so tests can run several apps.
public final class BridgeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// A delivery arrived on a source.
    public func eventReceived(source: String) {
        registry.makeCounter(name: "dagbridge_events_received_total", labels: [("source", source)]).increment()
    }

    /// A delivery was refused (`signature`, `too_large`, `media_type`, `malformed`, `unavailable`, `unknown_source`).
    public func eventRejected(source: String, reason: String) {
        registry.makeCounter(name: "dagbridge_events_rejected_total", labels: [("source", source), ("reason", reason)]).increment()
    }

    /// An event matched at least one rule.
    public func eventMatched(source: String, jobs: Int) {
        registry.makeCounter(name: "dagbridge_events_matched_total", labels: [("source", source)]).increment()
        registry.makeCounter(name: "dagbridge_jobs_created_total", labels: [("source", source)]).increment(by: Int64(jobs))
    }

    /// A matched rule could not render its trigger (the job goes to the DLQ).
    public func renderFailed(rule: String) {
        registry.makeCounter(name: "dagbridge_render_errors_total", labels: [("rule", rule)]).increment()
    }

    /// One dispatch attempt finished (`delivered`, `duplicate`, `retry`, `dead`).
    public func jobOutcome(target: String, outcome: String, seconds: Double) {
        registry.makeCounter(name: "dagbridge_jobs_total", labels: [("target", target), ("outcome", outcome)]).increment()
        registry.makeDurationHistogram(name: "dagbridge_dispatch_duration_seconds", labels: [("target", target)], buckets: Self.latencyBuckets)
            .record(.nanoseconds(Int64(seconds * 1e9)))
    }

    /// Time to answer one webhook request.
    public func webhookLatency(source: String, seconds: Double) {
        registry.makeDurationHistogram(name: "dagbridge_webhook_request_duration_seconds", labels: [("source", source)], buckets: Self.latencyBuckets)
            .record(.nanoseconds(Int64(seconds * 1e9)))
    }

    /// Jobs waiting (due or retrying) and dead jobs.
    public func queue(depth: Int, dlq: Int) {
        registry.makeGauge(name: "dagbridge_queue_depth").set(Double(depth))
        registry.makeGauge(name: "dagbridge_dlq_size").set(Double(dlq))
    }

    /// Breaker state of a target: 0 closed, 1 half-open, 2 open.
    public func breaker(target: String, state: Int) {
        registry.makeGauge(name: "dagbridge_breaker_state", labels: [("target", target)]).set(Double(state))
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> String { registry.emitToString() }
}
