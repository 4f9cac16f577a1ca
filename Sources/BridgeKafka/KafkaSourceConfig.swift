import BridgeConfig
public import BridgeCore
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
}
