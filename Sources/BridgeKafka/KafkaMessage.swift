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

    /// Copies a consumed message; `nil` for an error event (logged by the caller).
    init(_ m: UnsafeMutablePointer<rd_kafka_message_t>) {
        let msg = m.pointee
        topic = String(cString: rd_kafka_topic_name(msg.rkt))
        partition = msg.partition
        offset = msg.offset
        key = msg.key.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.key_len)) }
        value = msg.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.len)) } ?? []
        let ts = crdkafka_message_timestamp(m)
        timestamp = ts >= 0 ? ts : nil
        headers = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var i = 0
            var name: UnsafePointer<CChar>?
            var val: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let name {
                    headers.append((String(cString: name), val.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []))
                }
                i += 1
            }
        }
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

    /// The record the rules see: envelope `kafka` part, headers, body per `format`, event id per `event_id`.
    func record(config: KafkaSourceConfig, now: Date) -> KafkaRecord {
        var hdrs: [String: String] = [:]
        for (k, v) in headers {
            let key = k.lowercased()
            let text = String(decoding: v, as: UTF8.self)
            if let existing = hdrs[key] { hdrs[key] = existing + ", " + text } else { hdrs[key] = text }
        }
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
        let coordinates = "\(topic)-\(partition)-\(offset)"
        var id = coordinates
        switch config.eventID {
        case .coordinates: break
        case .header(let name):
            if let v = hdrs[name], !v.isEmpty, v.utf8.count <= 512 { id = v }
        case .bodyPath(let path):
            var v: JSONValue? = body
            for p in path { v = v?[p] }
            switch v {
            case .string(let s)? where !s.isEmpty && s.utf8.count <= 512: id = s
            case .int(let i)?: id = String(i)
            default: break
            }
        }
        let meta = Event.KafkaMetadata(
            topic: topic, partition: partition, offset: offset, key: key.map { String(decoding: $0, as: UTF8.self) }, timestamp: timestamp)
        let event = Event(id: id, source: config.name, receivedAt: now, headers: hdrs, rawBody: value, body: body, kafka: meta)
        return KafkaRecord(event: event, poison: poison)
    }
}
