import BridgeCore
public import Logging

/// The configured targets by name, each with its ``AirflowClient``, limits and retry policy.
///
/// Targets whose ``TargetConfig/transportOptions`` are default share `shared`; the others get their own
/// transport from `makeTransport` (TLS client certificates, proxies, Kerberos).
public final class AirflowTargets: Sendable {
    /// One target's client and limits.
    public struct Entry: Sendable {
        public let client: AirflowClient
        /// Requests in flight at once (the dispatcher enforces it; ``limiter`` can too).
        public let maxInFlight: Int
        /// Requests per second, if limited.
        public let rateLimit: Double?
        /// The target's retry policy.
        public let retry: RetryPolicy
        /// A semaphore sized ``maxInFlight`` for callers that want it.
        public let limiter: AsyncSemaphore
    }

    /// By target name.
    public let entries: [String: Entry]

    /// - Parameters:
    ///   - configs: parsed targets.
    ///   - shared: the HTTP client for targets with default transport options.
    ///   - makeTransport: builds a dedicated client for a target with its own TLS/proxy/Kerberos options.
    /// - Throws: ``AirflowError`` when a target's auth cannot work (unreadable key file).
    public init(
        _ configs: [String: TargetConfig], shared: any HTTPTransport,
        makeTransport: (TargetConfig) throws -> any HTTPTransport = { _ in fatalError("no dedicated transport factory") },
        environment: [String: String]? = nil, logger: Logger = Logger(label: "dagbridge.airflow")
    ) throws {
        var e: [String: Entry] = [:]
        for (name, config) in configs {
            let transport = config.transportOptions.isDefault ? shared : try makeTransport(config)
            let client = try AirflowClient(config: config, transport: transport, environment: environment, logger: logger)
            e[name] = Entry(
                client: client, maxInFlight: config.maxInFlight, rateLimit: config.rateLimit, retry: config.retry,
                limiter: AsyncSemaphore(config.maxInFlight))
        }
        entries = e
    }

    /// The client for a target name.
    public subscript(name: String) -> AirflowClient? { entries[name]?.client }

    /// Target names, sorted.
    public var names: [String] { entries.keys.sorted() }
}
