public import BridgeAirflow
public import BridgeConfig
public import BridgeCore
public import BridgeKafka
public import BridgeStore
import Foundation

/// The whole `dagbridge.yaml`: `server`, `logging`, `store`, `rules`, `targets`, `sources`.
///
/// Relative paths (`store.path`, `rules.path`, TLS files) are taken from the config file's folder.
public struct ServiceConfig: Sendable {
    /// `server:`
    ///
    /// - `listen` (host:port, default `127.0.0.1:8080`)
    /// - `tls` (`cert_file`, `key_file`; default plain HTTP)
    /// - `max_body` (size, default 1MiB): default body limit of webhook sources
    /// - `admin_token` (secret; the admin API is disabled when unset)
    /// - `shutdown_timeout` (duration, default 25s): how long graceful shutdown drains
    public struct Server: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        public var tlsCert: String?
        public var tlsKey: String?
        public var maxBody = 1 << 20
        public var adminToken: Secret?
        public var shutdownTimeout = 25.0
    }

    /// `logging:` — `format` (`logfmt` | `json`, default logfmt), `level` (default info).
    public struct Logging: Sendable {
        public var format = StructuredLogHandler.Format.logfmt
        public var level = "info"
    }

    /// `rules:` — `path` (folder, default `rules`), `watch` (bool, default true: reload on change),
    /// `max_conf_bytes` (size, default 256KiB).
    public struct Rules: Sendable {
        public var path = "rules"
        public var watch = true
        public var maxConfBytes = 256 * 1024
    }

    public var file: String
    public var server = Server()
    public var logging = Logging()
    public var store: StoreConfig
    public var rules = Rules()
    public var targets: [String: TargetConfig] = [:]
    public var webhooks: [WebhookSourceConfig] = []
    public var kafka: [KafkaSourceConfig] = []

    /// Every source name (webhook and Kafka), for the rules' `source` checks.
    public var sourceNames: Set<String> { Set(webhooks.map(\.name)).union(kafka.map(\.name)) }

    static let sections = ["server", "logging", "store", "rules", "targets", "sources"]

    /// Reads and validates a config file; every problem is a `file:line:col` diagnostic.
    public static func load(path: String, resolver: SecretResolver = SecretResolver()) -> (ServiceConfig?, [Diagnostic]) {
        let (root, yamlDiags) = YAMLLoader.load(path: path)
        var diags = Diagnostics()
        diags.append(contentsOf: yamlDiags)
        guard let root else {
            if !diags.hasErrors { diags.error("the file is empty", location: SourceLocation(file: path, line: 1, column: 1)) }
            return (nil, diags.items)
        }
        let config = parse(root, file: path, resolver: resolver, diagnostics: &diags)
        return (diags.hasErrors ? nil : config, diags.items)
    }

    /// Parses a parsed root node.
    public static func parse(_ root: ConfigNode, file: String, resolver: SecretResolver, diagnostics diags: inout Diagnostics) -> ServiceConfig? {
        guard root.checkKeys(sections, &diags, what: "section") else { return nil }
        let base = (file as NSString).deletingLastPathComponent
        func resolvePath(_ p: String) -> String {
            p.hasPrefix("/") || base.isEmpty ? p : (base as NSString).appendingPathComponent(p)
        }
        var server = Server()
        if let s = root["server"] {
            s.checkKeys(["listen", "tls", "max_body", "admin_token", "shutdown_timeout"], &diags)
            if let l = s["listen"], let text = l.string(&diags) {
                if let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) {
                    server.host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                    server.port = port
                    if server.host.isEmpty { server.host = "0.0.0.0" }
                } else {
                    diags.error("listen '\(text)' must be host:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080", at: l)
                }
            }
            if let t = s["tls"] {
                t.checkKeys(["cert_file", "key_file"], &diags)
                server.tlsCert = t["cert_file"]?.string(&diags).map(resolvePath)
                server.tlsKey = t["key_file"]?.string(&diags).map(resolvePath)
                if (server.tlsCert == nil) != (server.tlsKey == nil) { diags.error("tls needs both cert_file and key_file", at: t) }
                for f in [server.tlsCert, server.tlsKey].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: f) {
                    diags.error("TLS file \(f) cannot be read", at: t)
                }
            }
            if let m = s["max_body"], let v = m.byteSize(&diags) { server.maxBody = v }
            if let a = s["admin_token"] {
                server.adminToken = resolver.resolve(a, &diags)
                if let t = server.adminToken, t.value.count < 16 { diags.error("admin_token must be at least 16 characters", at: a) }
            }
            if let d = s["shutdown_timeout"], let v = d.duration(&diags) { server.shutdownTimeout = v }
        }
        var logging = Logging()
        if let l = root["logging"] {
            l.checkKeys(["format", "level"], &diags)
            if let f = l["format"], let text = f.string(&diags) {
                if let v = StructuredLogHandler.Format(rawValue: text) { logging.format = v } else { diags.error("format must be logfmt or json", at: f) }
            }
            if let v = l["level"], let text = v.string(&diags) {
                if ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(text) { logging.level = text } else {
                    diags.error("level must be one of trace, debug, info, notice, warning, error, critical", at: v)
                }
            }
        }
        var store = StoreConfig.parse(root["store"], diagnostics: &diags) ?? StoreConfig()
        store.path = resolvePath(store.path)
        var rules = Rules()
        if let r = root["rules"] {
            r.checkKeys(["path", "watch", "max_conf_bytes"], &diags)
            if let p = r["path"], let v = p.string(&diags) { rules.path = v }
            if let w = r["watch"], let v = w.bool(&diags) { rules.watch = v }
            if let m = r["max_conf_bytes"], let v = m.byteSize(&diags) { rules.maxConfBytes = v }
        }
        rules.path = resolvePath(rules.path)
        var targets: [String: TargetConfig] = [:]
        if let t = root["targets"] {
            targets = TargetsConfig.parse(t, resolver: resolver, diagnostics: &diags)
        } else {
            diags.error("no 'targets:' section: add at least one Airflow target", at: root)
        }
        var webhooks: [WebhookSourceConfig] = []
        var kafka: [KafkaSourceConfig] = []
        if let s = root["sources"] {
            s.checkKeys(["webhooks", "kafka"], &diags)
            if let w = s["webhooks"] {
                webhooks = WebhookSourceConfig.parseList(w, defaultMaxBody: server.maxBody, resolver: resolver, diagnostics: &diags)
            }
            if let k = s["kafka"] {
                kafka = KafkaSourceConfig.parseList(k, resolver: resolver, diagnostics: &diags)
                let webhookNames = Set(webhooks.map(\.name))
                for (i, source) in kafka.enumerated() where webhookNames.contains(source.name) {
                    diags.error("source name '\(source.name)' is already used by a webhook source", at: k.sequence?[i]["name"])
                }
            }
        }
        var config = ServiceConfig(file: file, store: store)
        config.server = server
        config.logging = logging
        config.rules = rules
        config.targets = targets
        config.webhooks = webhooks
        config.kafka = kafka
        return config
    }
}
