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

        /// The envelope's `kafka` member.
        var json: JSONValue {
            .object(
                JSONObject(
                    uniqueKeys: ["topic", "partition", "offset", "key", "timestamp"],
                    values: [.string(topic), .int(Int64(partition)), .int(offset), key.map(JSONValue.string) ?? .null, timestamp.map(JSONValue.int) ?? .null]))
        }
    }

    /// Top-level members of the envelope, for building only those a reader needs.
    public struct EnvelopeFields: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let id = EnvelopeFields(rawValue: 1 << 0)
        public static let source = EnvelopeFields(rawValue: 1 << 1)
        public static let receivedAt = EnvelopeFields(rawValue: 1 << 2)
        public static let headers = EnvelopeFields(rawValue: 1 << 3)
        public static let body = EnvelopeFields(rawValue: 1 << 4)
        public static let kafka = EnvelopeFields(rawValue: 1 << 5)
        public static let cloudEvent = EnvelopeFields(rawValue: 1 << 6)
        public static let all: EnvelopeFields = [.id, .source, .receivedAt, .headers, .body, .kafka, .cloudEvent]

        /// The members named by envelope keys (`received_at`, `cloudevent`, …); other names are ignored.
        public init(keys: some Sequence<String>) {
            self = []
            for k in keys {
                switch k {
                case "id": insert(.id)
                case "source": insert(.source)
                case "received_at": insert(.receivedAt)
                case "headers": insert(.headers)
                case "body": insert(.body)
                case "kafka": insert(.kafka)
                case "cloudevent": insert(.cloudEvent)
                default: break
                }
            }
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
    public var rawBody: [UInt8] {
        didSet { bodyIsParsedRawBody = false }
    }
    /// The body parsed as JSON, or the body as a string when it is not JSON.
    public var body: JSONValue {
        didSet { bodyIsParsedRawBody = false }
    }
    /// Kafka coordinates, for Kafka events.
    public var kafka: KafkaMetadata?
    /// CloudEvents attributes (`type`, `source`, `subject`, `id`, `time`, extensions), for CloudEvents.
    public var cloudEvent: JSONObject?
    /// The JSON envelope the rules see.
    public private(set) var envelope: JSONValue
    /// `true` when ``body`` is what ``parseBody(_:)`` makes of ``rawBody`` (a JSON body parsed whole,
    /// or text that is not JSON): the journal then stores the body once, as the raw bytes, and
    /// parses it again when it reads the event back.
    public private(set) var bodyIsParsedRawBody: Bool

    /// Builds an event and its envelope.
    /// - Parameters:
    ///   - headers: header names in any case; they are lower-cased here.
    ///   - body: the parsed body; pass `nil` to parse `rawBody` as JSON, falling back to a string.
    ///   - bodyIsParsedRawBody: `body` is exactly ``parseBody(_:)`` of `rawBody` (the caller parsed
    ///     the whole raw body as JSON itself). Implied when `body` is `nil`.
    public init(
        id: String,
        source: String,
        receivedAt: Date = Date(),
        headers: [String: String] = [:],
        rawBody: [UInt8],
        body: JSONValue? = nil,
        bodyIsParsedRawBody: Bool = false,
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
        self.bodyIsParsedRawBody = body == nil || bodyIsParsedRawBody
        assert(body == nil || !bodyIsParsedRawBody || body == Event.parseBody(rawBody), "bodyIsParsedRawBody: the body is not the parsed raw body")
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
        .object(
            Event.envelope(
                .all, id: id, source: source, receivedAt: ISO8601.format(receivedAt), headers: headers, body: body, kafka: kafka,
                cloudEvent: cloudEvent))
    }

    /// The members `fields` names of the envelope of an event with these fields (``envelope`` is all
    /// of them), without building the event: a Kafka consumer matches a message's raw value against
    /// such an envelope base before deciding to build its event. Members outside `fields` are not read.
    /// - Parameters:
    ///   - receivedAt: already formatted (``ISO8601/format(_:)``), so a batch formats its clock once.
    ///   - headers: names already lower-cased.
    public static func envelope(
        _ fields: EnvelopeFields, id: String, source: String, receivedAt: String, headers: [String: String], body: JSONValue?,
        kafka: KafkaMetadata?, cloudEvent: JSONObject? = nil
    ) -> JSONObject {
        var keys: [String] = []
        var values: [JSONValue] = []
        keys.reserveCapacity(7)
        values.reserveCapacity(7)
        func add(_ field: EnvelopeFields, _ key: String, _ value: @autoclosure () -> JSONValue) {
            guard fields.contains(field) else { return }
            keys.append(key)
            values.append(value())
        }
        add(.id, "id", .string(id))
        add(.source, "source", .string(source))
        add(.receivedAt, "received_at", .string(receivedAt))
        add(.headers, "headers", headersMember(headers))
        if let body { add(.body, "body", body) }
        if let kafka { add(.kafka, "kafka", kafka.json) }
        if let cloudEvent { add(.cloudEvent, "cloudevent", .object(cloudEvent)) }
        return JSONObject(uniqueKeys: keys, values: values)
    }

    /// The envelope's `headers` member (names already lower-cased), in name order.
    private static func headersMember(_ headers: [String: String]) -> JSONValue {
        var h = JSONObject()
        for k in headers.keys.sorted() { h[k] = .string(headers[k]!) }
        return .object(h)
    }
}
