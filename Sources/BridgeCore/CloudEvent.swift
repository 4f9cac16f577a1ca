/// Reads CloudEvents (v1.0) attributes from HTTP deliveries.
///
/// - Binary mode (what Eventarc sends): attributes in `ce-*` headers, the body is `data`.
/// - Structured mode (`application/cloudevents+json`): one JSON object with the
///   attributes and `data` (or `data_base64`).
public enum CloudEvent {
    /// The attributes from `ce-*` headers (names lower-cased, `ce-` removed), or `nil`
    /// when `ce-specversion` or `ce-id` is absent.
    public static func fromBinary(headers: [String: String]) -> JSONObject? {
        guard headers["ce-specversion"] != nil, headers["ce-id"] != nil else { return nil }
        var attrs = JSONObject()
        for key in headers.keys.sorted() where key.hasPrefix("ce-") {
            attrs[String(key.dropFirst(3))] = .string(headers[key]!)
        }
        return attrs
    }

    /// Splits a structured-mode event into attributes and data.
    /// - Returns: `nil` when `object` lacks `specversion` or `id`.
    public static func fromStructured(_ object: JSONObject) -> (attributes: JSONObject, data: JSONValue)? {
        guard object["specversion"]?.stringValue != nil, object["id"] != nil else { return nil }
        var attrs = JSONObject()
        var data: JSONValue = .null
        for (k, v) in object.members {
            switch k {
            case "data": data = v
            case "data_base64":
                if let s = v.stringValue, let bytes = Base64.decode(s) {
                    data = Event.parseBody(bytes)
                }
            default: attrs[k] = v
            }
        }
        return (attrs, data)
    }
}
