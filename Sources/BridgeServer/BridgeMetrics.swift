public import BridgeDispatch
public import BridgeIntake
public import Prometheus
import Synchronization

/// The service's Prometheus metrics, on one registry that `GET /metrics` renders.
///
/// Created per application (not a process-wide bootstrap) so tests can run several apps.
public final class BridgeMetrics: IntakeObserver {
    public let registry: PrometheusCollectorRegistry
    /// The last hour, per minute, for the console's overview (fed by the same calls).
    public let activity = ConsoleActivity()

    /// Which series a cached handle belongs to: the metric and its label values, in order.
    private struct SeriesKey: Hashable {
        var metric: Metric
        var labels: [String]
    }

    private enum Metric: Hashable {
        case received, rejected, matched, jobsCreated, renderErrors, jobs, dispatchDuration, webhookDuration, queue, dlq, breaker
        case concurrency, concurrencyMax, held
        case connectionsCut, connectionsOpen
    }

    /// Handles already registered. The registry's `make…` calls build the metric's name, check its
    /// help text and take the registry's lock each time; on the request path a dictionary lookup
    /// under this lock replaces that.
    private let counters = Mutex<[SeriesKey: Counter]>([:])
    private let histograms = Mutex<[SeriesKey: DurationHistogram]>([:])
    private let gauges = Mutex<[SeriesKey: Gauge]>([:])

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    private func counter(_ metric: Metric, _ labels: [String], make: () -> Counter) -> Counter {
        Self.cached(counters, SeriesKey(metric: metric, labels: labels), make: make)
    }

    private func histogram(_ metric: Metric, _ labels: [String], make: () -> DurationHistogram) -> DurationHistogram {
        Self.cached(histograms, SeriesKey(metric: metric, labels: labels), make: make)
    }

    private func gauge(_ metric: Metric, _ labels: [String], make: () -> Gauge) -> Gauge {
        Self.cached(gauges, SeriesKey(metric: metric, labels: labels), make: make)
    }

    /// The handle under `key`, made and remembered on first use. Two callers racing on a new
    /// series both get the same handle: the registry returns the one it already has.
    private static func cached<Handle: Sendable>(_ cache: borrowing Mutex<[SeriesKey: Handle]>, _ key: SeriesKey, make: () -> Handle) -> Handle {
        if let h = cache.withLock({ $0[key] }) { return h }
        let h = make()
        cache.withLock { $0[key] = h }
        return h
    }

    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// A metric name with its help text (`dagbridge_<name>_<unit>`).
    func d(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "dagbridge", metricName: name, unitName: unit, helpText: help)
    }

    /// `count` deliveries arrived on a source at once (a Kafka batch).
    public func eventsReceived(source: String, count: Int) {
        counter(.received, [source]) {
            registry.makeCounter(descriptor: d("events_received", "total", "Webhook deliveries and Kafka messages received"), labels: [("source", source)])
        }.increment(by: Int64(count))
        activity.add(.received, count)
    }

    /// A delivery was refused.
    public func eventRejected(source: String, reason: RejectionReason) {
        counter(.rejected, [source, reason.rawValue]) {
            registry.makeCounter(
                descriptor: d("events_rejected", "total", "Deliveries refused, by reason"), labels: [("source", source), ("reason", reason.rawValue)])
        }.increment()
        activity.add(.rejected)
    }

    /// An event matched at least one rule.
    public func eventMatched(source: String, jobs: Int) {
        counter(.matched, [source]) {
            registry.makeCounter(descriptor: d("events_matched", "total", "Events that matched at least one rule"), labels: [("source", source)])
        }.increment()
        counter(.jobsCreated, [source]) {
            registry.makeCounter(descriptor: d("jobs_created", "total", "Trigger jobs journaled"), labels: [("source", source)])
        }.increment(by: Int64(jobs))
        activity.add(.matched)
    }

    /// A matched rule could not render its trigger (the job goes to the DLQ).
    public func renderFailed(rule: String) {
        counter(.renderErrors, [rule]) {
            registry.makeCounter(descriptor: d("render_errors", "total", "Matched rules whose trigger could not be rendered"), labels: [("rule", rule)])
        }.increment()
        activity.add(.dead)
    }

    /// One dispatch attempt finished.
    public func jobOutcome(target: String, outcome: DispatchOutcome, seconds: Double) {
        counter(.jobs, [target, outcome.rawValue]) {
            registry.makeCounter(
                descriptor: d("jobs", "total", "Dispatch attempts by target and outcome"), labels: [("target", target), ("outcome", outcome.rawValue)])
        }.increment()
        histogram(.dispatchDuration, [target]) {
            registry.makeDurationHistogram(
                descriptor: d("dispatch_duration", "seconds", "Time of one trigger request to Airflow"), labels: [("target", target)], buckets: Self.latencyBuckets)
        }.record(.nanoseconds(Int64(seconds * 1e9)))
        switch outcome {
        case .delivered, .duplicate: activity.add(.delivered)
        case .retry: activity.add(.retried)
        case .dead: activity.add(.dead)
        }
    }

    /// Time to answer one webhook request.
    public func webhookLatency(source: String, seconds: Double) {
        histogram(.webhookDuration, [source]) {
            registry.makeDurationHistogram(
                descriptor: d("webhook_request_duration", "seconds", "Time to answer one webhook request"), labels: [("source", source)], buckets: Self.latencyBuckets)
        }.record(.nanoseconds(Int64(seconds * 1e9)))
    }

    /// Jobs waiting (due or retrying) and dead jobs.
    public func queue(depth: Int, dlq: Int) {
        gauge(.queue, []) { registry.makeGauge(descriptor: d("queue", "depth", "Jobs due or waiting to retry")) }.set(Double(depth))
        gauge(.dlq, []) { registry.makeGauge(descriptor: d("dlq", "size", "Dead jobs in the dead-letter queue")) }.set(Double(dlq))
    }

    /// Breaker state of a target: 0 closed, 1 half-open, 2 open.
    public func breaker(target: String, state: Int) {
        gauge(.breaker, [target]) {
            registry.makeGauge(descriptor: d("breaker", "state", "Circuit breaker: 0 closed, 1 half-open, 2 open"), labels: [("target", target)])
        }.set(Double(state))
    }

    /// A target's concurrency limit now (`dagbridge_target_concurrency`) and its ceiling, `max_in_flight`.
    public func concurrency(target: String, limit: Int, max: Int) {
        gauge(.concurrency, [target]) {
            registry.makeGauge(descriptor: d("target", "concurrency", "Calls allowed in flight to the target now (adaptive: 1 to max_in_flight)"), labels: [("target", target)])
        }.set(Double(limit))
        gauge(.concurrencyMax, [target]) {
            registry.makeGauge(descriptor: d("target_max_in_flight", "calls", "The target's max_in_flight"), labels: [("target", target)])
        }.set(Double(max))
    }

    /// Jobs of a target held by admission (`max_queued_runs`, `on_paused: hold`), by reason.
    public func held(target: String, reason: String, jobs: Int) {
        gauge(.held, [target, reason]) {
            registry.makeGauge(
                descriptor: d("jobs_held", "count", "Jobs held without spending attempts: queued_runs (max_queued_runs) or paused (on_paused: hold)"),
                labels: [("target", target), ("reason", reason)])
        }.set(Double(jobs))
    }

    /// The server closed a connection on its own: refused above `max_connections`, or too slow.
    public func connectionCut(_ cut: ConnectionCut) {
        counter(.connectionsCut, [cut.rawValue]) {
            registry.makeCounter(
                descriptor: d("http_connections_cut", "total", "HTTP connections the server closed: refused over max_connections, or a header, body or idle timeout"),
                labels: [("reason", cut.rawValue)])
        }.increment()
    }

    /// HTTP connections open now.
    public func connections(open: Int) {
        gauge(.connectionsOpen, []) { registry.makeGauge(descriptor: d("http_connections", "open", "HTTP connections open")) }.set(Double(open))
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> String { registry.emitToString() }
}
