import BridgeAirflow
public import BridgeConfig
import BridgeCore
import BridgeDispatch
import BridgeKafka
import BridgeStore
import BridgeWebhooks
import Foundation
import Logging

extension ServiceConfig {
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

    /// Parses a parsed root node: one reader per section, then the sections nobody read are reported.
    public static func parse(_ root: ConfigNode, file: String, resolver: SecretResolver, diagnostics diags: inout Diagnostics) -> ServiceConfig? {
        guard root.mapping != nil else {
            diags.error("expected a mapping of sections, found \(root.describeValue)", at: root)
            return nil
        }
        var sections = ConfigSection(root)
        let resolvePath = { (p: String) in ConfigPath.resolve(p, relativeTo: file) }

        let server = sections["server"].map { Server($0, resolvePath: resolvePath, resolver: resolver, diagnostics: &diags) } ?? Server()
        let logging = sections["logging"].map { Logging($0, diagnostics: &diags) } ?? Logging()
        var store = StoreConfig.parse(sections["store"], resolver: resolver, diagnostics: &diags) ?? StoreConfig()
        store.path = resolvePath(store.path)
        let rules = Rules(sections["rules"], resolvePath: resolvePath, diagnostics: &diags)
        var config = ServiceConfig(file: file, store: store)
        config.server = server
        config.logging = logging
        config.rules = rules
        if let t = sections["targets"] {
            var policies: [String: DispatchPolicy] = [:]
            config.targets = TargetsConfig.parse(t, resolver: resolver, diagnostics: &diags) { name, section, d in
                policies[name] = DispatchPolicy.parse(&section, &d)
            }
            config.policies = policies
            for (name, policy) in policies.sorted(by: { $0.key < $1.key }) where policy.admission.limitsQueuedRuns {
                guard let target = config.targets[name], target.api == .experimental || target.api == .restAPIPlugin else { continue }
                diags.error(
                    "targets.\(name).max_queued_runs needs Airflow's stable REST API (api v1 or v2) to count queued runs; api \(target.api) cannot",
                    location: target.location, keyPath: "targets.\(name).max_queued_runs")
            }
        } else {
            diags.error("no 'targets:' section: add at least one Airflow target", at: root)
        }
        if let s = sections["sources"] {
            (config.webhooks, config.kafka) = parseSources(s, defaultMaxBody: server.maxBody, resolver: resolver, diagnostics: &diags)
        }
        guard sections.reportUnknown(&diags, what: "section") else { return nil }
        return config
    }

    /// `sources:` — `webhooks` (list, see ``WebhookSourceConfig``) and `kafka` (list, see ``KafkaSourceConfig``);
    /// source names are unique across both.
    static func parseSources(
        _ node: ConfigNode, defaultMaxBody: Int, resolver: SecretResolver, diagnostics diags: inout Diagnostics
    ) -> ([WebhookSourceConfig], [KafkaSourceConfig]) {
        var section = ConfigSection(node)
        var webhooks: [WebhookSourceConfig] = []
        var kafka: [KafkaSourceConfig] = []
        if let w = section["webhooks"] {
            webhooks = WebhookSourceConfig.parseList(w, defaultMaxBody: defaultMaxBody, resolver: resolver, diagnostics: &diags)
        }
        if let k = section["kafka"] {
            kafka = KafkaSourceConfig.parseList(k, resolver: resolver, diagnostics: &diags)
            let webhookNames = Set(webhooks.map(\.name))
            for (i, source) in kafka.enumerated() where webhookNames.contains(source.name) {
                diags.error("source name '\(source.name)' is already used by a webhook source", at: k.sequence?[i]["name"])
            }
        }
        section.reportUnknown(&diags)
        return (webhooks, kafka)
    }
}

extension ServiceConfig.Server {
    /// Reads `server:`:
    ///
    /// - `listen` (host:port, default `127.0.0.1:8080`)
    /// - `tls` (`cert_file`, `key_file`; default plain HTTP)
    /// - `max_body` (size, default 1MiB): default body limit of webhook sources
    /// - `admin_token` (secret, at least 16 characters; the admin API is disabled when unset)
    /// - `viewer_tokens` (list of secrets, each at least 16 characters; default none): read-only logins
    ///   to the operations console at `/console`, which exists only while `admin_token` is set
    /// - `shutdown_timeout` (duration, default 25s): how long graceful shutdown drains
    /// - `header_timeout` (10s), `body_timeout` (30s), `idle_timeout` (75s), `max_connections` (512):
    ///   slow clients and open connections, see ``ConnectionLimits/init(_:diagnostics:)``
    public init(_ node: ConfigNode, resolvePath: (String) -> String, resolver: SecretResolver, diagnostics diags: inout Diagnostics) {
        self.init()
        var s = ConfigSection(node)
        if let l = s["listen"], let text = l.string(&diags) {
            if let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) {
                host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                self.port = port
                if host.isEmpty { host = "0.0.0.0" }
            } else {
                diags.error("listen '\(text)' must be host:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080", at: l)
            }
        }
        if let t = s["tls"] {
            var tls = ConfigSection(t)
            let certNode = tls["cert_file"], keyNode = tls["key_file"]
            tlsCert = certNode?.string(&diags).map(resolvePath)
            tlsKey = keyNode?.string(&diags).map(resolvePath)
            tls.reportUnknown(&diags)
            if (tlsCert == nil) != (tlsKey == nil) {
                diags.error("tls needs both cert_file (the server's PEM certificate chain) and key_file (its PEM private key)", at: t)
            }
            // The files themselves: readable, PEM, and a key that belongs to the certificate.
            if let tlsCert, let tlsKey {
                for p in ServerTLS(certFile: tlsCert, keyFile: tlsKey).problems { diags.error(p.message, at: p.setting == .certFile ? certNode : keyNode) }
            }
        }
        if let m = s["max_body"], let v = m.byteSize(&diags) { maxBody = v }
        if let a = s["admin_token"] {
            adminToken = resolver.resolve(a, &diags)
            if let t = adminToken, t.value.count < 16 { diags.error("admin_token must be at least 16 characters", at: a) }
        }
        if let v = s["viewer_tokens"] {
            if let items = v.sequence {
                for item in items {
                    guard let t = resolver.resolve(item, &diags) else { continue }
                    if t.value.count < 16 { diags.error("each viewer token must be at least 16 characters", at: item) } else { viewerTokens.append(t) }
                }
                if adminToken == nil, !items.isEmpty { diags.warning("viewer_tokens has no effect without admin_token: the console is disabled", at: v) }
            } else {
                diags.error("viewer_tokens must be a list of secrets, e.g. [\"${env:DAGBRIDGE_VIEWER_TOKEN}\"]", at: v)
            }
        }
        if let d = s["shutdown_timeout"], let v = d.duration(&diags) { shutdownTimeout = .seconds(v) }
        connections = ConnectionLimits(&s, diagnostics: &diags)
        s.reportUnknown(&diags)
    }
}

extension ServiceConfig.Logging {
    /// Reads `logging:` — `format` (`logfmt` | `json`, default logfmt), `level` (trace … critical, default info).
    public init(_ node: ConfigNode, diagnostics diags: inout Diagnostics) {
        self.init()
        var s = ConfigSection(node)
        if let f = s["format"], let text = f.string(&diags) {
            if let v = StructuredLogHandler.Format(rawValue: text) { format = v } else { diags.error("format must be logfmt or json", at: f) }
        }
        if let v = s["level"], let text = v.string(&diags) {
            if let l = Logger.Level(rawValue: text) {
                level = l
            } else {
                var msg = "level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))"
                if let g = didYouMean(text, Logger.Level.allCases.map(\.rawValue)) { msg += "; did you mean '\(g)'?" }
                diags.error(msg, at: v)
            }
        }
        s.reportUnknown(&diags)
    }
}

extension ServiceConfig.Rules {
    /// Reads `rules:` — `path` (folder, default `rules`), `watch` (bool, default true: reload on change),
    /// `max_conf_bytes` (size, default 256KiB). Without the section, the defaults.
    public init(_ node: ConfigNode?, resolvePath: (String) -> String, diagnostics diags: inout Diagnostics) {
        self.init()
        if let node {
            var s = ConfigSection(node)
            if let p = s["path"], let v = p.string(&diags) { path = v }
            if let w = s["watch"], let v = w.bool(&diags) { watch = v }
            if let m = s["max_conf_bytes"], let v = m.byteSize(&diags) { maxConfBytes = v }
            s.reportUnknown(&diags)
        }
        path = resolvePath(path)
    }
}
