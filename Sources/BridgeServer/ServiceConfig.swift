public import BridgeAirflow
import BridgeConfig
public import BridgeCore
public import BridgeDispatch
public import BridgeKafka
public import BridgeRules
public import BridgeStore
public import BridgeWebhooks
public import Logging

/// The whole `dagbridge.yaml`: `server`, `logging`, `store`, `rules`, `targets`, `sources`.
///
/// Relative paths (`store.path`, `rules.path`, TLS files) are taken from the config file's folder.
/// Reading the file is ``load(path:resolver:)`` (in `ServiceConfig+Parse.swift`), one section
/// reader per section; each key is named and documented once, by the init that reads it.
public struct ServiceConfig: Sendable {
    /// `server:`; see ``init(_:resolvePath:resolver:diagnostics:)`` for its keys.
    public struct Server: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        public var tlsCert: String?
        public var tlsKey: String?
        /// Default body limit of webhook sources, in bytes.
        public var maxBody = 1 << 20
        /// The admin API's bearer token; the admin API is disabled without one.
        public var adminToken: Secret?
        /// Read-only tokens for the operations console (`/console`): they see every page but cannot replay or purge.
        public var viewerTokens: [Secret] = []
        /// How long graceful shutdown drains.
        public var shutdownTimeout: Duration = .seconds(25)
        /// Time limits for slow clients and the cap on open connections.
        public var connections = ConnectionLimits()

        public init() {}
    }

    /// `logging:`; see ``init(_:diagnostics:)``.
    public struct Logging: Sendable {
        public var format = StructuredLogHandler.Format.logfmt
        public var level = Logger.Level.info

        public init() {}
    }

    /// `rules:`; see ``init(_:resolvePath:diagnostics:)``.
    public struct Rules: Sendable {
        /// The rules folder.
        public var path = "rules"
        /// Reload when a rule file changes.
        public var watch = true
        /// Largest encoded `conf`, in bytes.
        public var maxConfBytes = 256 * 1024

        public init() {}
    }

    public var file: String
    public var server = Server()
    public var logging = Logging()
    public var store: StoreConfig
    public var rules = Rules()
    public var targets: [String: TargetConfig] = [:]
    /// Each target's dispatch policy (`max_in_flight`, `rate_limit`, `retry:`), by target name.
    public var policies: [String: DispatchPolicy] = [:]
    public var webhooks: [WebhookSourceConfig] = []
    public var kafka: [KafkaSourceConfig] = []

    public init(file: String, store: StoreConfig) {
        self.file = file
        self.store = store
    }

    /// Every source name (webhook and Kafka), for the rules' `source` checks.
    public var sourceNames: Set<String> { Set(webhooks.map(\.name)).union(kafka.map(\.name)) }

    /// What the rules are checked against: the configured targets and sources, and the conf size limit.
    public var ruleOptions: RuleSetLoader.Options {
        RuleSetLoader.Options(targets: Set(targets.keys), sources: sourceNames, maxConfBytes: rules.maxConfBytes)
    }
}
