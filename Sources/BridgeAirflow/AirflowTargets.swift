public import BridgeCore
public import Logging

/// The configured targets by name, each with its ``AirflowClient`` (the dispatcher holds their limits and retry policies).
///
/// Targets whose ``TargetConfig/transportOptions`` are default share `shared`; the others get their own
/// transport from `makeTransport` (TLS client certificates, proxies, Kerberos).
public final class AirflowTargets: Sendable {
    /// One target's client.
    public struct Entry: Sendable {
        /// The target's client.
        public let client: AirflowClient
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
        makeTransport: (TargetConfig) throws -> any HTTPTransport,
        environment: [String: String]? = nil, logger: Logger = Logger(label: "dagbridge.airflow")
    ) throws {
        var e: [String: Entry] = [:]
        for (name, config) in configs {
            let transport = config.transportOptions.isDefault ? shared : try makeTransport(config)
            let client = try AirflowClient(config: config, transport: transport, environment: environment, logger: logger)
            e[name] = Entry(client: client)
        }
        entries = e
    }

    /// Every client by target name, as the dispatcher takes them.
    public var clients: [String: any TriggerClient] { entries.mapValues { $0.client } }

    /// The client for a target name.
    public subscript(name: String) -> AirflowClient? { entries[name]?.client }

    /// Target names, sorted.
    public var names: [String] { entries.keys.sorted() }
}
