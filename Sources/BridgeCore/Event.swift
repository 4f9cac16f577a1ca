public import Foundation

/// One delivery from a source, as the rules see it.
///
/// The ``envelope`` is the JSON tree that patterns match and templates read:
/// `{"id", "source", "received_at", "headers", "body", "kafka"?, "cloudevent"?}`.
/// It is built once in the initialiser, so matching never rebuilds it.
public struct Event: Sendable {
    /// Kafka coordinates of a message.
    public struct KafkaMetadata: Sendable, Equatable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public var key: String?
        /// Message timestamp in milliseconds since the epoch, when the broker gave one.
        public var timestamp: Int64?

        public init(topic: String, partition: Int32, offset: Int64, key: String? = nil, timestamp: Int64? = nil) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
            self.key = key
            self.timestamp = timestamp
        }

        var json: JSONValue {
            var o = JSONObject()
            o["topic"] = .string(topic)
            o["partition"] = .int(Int64(partition))
            o["offset"] = .int(offset)
            o["key"] = key.map(JSONValue.string) ?? .null
            o["timestamp"] = timestamp.map(JSONValue.int) ?? .null
            return .object(o)
        }
    }

    /// Stable id of the event (sender's delivery id, CloudEvent id, Kafka coordinates, or generated).
    public var id: String
    /// Name of the configured source that received it.
    public var source: String
    /// When dagbridge received it.
    public var receivedAt: Date
    /// Header names lower-cased; repeated headers joined with ", ".
    public var headers: [String: String]
    /// The body bytes exactly as received (signatures are verified on these).
    public var rawBody: [UInt8]
    /// The body parsed as JSON, or the body as a string when it is not JSON.
    public var body: JSONValue
    /// Kafka coordinates, for Kafka events.
    public var kafka: KafkaMetadata?
    /// CloudEvents attributes (`type`, `source`, `subject`, `id`, `time`, extensions), for CloudEvents.
    public var cloudEvent: JSONObject?
    /// The JSON envelope the rules see.
    public private(set) var envelope: JSONValue

    /// Builds an event and its envelope.
    /// - Parameters:
    ///   - headers: header names in any case; they are lower-cased here.
    ///   - body: the parsed body; pass `nil` to parse `rawBody` as JSON, falling back to a string.
    public init(
        id: String,
        source: String,
        receivedAt: Date = Date(),
        headers: [String: String] = [:],
        rawBody: [UInt8],
        body: JSONValue? = nil,
        kafka: KafkaMetadata? = nil,
        cloudEvent: JSONObject? = nil
    ) {
        self.id = id
        self.source = source
        self.receivedAt = receivedAt
        var lower = [String: String](minimumCapacity: headers.count)
        for (k, v) in headers {
            let key = k.lowercased()
            if let existing = lower[key] { lower[key] = existing + ", " + v } else { lower[key] = v }
        }
        self.headers = lower
        self.rawBody = rawBody
        self.body = body ?? Event.parseBody(rawBody)
        self.kafka = kafka
        self.cloudEvent = cloudEvent
        self.envelope = .null
        self.envelope = buildEnvelope()
    }

    /// The body as JSON when it parses, otherwise as a (lossily decoded) string.
    public static func parseBody(_ raw: [UInt8]) -> JSONValue {
        if raw.isEmpty { return .string("") }
        if let v = try? JSONParser.parse(raw) { return v }
        return .string(String(decoding: raw, as: UTF8.self))
    }

    private func buildEnvelope() -> JSONValue {
        var o = JSONObject()
        o["id"] = .string(id)
        o["source"] = .string(source)
        o["received_at"] = .string(ISO8601.format(receivedAt))
        var h = JSONObject()
        for k in headers.keys.sorted() { h[k] = .string(headers[k]!) }
        o["headers"] = .object(h)
        o["body"] = body
        if let kafka { o["kafka"] = kafka.json }
        if let cloudEvent { o["cloudevent"] = .object(cloudEvent) }
        return .object(o)
    }
}
