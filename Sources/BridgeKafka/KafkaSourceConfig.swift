public import BridgeConfig
public import BridgeCore
import CRdKafka
import Foundation

/// One Kafka source (`sources.kafka[]` in `dagbridge.yaml`).
///
/// Keys:
/// - `name` (string, required): the source name rules refer to.
/// - `brokers` (string or list, required): bootstrap servers, `host:port`.
/// - `topics` (list, required): topic names, or patterns starting with `^` (librdkafka regex subscriptions).
/// - `group_id` (string, required): the consumer group; replicas with the same group split the partitions.
/// - `event_id` (default `coordinates`): `coordinates` (`{topic}-{partition}-{offset}`), `header:NAME`
///   or `body:PATH` (dotted). When the header or path is missing, the coordinates are used.
/// - `format` (`json` | `string` | `bytes-base64`, default `json`): how the value becomes `body`.
///   With `json`, a value that does not parse is a poison message (a dead letter).
/// - `start` (`earliest` | `latest`, default `earliest`): where a new group starts.
/// - `dlq_topic` (string, optional): also produce poison messages to this topic, with
///   `__connect.errors.*` headers describing the error (as Kafka Connect does).
/// - `commit_interval` (duration, default 5s): how often stored offsets are committed
///   (also on partition revocation and on shutdown).
/// - `batch_size` (int, default 2000): most messages taken from one poll round before they are journaled.
/// - `librdkafka` (mapping, optional): any other librdkafka property (`security.protocol`,
///   `sasl.mechanism`, `sasl.username`, `sasl.password`, `ssl.ca.location`, `client.id`, timeouts).
///   Values may be `${env:NAME}` / `${file:/path}`; known secret properties are redacted everywhere.
public struct KafkaSourceConfig: Sendable, CustomStringConvertible {
    /// How the message value becomes the event body.
    public enum Format: String, Sendable {
        case json, string
        case bytesBase64 = "bytes-base64"
    }

    /// Where the event id comes from.
    public enum EventID: Sendable, Equatable {
        case coordinates
        case header(String)
        case bodyPath([String])

        init?(_ text: String) {
            if text == "coordinates" {
                self = .coordinates
            } else if text.hasPrefix("header:"), text.count > 7 {
                self = .header(String(text.dropFirst(7)).lowercased())
            } else if text.hasPrefix("body:"), text.count > 5 {
                self = .bodyPath(text.dropFirst(5).split(separator: ".").map(String.init))
            } else {
                return nil
            }
        }
    }

    public var name: String
    public var brokers: [String]
    public var topics: [String]
    public var groupID: String
    public var eventID: EventID = .coordinates
    public var format: Format = .json
    /// `true` for `start: latest`.
    public var startLatest = false
    public var dlqTopic: String?
    public var commitInterval = 5.0
    public var batchSize = 2000
    /// Pass-through librdkafka properties, in file order; values of secret properties are secrets.
    public var properties: [(key: String, value: Secret)] = []

    /// librdkafka properties whose values are never printed.
    public static let secretProperties: Set<String> = [
        "sasl.password", "ssl.key.password", "ssl.keystore.password", "ssl.key.pem", "ssl_key",
        "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config", "ssl.truststore.password",
    ]

    /// Properties dagbridge sets itself; the message says which key to use instead.
    static let ownedProperties: [String: String] = [
        "bootstrap.servers": "use 'brokers'", "metadata.broker.list": "use 'brokers'", "group.id": "use 'group_id'",
        "enable.auto.offset.store": "dagbridge stores offsets only after the journal write",
        "enable.auto.commit": "dagbridge commits on 'commit_interval', on revocation and on shutdown",
        "auto.offset.reset": "use 'start'",
    ]

    static let keys = [
        "name", "brokers", "topics", "group_id", "event_id", "format", "start", "dlq_topic", "commit_interval", "batch_size", "librdkafka",
    ]

    public init(name: String, brokers: [String], topics: [String], groupID: String) {
        self.name = name
        self.brokers = brokers
        self.topics = topics
        self.groupID = groupID
    }

    /// The pass-through properties with secret values redacted, for logs and `config check`.
    public var redactedProperties: [(key: String, value: String)] {
        properties.map { p in (p.key, Self.secretProperties.contains(p.key) ? "<redacted>" : p.value.value) }
    }

    public var description: String {
        let props = redactedProperties.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        return "kafka source \(name) (brokers \(brokers.joined(separator: ",")), topics \(topics.joined(separator: ",")), group \(groupID)\(props.isEmpty ? "" : ", \(props)"))"
    }

    /// Parses the `sources.kafka` list.
    public static func parseList(_ node: ConfigNode, resolver: SecretResolver, diagnostics diags: inout Diagnostics) -> [KafkaSourceConfig] {
        guard let items = node.sequence else {
            diags.error("'kafka' must be a list of sources, found \(node.describeValue)", at: node)
            return []
        }
        var out: [KafkaSourceConfig] = []
        var names: [String: SourceLocation] = [:]
        for item in items {
            guard let source = parse(item, resolver: resolver, diagnostics: &diags) else { continue }
            if let first = names[source.name] {
                diags.error("duplicate source name '\(source.name)' (first defined at \(first))", at: item["name"])
                continue
            }
            names[source.name] = item.location
            out.append(source)
        }
        return out
    }

    /// Parses one source; records every problem found.
    public static func parse(_ node: ConfigNode, resolver: SecretResolver, diagnostics diags: inout Diagnostics) -> KafkaSourceConfig? {
        guard node.mapping != nil else {
            diags.error("a Kafka source must be a mapping with name, brokers, topics and group_id, found \(node.describeValue)", at: node)
            return nil
        }
        let before = diags.items.count
        node.checkKeys(keys, &diags)
        func required(_ key: String, _ what: String) -> ConfigNode? {
            guard let n = node[key] else {
                diags.error("missing '\(key)': \(what)", at: node)
                return nil
            }
            return n
        }
        let name = required("name", "the source name rules refer to")?.string(&diags) ?? ""
        var brokers: [String] = []
        if let b = required("brokers", "bootstrap servers, e.g. 'kafka-1:9092,kafka-2:9092'") {
            if b.sequence != nil {
                brokers = b.stringList(&diags) ?? []
            } else if let s = b.string(&diags) {
                brokers = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            if brokers.isEmpty && diags.items.count == before { diags.error("'brokers' is empty: list at least one host:port", at: b) }
        }
        var topics: [String] = []
        if let t = required("topics", "a list of topic names or ^regex patterns") {
            topics = (t.sequence != nil ? t.stringList(&diags) : t.string(&diags).map { [$0] }) ?? []
            if topics.isEmpty { diags.error("'topics' is empty: list at least one topic", at: t) }
            for topic in topics where topic.isEmpty { diags.error("empty topic name", at: t) }
        }
        let group = required("group_id", "the consumer group, e.g. 'dagbridge'")?.string(&diags) ?? ""
        var config = KafkaSourceConfig(name: name, brokers: brokers, topics: topics, groupID: group)
        if let e = node["event_id"], let text = e.string(&diags) {
            if let v = EventID(text) { config.eventID = v } else {
                diags.error("event_id '\(text)' must be coordinates, header:NAME or body:PATH", at: e)
            }
        }
        if let f = node["format"], let text = f.string(&diags) {
            if let v = Format(rawValue: text) { config.format = v } else { diags.error("format must be json, string or bytes-base64", at: f) }
        }
        if let s = node["start"], let text = s.string(&diags) {
            switch text {
            case "earliest": config.startLatest = false
            case "latest": config.startLatest = true
            default: diags.error("start must be earliest or latest", at: s)
            }
        }
        if let d = node["dlq_topic"], let text = d.string(&diags) {
            if text.isEmpty { diags.error("dlq_topic is empty: remove it or name a topic", at: d) } else { config.dlqTopic = text }
        }
        if let c = node["commit_interval"], let v = c.duration(&diags) {
            if v < 0.1 { diags.error("commit_interval must be at least 100ms", at: c) } else { config.commitInterval = v }
        }
        if let b = node["batch_size"], let v = b.int(&diags, in: 1...100_000) { config.batchSize = v }
        if let l = node["librdkafka"] {
            if let map = l.mapping {
                for (k, v) in map {
                    guard let key = k.string(&diags) else { continue }
                    if let why = ownedProperties[key] {
                        diags.error("librdkafka property '\(key)' is set by dagbridge: \(why)", at: k)
                        continue
                    }
                    guard let secret = resolver.resolve(v, &diags) else { continue }
                    config.properties.append((key, secret))
                }
            } else {
                diags.error("'librdkafka' must be a mapping of librdkafka properties, found \(l.describeValue)", at: l)
            }
        }
        if diags.items.count == before || !diags.hasErrors {
            // librdkafka knows its own properties: check names and values now, not at startup.
            do {
                let conf = try config.makeConf(forProducer: false)
                rd_kafka_conf_destroy(conf)
            } catch {
                diags.error("\(error.message)", at: node["librdkafka"] ?? node)
            }
        }
        return diags.items.count == before ? config : nil
    }
}

extension KafkaSourceConfig {
    /// A librdkafka configuration for this source's consumer (or its DLQ producer).
    /// - Throws: ``KafkaError`` naming the property librdkafka refused (values of secret properties are not shown).
    func makeConf(forProducer: Bool) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errbuf = [CChar](repeating: 0, count: 512)
        func set(_ key: String, _ value: String) throws(KafkaError) {
            if rd_kafka_conf_set(conf, key, value, &errbuf, errbuf.count) != RD_KAFKA_CONF_OK {
                let msg = String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                rd_kafka_conf_destroy(conf)
                let shown = Self.secretProperties.contains(key) ? "<redacted>" : value
                throw KafkaError(.config, "librdkafka property \(key)=\(shown): \(msg)")
            }
        }
        try set("bootstrap.servers", brokers.joined(separator: ","))
        try set("client.id", "dagbridge-\(name)")
        if !forProducer {
            try set("group.id", groupID)
            try set("enable.auto.offset.store", "false")
            try set("enable.auto.commit", "false")
            try set("auto.offset.reset", startLatest ? "latest" : "earliest")
            // Prefetch deeper than librdkafka's 100,000 messages (memory stays bounded by
            // queued.max.messages.kbytes, 64 MiB): with the default the fetcher stops and restarts
            // while the consumer catches up on a backlog, and the consumer waits a third of the time
            // (bench-kafka (a): 160k msg/s with the default, 240k with this). `librdkafka:` overrides it.
            try set("queued.min.messages", "1000000")
        } else {
            try set("enable.idempotence", "true")
        }
        for p in properties { try set(p.key, p.value.value) }
        return conf
    }
}
