public import BridgeCore
import Foundation

extension Event {
    /// The event `dagbridge rules test` and the console's "try an event" form build from a body
    /// and headers typed by an operator, so both evaluate exactly the same envelope.
    ///
    /// Header names are lower-cased; a body that is not JSON is used as a string (the note says
    /// so); a CloudEvent in binary (`ce-*` headers) or structured mode is recognised; the event id
    /// is `id`, else the sender's delivery id header, the CloudEvent id, the Kafka coordinates, or a
    /// random `cli-…` id.
    /// - Returns: the event, and a note for the operator when the body was not JSON.
    public static func trial(
        source: String, headers rawHeaders: [(String, String)], rawBody raw: [UInt8], id: String? = nil, kafka: Event.KafkaMetadata? = nil
    ) -> (event: Event, note: String?) {
        var headers: [String: String] = [:]
        for (name, value) in rawHeaders {
            headers[name.trimmingCharacters(in: .whitespaces).lowercased()] = value.trimmingCharacters(in: .whitespaces)
        }
        var note: String?
        var body: JSONValue
        do {
            body = raw.isEmpty ? .string("") : try JSONParser.parse(raw)
        } catch {
            note = "the body is not JSON (\(error)); using it as a string body"
            body = .string(String(decoding: raw, as: UTF8.self))
        }
        var cloudEvent = CloudEvent.fromBinary(headers: headers)
        if cloudEvent == nil, let object = body.objectValue, let structured = CloudEvent.fromStructured(object) {
            cloudEvent = structured.attributes
            body = structured.data
        }
        let eventID =
            id ?? headers["x-github-delivery"] ?? headers["webhook-id"] ?? cloudEvent?["id"]?.stringValue
            ?? kafka.map { "\($0.topic)-\($0.partition)-\($0.offset)" }
            ?? "cli-" + UUID().uuidString.lowercased()
        let event = Event(id: eventID, source: source, headers: headers, rawBody: raw, body: body, kafka: kafka, cloudEvent: cloudEvent)
        return (event, note)
    }
}
