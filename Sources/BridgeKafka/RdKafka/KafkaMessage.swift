import BridgeCore
import CRdKafka
import Foundation

/// A message copied out of librdkafka (so the C message can be destroyed at once).
struct KafkaMessage: Sendable {
    var topic: String
    var partition: Int32
    var offset: Int64
    var key: [UInt8]?
    var value: [UInt8]
    var timestamp: Int64?
    var headers: [(String, [UInt8])]
    /// Screened out (``KafkaScreener``): only its coordinates count; `value` was not copied.
    var screenedOut = false

    /// Copies a consumed message (its value only when `copyValue`; otherwise ``payload(_:)`` reads it in place).
    init(_ m: UnsafeMutablePointer<rd_kafka_message_t>, copyValue: Bool = true) {
        let msg = m.pointee
        topic = String(cString: rd_kafka_topic_name(msg.rkt))
        partition = msg.partition
        offset = msg.offset
        key = msg.key.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.key_len)) }
        value = copyValue ? Self.payload(m).map(Array.init) ?? [] : []
        let ts = crdkafka_message_timestamp(m)
        timestamp = ts >= 0 ? ts : nil
        headers = Self.headers(m)
    }

    /// A C message's headers, in order (names may repeat).
    static func headers(_ m: UnsafeMutablePointer<rd_kafka_message_t>) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        var hdrs: OpaquePointer?
        guard rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs else { return out }
        var i = 0
        var name: UnsafePointer<CChar>?
        var val: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            if let name { out.append((String(cString: name), val.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? [])) }
            i += 1
        }
        return out
    }

    /// The value of a C message, in place (valid until the message is destroyed).
    static func payload(_ m: UnsafeMutablePointer<rd_kafka_message_t>) -> UnsafeRawBufferPointer? {
        m.pointee.payload.map { UnsafeRawBufferPointer(start: $0, count: m.pointee.len) }
    }

    init(topic: String, partition: Int32, offset: Int64, key: [UInt8]? = nil, value: [UInt8], timestamp: Int64? = nil, headers: [(String, [UInt8])] = []) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
    }

    /// Header names lower-cased; repeated headers joined with ", " (as webhook headers are).
    private func lowerCasedHeaders() -> [String: String] {
        var hdrs: [String: String] = [:]
        for (k, v) in headers {
            let key = k.lowercased()
            let text = String(decoding: v, as: UTF8.self)
            if let existing = hdrs[key] { hdrs[key] = existing + ", " + text } else { hdrs[key] = text }
        }
        CredentialHeaders.scrub(&hdrs, names: CredentialHeaders.standard)
        return hdrs
    }

    /// The event id per `event_id`, from the coordinates or a header; `body` is read for a body path.
    private func eventID(config: KafkaSourceConfig, headers hdrs: [String: String], body: JSONValue?) -> String {
        switch config.eventID {
        case .coordinates: break
        case .header(let name):
            if let v = hdrs[name], !v.isEmpty, v.utf8.count <= 512 { return v }
        case .bodyPath(let path):
            var v: JSONValue? = body
            for p in path { v = v?[p] }
            switch v {
            case .string(let s)? where !s.isEmpty && s.utf8.count <= 512: return s
            case .int(let i)?: return String(i)
            default: break
            }
        }
        return "\(topic)-\(partition)-\(offset)"
    }

    private var metadata: Event.KafkaMetadata {
        Event.KafkaMetadata(topic: topic, partition: partition, offset: offset, key: key.map { String(decoding: $0, as: UTF8.self) }, timestamp: timestamp)
    }

    /// The envelope without its body and with only `fields`, for a first look at the raw value
    /// (``KafkaScreener``); `nil` when that look needs the parsed body (format other than JSON, or
    /// rules that read `id` while the event id comes from a body path).
    func envelopeBase(config: KafkaSourceConfig, receivedAt: String, fields: Event.EnvelopeFields) -> JSONObject? {
        guard config.format == .json else { return nil }
        if case .bodyPath = config.eventID, fields.contains(.id) { return nil }
        let hdrs = fields.contains(.headers) || fields.contains(.id) ? lowerCasedHeaders() : [:]
        let id = fields.contains(.id) ? eventID(config: config, headers: hdrs, body: nil) : ""
        return Event.envelope(fields, id: id, source: config.name, receivedAt: receivedAt, headers: hdrs, body: nil, kafka: metadata)
    }

    /// The record the rules see: envelope `kafka` part, headers, body per `format`, event id per `event_id`.
    func record(config: KafkaSourceConfig, now: Date) -> KafkaRecord {
        let hdrs = lowerCasedHeaders()
        var body: JSONValue
        var poison: String?
        switch config.format {
        case .json:
            do {
                body = try JSONParser.parse(value)
            } catch {
                body = .string(String(decoding: value, as: UTF8.self))
                poison = value.isEmpty ? "the message value is empty, but this source expects JSON" : "the message value is not JSON: \(error)"
            }
        case .string:
            body = .string(String(decoding: value, as: UTF8.self))
        case .bytesBase64:
            body = .string(Data(value).base64EncodedString())
        }
        let id = eventID(config: config, headers: hdrs, body: poison == nil ? body : nil)
        // A `json` source's body is parseBody(value) whether or not the value parses (see Event.parseBody).
        let event = Event(
            id: id, source: config.name, receivedAt: now, headers: hdrs, rawBody: value, body: body,
            bodyIsParsedRawBody: config.format == .json, kafka: metadata)
        return KafkaRecord(event: event, poison: poison)
    }
}

/// Reading a consumed message for the Kafka test kit, which drives librdkafka itself: the message
/// is passed untyped, so no C type shows in this module's interface.
@_spi(Testing)
public enum KafkaMessageHeaders {
    /// The headers of the `rd_kafka_message_t` at `message`, in order.
    public static func of(_ message: UnsafeMutableRawPointer) -> [(String, [UInt8])] {
        KafkaMessage.headers(message.assumingMemoryBound(to: rd_kafka_message_t.self))
    }
}
