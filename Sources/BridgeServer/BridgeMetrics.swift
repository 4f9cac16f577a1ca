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

    /// A metric name with its help text (`dagbridge_<name>_<unit>`).
    private func d(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "dagbridge", metricName: name, unitName: unit, helpText: help)
    }

    /// A delivery arrived on a source.
    public func eventReceived(source: String) {
        registry.makeCounter(descriptor: d("events_received", "total", "Webhook deliveries and Kafka messages received"), labels: [("source", source)]).increment()
    }

    /// A delivery was refused (`signature`, `too_large`, `media_type`, `malformed`, `unavailable`, `unknown_source`).
    public func eventRejected(source: String, reason: String) {
        registry.makeCounter(descriptor: d("events_rejected", "total", "Deliveries refused, by reason"), labels: [("source", source), ("reason", reason)]).increment()
    }

    /// An event matched at least one rule.
    public func eventMatched(source: String, jobs: Int) {
        registry.makeCounter(descriptor: d("events_matched", "total", "Events that matched at least one rule"), labels: [("source", source)]).increment()
        registry.makeCounter(descriptor: d("jobs_created", "total", "Trigger jobs journaled"), labels: [("source", source)]).increment(by: Int64(jobs))
    }

    /// A matched rule could not render its trigger (the job goes to the DLQ).
    public func renderFailed(rule: String) {
        registry.makeCounter(descriptor: d("render_errors", "total", "Matched rules whose trigger could not be rendered"), labels: [("rule", rule)]).increment()
    }

    /// One dispatch attempt finished (`delivered`, `duplicate`, `retry`, `dead`).
    public func jobOutcome(target: String, outcome: String, seconds: Double) {
        registry.makeCounter(descriptor: d("jobs", "total", "Dispatch attempts by target and outcome"), labels: [("target", target), ("outcome", outcome)]).increment()
        registry.makeDurationHistogram(descriptor: d("dispatch_duration", "seconds", "Time of one trigger request to Airflow"), labels: [("target", target)], buckets: Self.latencyBuckets)
            .record(.nanoseconds(Int64(seconds * 1e9)))
    }

    /// Time to answer one webhook request.
    public func webhookLatency(source: String, seconds: Double) {
        registry.makeDurationHistogram(descriptor: d("webhook_request_duration", "seconds", "Time to answer one webhook request"), labels: [("source", source)], buckets: Self.latencyBuckets)
            .record(.nanoseconds(Int64(seconds * 1e9)))
    }

    /// Jobs waiting (due or retrying) and dead jobs.
    public func queue(depth: Int, dlq: Int) {
        registry.makeGauge(descriptor: d("queue", "depth", "Jobs due or waiting to retry")).set(Double(depth))
        registry.makeGauge(descriptor: d("dlq", "size", "Dead jobs in the dead-letter queue")).set(Double(dlq))
    }

    /// Breaker state of a target: 0 closed, 1 half-open, 2 open.
    public func breaker(target: String, state: Int) {
        registry.makeGauge(descriptor: d("breaker", "state", "Circuit breaker: 0 closed, 1 half-open, 2 open"), labels: [("target", target)]).set(Double(state))
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> String { registry.emitToString() }
}
