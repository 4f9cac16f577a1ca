public import BridgeCore

/// Turns a webhook request's body into what the envelope carries: the body as
/// JSON (or a string) and, for CloudEvents, the event attributes.
///
/// - `application/json` and `*+json`: JSON (a parse error is a 400 that says where).
/// - `application/x-www-form-urlencoded`: an object of fields (repeated names become lists);
///   a `payload` field holding JSON (Slack interactivity) is parsed.
/// - CloudEvents: binary mode (`ce-*` headers, body = data), structured
///   (`application/cloudevents+json`) and batch (`application/cloudevents-batch+json`, one event each).
/// - Anything else: the body as a string.
public enum WebhookDecoder {
    /// One decoded event of a delivery (a batch has several).
    public struct Decoded: Sendable {
        public var body: JSONValue
        public var cloudEvent: JSONObject?
        /// `body` is ``Event/parseBody(_:)`` of the whole request body (JSON parsed whole, or no
        /// content type): the journal can store it once, as the raw bytes.
        public var bodyIsParsedRawBody = false
    }

    /// Why a body was refused (400), in words that say what to fix.
    public struct Failure: Error, Sendable, Equatable {
        public var message: String
    }

    /// The media type of a `Content-Type` value, lower-cased, without parameters.
    public static func mediaType(_ contentType: String?) -> String? {
        guard let contentType else { return nil }
        if let ascii = asciiMediaType(contentType.utf8) { return ascii.isEmpty ? nil : ascii }
        let base = String(contentType.unicodeScalars.prefix { $0 != ";" }).trimmingSpaces.lowercased()
        return base.isEmpty ? nil : base
    }

    /// ``mediaType(_:)`` for the usual all-ASCII header, on its bytes: the part before `;`, without
    /// surrounding whitespace, A–Z lower-cased. `nil` when a byte is beyond ASCII (the caller then
    /// takes the Unicode-aware path).
    static func asciiMediaType(_ utf8: String.UTF8View) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for b in utf8 {
            if b == UInt8(ascii: ";") { break }
            if b >= 0x80 { return nil }
            bytes.append(b >= 0x41 && b <= 0x5A ? b | 0x20 : b)
        }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = bytes.lastIndex(where: { !isSpace($0) })!
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    /// Decodes one delivery.
    /// - Parameter headers: lower-cased header names.
    public static func decode(headers: [String: String], body: [UInt8]) throws(Failure) -> [Decoded] {
        let type = mediaType(headers["content-type"])
        switch type {
        case "application/cloudevents+json":
            let v = try parseJSON(body, what: "structured CloudEvent")
            guard let object = v.objectValue, let ce = CloudEvent.fromStructured(object) else {
                throw Failure(message: "a structured CloudEvent must be a JSON object with 'specversion' and 'id'")
            }
            return [Decoded(body: ce.data, cloudEvent: ce.attributes)]
        case "application/cloudevents-batch+json":
            let v = try parseJSON(body, what: "CloudEvents batch")
            guard let items = v.arrayValue else { throw Failure(message: "a CloudEvents batch must be a JSON array of events") }
            var out: [Decoded] = []
            for (i, item) in items.enumerated() {
                guard let object = item.objectValue, let ce = CloudEvent.fromStructured(object) else {
                    throw Failure(message: "CloudEvents batch item \(i) must be an object with 'specversion' and 'id'")
                }
                out.append(Decoded(body: ce.data, cloudEvent: ce.attributes))
            }
            return out
        default:
            let payload = try decodePayload(type: type, body: body)
            let whole = type == nil || type == "application/json" || type?.hasSuffix("+json") == true
            return [Decoded(body: payload, cloudEvent: CloudEvent.fromBinary(headers: headers), bodyIsParsedRawBody: whole)]
        }
    }

    static func decodePayload(type: String?, body: [UInt8]) throws(Failure) -> JSONValue {
        guard let type else {
            // No Content-Type: JSON when it parses, otherwise text.
            return Event.parseBody(body)
        }
        if type == "application/json" || type.hasSuffix("+json") {
            return try parseJSON(body, what: "JSON body")
        }
        if type == "application/x-www-form-urlencoded" {
            return try parseForm(body)
        }
        return .string(String(decoding: body, as: UTF8.self))
    }

    static func parseJSON(_ body: [UInt8], what: String) throws(Failure) -> JSONValue {
        if body.isEmpty { throw Failure(message: "the \(what) is empty") }
        do {
            return try JSONParser.parse(body)
        } catch {
            throw Failure(message: "the \(what) is not valid JSON: \(error)")
        }
    }

    /// Parses `a=1&b=x+y&b=z` into `{"a":"1","b":["x y","z"]}`; `payload` JSON is parsed.
    static func parseForm(_ body: [UInt8]) throws(Failure) -> JSONValue {
        var fields = JSONObject()
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecode(parts[0]) else {
                throw Failure(message: "form field name is not valid percent-encoded UTF-8")
            }
            guard let value = parts.count > 1 ? percentDecode(parts[1]) : "" else {
                throw Failure(message: "form field '\(name)' is not valid percent-encoded UTF-8")
            }
            var v: JSONValue = .string(value)
            if name == "payload" {
                do { v = try JSONParser.parse(value) } catch {
                    throw Failure(message: "form field 'payload' is not valid JSON: \(error)")
                }
            }
            switch fields[name] {
            case nil: fields[name] = v
            case .array(var list)?:
                list.append(v)
                fields[name] = .array(list)
            case let existing?: fields[name] = .array([existing, v])
            }
        }
        return .object(fields)
    }

    static func percentDecode(_ bytes: some Collection<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var it = bytes.makeIterator()
        while let b = it.next() {
            if b == UInt8(ascii: "+") {
                out.append(0x20)
            } else if b == UInt8(ascii: "%") {
                guard let h = it.next().flatMap(Hex.value), let l = it.next().flatMap(Hex.value) else { return nil }
                out.append(h << 4 | l)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
