import BridgeAirflow
import BridgeConfig
import BridgeCore
public import BridgeDispatch
import BridgeHTTP
public import BridgeIntake
public import BridgeKafka
import BridgeRules
public import BridgeStore
import BridgeWebhooks
import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
public import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The assembled service: journal, HTTP client, Airflow targets, dispatcher, rules (with
/// reload), webhook routes, health, readiness and metrics, as one `ServiceGroup`.
///
/// Shutdown order (reverse of start): readiness fails first, then the HTTP server stops
/// accepting and finishes its requests, the Kafka consumers finish their batch, commit and leave
/// their groups, the dispatcher drains up to `server.shutdown_timeout`,
/// the rules watcher stops, and the HTTP client and journal close last.
public struct DagbridgeService: Sendable {
    public let config: ServiceConfig
    public let journal: any JournalStore
    public let dispatcher: Dispatcher
    public let rules: RuleSetHolder
    /// The dead-letter queue as the admin API (and the console) act on it.
    public let dlq: DLQService
    public let metrics: BridgeMetrics
    public let readiness: Readiness
    /// The HTTP server's open connections (`server.max_connections`) and the ones it cut.
    public let connections: ConnectionGate
    /// One consumer per configured Kafka source.
    public let kafkaConsumers: [KafkaConsumer]
    let http: HTTPClient
    public let reloader: RulesReloader
    let logger: Logger

    /// Builds every component from a validated configuration.
    /// - Throws: when the journal cannot be opened, the rules do not load, or a target's auth cannot work.
    public init(config: ServiceConfig, logger: Logger) async throws {
        self.config = config
        self.logger = logger
        let loaded = RuleSetLoader.load(directory: config.rules.path, options: config.ruleOptions)
        guard let ruleSet = loaded.ruleSet else {
            throw BridgeError(.config, "the rules in \(config.rules.path) have errors:\n" + loaded.diagnostics.map(\.description).joined(separator: "\n"))
        }
        journal = try await JournalOpener.open(config.store, logger: logger)
        http = try HTTPClient(logger: logger)
        let targets = try AirflowTargets(config.targets, client: http)
        let metrics = BridgeMetrics()
        self.metrics = metrics
        connections = ConnectionGate(limit: config.server.connections.maxConnections, logger: logger) { metrics.connectionCut($0) }
        dispatcher = Dispatcher(
            journal: journal, targets: DispatchTarget.all(clients: targets.clients, policies: config.policies),
            options: Dispatcher.Options(
                shutdownDeadline: config.server.shutdownTimeout,
                onAttempt: { target, outcome, seconds in metrics.jobOutcome(target: target, outcome: outcome, seconds: seconds) }),
            logger: logger)
        let rules = RuleSetHolder(ruleSet)
        self.rules = rules
        dlq = DLQService(journal: journal, currentRules: { rules.ruleSet })
        readiness = Readiness()
        reloader = RulesReloader(directory: config.rules.path, options: config.ruleOptions, holder: rules, watch: config.rules.watch, logger: logger)
        let ingress = KafkaIngress(rules: rules, store: journal, metrics: metrics, logger: logger)
        let observer = metrics
        kafkaConsumers = config.kafka.map { KafkaConsumer(config: $0, sink: ingress, observer: observer, logger: logger) }
    }

    /// The Hummingbird application with every route; its services are the journal/HTTP
    /// resources, the dispatcher and the rules watcher (the server itself runs last).
    public func makeApplication() throws -> some ApplicationProtocol {
        let router = Router()
        let ingress = WebhookIngress(sources: config.webhooks, rules: rules, store: journal, metrics: metrics, logger: logger)
        WebhookRoutes(ingress: ingress).add(to: router)
        HealthRoutes(readiness: readiness, journal: journal, storePath: config.store.backend == .sqlite ? config.store.path : nil, rules: rules).add(to: router)
        MetricsRoutes(metrics: metrics, dispatcher: dispatcher, connections: connections).add(to: router)
        AdminRoutes(token: config.server.adminToken?.value, rules: rules, reloader: reloader, dispatcher: dispatcher, dlq: dlq).add(to: router)
        // The operations console: the same DLQ service, rules and dispatcher status as the admin API.
        ConsoleRoutes(
            adminToken: config.server.adminToken?.value, viewerTokens: config.server.viewerTokens.map(\.value), tls: config.server.tlsCert != nil,
            pages: consolePages, logger: logger
        ).add(to: router)
        // Every connection, plain or TLS, is counted and timed (server.header_timeout etc.).
        let http1 = HTTPServerBuilder.http1(limits: config.server.connections, gate: connections, logger: logger)
        var server = http1
        if let cert = config.server.tlsCert, let key = config.server.tlsKey {
            // Checked when the config was read; loaded again here, so a file changed since says so too.
            let tls = ServerTLS(certFile: cert, keyFile: key)
            guard let configuration = tls.configuration else {
                throw BridgeError(.config, tls.problems.map(\.description).joined(separator: "\n"))
            }
            server = try .tls(http1, tlsConfiguration: configuration)
        }
        return Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(config.server.host, port: config.server.port), serverName: "dagbridge"),
            // Shutdown runs in reverse: Kafka consumers commit and leave their groups first.
            services: [Resources(http: http, logger: logger), dispatcher, reloader] + kafkaConsumers.map { $0 as any Service },
            logger: logger)
    }

    /// The console's pages over this service's journal, rules, dispatcher and metrics.
    public var consolePages: ConsolePages {
        let dispatcher = dispatcher, journal = journal
        return ConsolePages(
            dlq: dlq, rules: rules, reloader: reloader, targetStatus: { dispatcher.status() }, targets: config.targets,
            sources: config.webhooks.map(\.name) + config.kafka.map(\.name), activity: metrics.activity, queueDepth: { journal.queueDepth })
    }

    /// Runs until SIGTERM/SIGINT, then shuts down gracefully in the documented order.
    public func run() async throws {
        if let warning = OpenFileLimit.warning(maxConnections: config.server.connections.maxConnections, limit: OpenFileLimit.current) {
            logger.warning("\(warning)")
        }
        let app = try makeApplication()
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: app), .init(service: ReadinessGate(readiness: readiness, logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Whether the service should receive traffic.
public final class Readiness: Sendable {
    // Mutex around the shutting-down flag, read by /readyz.
    private let stopping = Mutex(false)

    public init() {}

    /// `true` once graceful shutdown began.
    public var isShuttingDown: Bool { stopping.withLock { $0 } }

    func beginShutdown() { stopping.withLock { $0 = true } }
}

/// Flips readiness off first when graceful shutdown starts.
struct ReadinessGate: Service {
    let readiness: Readiness
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        readiness.beginShutdown()
        logger.notice("shutting down: readiness is failing, draining")
    }
}

/// Owns the shared HTTP client; closes it when the service stops (after the dispatcher).
struct Resources: Service {
    let http: HTTPClient
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        await http.shutdownAndWait()
        logger.debug("HTTP client closed")
    }
}
