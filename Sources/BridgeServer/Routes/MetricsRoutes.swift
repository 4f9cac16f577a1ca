public import BridgeDispatch
public import Hummingbird
import NIOCore

/// `GET /metrics`: the Prometheus text, with the queue, dead-letter, breaker and open-connection
/// gauges refreshed first.
public struct MetricsRoutes: Sendable {
    public let metrics: BridgeMetrics
    public let dispatcher: Dispatcher
    public let connections: ConnectionGate

    public init(metrics: BridgeMetrics, dispatcher: Dispatcher, connections: ConnectionGate) {
        self.metrics = metrics
        self.dispatcher = dispatcher
        self.connections = connections
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/metrics") { _, _ -> Response in
            let dead = (try? await dispatcher.deadLetterCount()) ?? 0
            metrics.queue(depth: dispatcher.queueDepth, dlq: dead)
            metrics.connections(open: connections.openConnections)
            for s in dispatcher.status() {
                metrics.breaker(target: s.target, state: s.breaker.gaugeValue)
                metrics.concurrency(target: s.target, limit: s.concurrency, max: s.maxInFlight)
                for (reason, jobs) in s.held { metrics.held(target: s.target, reason: reason.rawValue, jobs: jobs) }
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render())))
        }
    }
}
