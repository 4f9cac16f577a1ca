import BridgeCore
import Testing

@testable import BridgeWebhooks

@Suite struct WebhookDecoderTests {
    /// The Unicode-aware rule the ASCII fast path must agree with: the part before the first `;`,
    /// trimmed of whitespace, lower-cased.
    static func reference(_ contentType: String) -> String? {
        let base = String(contentType.unicodeScalars.prefix { $0 != ";" }).trimmingSpaces.lowercased()
        return base.isEmpty ? nil : base
    }

    @Test("media type: parameters, case and surrounding whitespace are dropped")
    func mediaTypeExamples() {
        #expect(WebhookDecoder.mediaType("application/json") == "application/json")
        #expect(WebhookDecoder.mediaType("Application/JSON; charset=utf-8") == "application/json")
        #expect(WebhookDecoder.mediaType(" \ttext/plain \r\n;q=1") == "text/plain")
        #expect(WebhookDecoder.mediaType("application/cloudevents-batch+json;charset=UTF-8") == "application/cloudevents-batch+json")
        #expect(WebhookDecoder.mediaType(nil) == nil)
        #expect(WebhookDecoder.mediaType("") == nil)
        #expect(WebhookDecoder.mediaType("   ") == nil)
        #expect(WebhookDecoder.mediaType(";charset=utf-8") == nil)
        #expect(WebhookDecoder.mediaType(";application/json") == nil)  // nothing before the first ';'
        #expect(WebhookDecoder.mediaType("\u{00A0};application/json") == nil)
        // Beyond ASCII: the Unicode path trims a no-break space and lower-cases non-ASCII letters.
        #expect(WebhookDecoder.mediaType("\u{00A0}Application/JSON\u{00A0}") == "application/json")
        #expect(WebhookDecoder.mediaType("TEXT/ÉTÉ") == "text/été")
        // A ';' followed by a combining mark is one Character but still ends the type, as on the ASCII path.
        #expect(WebhookDecoder.mediaType("T\u{00C9}XT/plain;\u{0301}q=1") == "t\u{00E9}xt/plain")
    }

    @Test("a decoded body marked as the parsed raw body is exactly Event.parseBody of the raw bytes (the journal stores it once on that promise)")
    func bodyIsParsedRawBodyKeepsItsPromise() throws {
        let bodies = [#"{"a":1,"b":[true,null]}"#, #"[1,2]"#, "\"text\"", "a=1&payload=%7B%22x%22%3A1%7D", "plain ✓ text", #"{"specversion":"1.0","id":"c","data":{"x":1}}"#]
        let types: [String?] = [nil, "application/json", "application/vnd.github+json", "text/plain", "application/x-www-form-urlencoded", "application/cloudevents+json"]
        var marked = 0, unmarked = 0
        for body in bodies {
            for type in types {
                let headers = type.map { ["content-type": $0] } ?? [:]
                guard let decoded = try? WebhookDecoder.decode(headers: headers, body: Array(body.utf8)) else { continue }
                for d in decoded {
                    if d.bodyIsParsedRawBody {
                        marked += 1
                        #expect(d.body == Event.parseBody(Array(body.utf8)), "\(type ?? "none"): \(body)")
                    } else {
                        unmarked += 1
                    }
                }
            }
        }
        // JSON and untyped bodies are marked; text, forms and structured CloudEvents are not.
        #expect(marked >= 10 && unmarked >= 10, "marked \(marked), unmarked \(unmarked)")
        #expect(try WebhookDecoder.decode(headers: ["content-type": "text/plain"], body: Array("[1]".utf8))[0].bodyIsParsedRawBody == false)
        #expect(try WebhookDecoder.decode(headers: ["content-type": "application/x-www-form-urlencoded"], body: Array("a=1".utf8))[0].bodyIsParsedRawBody == false)
        #expect(try WebhookDecoder.decode(headers: [:], body: Array("[1]".utf8))[0].bodyIsParsedRawBody)
        // A binary-mode CloudEvent: the body is the event's data, the raw body parsed.
        let binary = try WebhookDecoder.decode(
            headers: ["content-type": "application/json", "ce-specversion": "1.0", "ce-id": "c-9", "ce-type": "t", "ce-source": "s"],
            body: Array(#"{"bucket":"b"}"#.utf8))
        #expect(binary[0].cloudEvent?["id"] == "c-9")
        #expect(binary[0].bodyIsParsedRawBody && binary[0].body == Event.parseBody(Array(#"{"bucket":"b"}"#.utf8)))
    }

    @Test("media type: the ASCII fast path equals the Unicode-aware rule on every ASCII byte in every position")
    func mediaTypeFastPathMatchesReference() {
        // Each ASCII byte (controls, spaces, ';', letters at the edges of A–Z and a–z) placed
        // before, inside and after a type.
        for b in UInt8(0)..<0x80 {
            let c = String(UnicodeScalar(b))
            for text in [c + "application/json", "application/" + c + "json", "application/json" + c, c, "A" + c + "Z;" + c, c + c + "x" + c + c] {
                #expect(WebhookDecoder.mediaType(text) == Self.reference(text), "byte \(b) in \(text.debugDescription)")
                #expect(WebhookDecoder.asciiMediaType(text.utf8) != nil)
            }
        }
        #expect(WebhookDecoder.asciiMediaType("caf\u{00E9}/json".utf8) == nil)
        // A non-ASCII byte after ';' is never read: the parameters are dropped.
        #expect(WebhookDecoder.asciiMediaType("Text/Plain; title=caf\u{00E9}".utf8) == "text/plain")
    }
}
