import BridgeCore
import Testing

/// The one Base64 and one Hex, with the inputs of each of their former callers (the CloudEvents
/// decoder, the Airflow client's JWT reading, the webhook verifiers, the template filters, SigV4).
@Suite struct EncodingTests {
    static let rfc4648: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    @Test("RFC 4648 vectors: encode, and decode padded and unpadded", arguments: rfc4648)
    func vectors(text: String, encoded: String) {
        #expect(Base64.encode(Array(text.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(text.utf8))
        let unpadded = encoded.filter { $0 != "=" }
        #expect(Base64.decode(unpadded) == Array(text.utf8))
        #expect(Base64.encodeURL(Array(text.utf8)) == unpadded)
    }

    @Test("URL-safe alphabet: encodeURL uses -_ without padding; decode takes either alphabet")
    func urlSafe() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF]
        #expect(Base64.encode(bytes) == "+/+/")
        #expect(Base64.encodeURL(bytes) == "-_-_")
        #expect(Base64.decode("-_-_") == bytes && Base64.decode("+/+/") == bytes)
        #expect(Base64.encodeURL([0xFB, 0xFF]) == "-_8")
    }

    @Test("former callers' inputs decode as before")
    func formerCallers() throws {
        // CloudEvents `data_base64`, also wrapped across lines as MIME encoders do.
        #expect(Base64.decode("eyJrIjoidiJ9") == Array(#"{"k":"v"}"#.utf8))
        #expect(Base64.decode("eyJrIjoi\r\ndiJ9\n") == Array(#"{"k":"v"}"#.utf8))
        // A JWT payload: URL-safe, unpadded, any length.
        let claims = Array(#"{"exp":1800000000,"sub":"svc?>"}"#.utf8)
        #expect(Base64.decode(Base64.encodeURL(claims)) == claims)
        // A Standard Webhooks `whsec_` key (the specification's example) is 24 bytes.
        #expect(Base64.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?.count == 24)
        // HTTP Basic credentials.
        #expect(Base64.decode("dTpw") == Array("u:p".utf8))
    }

    @Test("what is refused, and why", arguments: [
        ("Zg=", "wrong '=' padding"), ("Zm8==", "wrong '=' padding"), ("Z", "the length is not valid base64"),
        ("Zm9v=Zm9v", "only allowed at the end"), ("Zm9v!", "character 5 is not base64"), ("==", "unexpected '=' padding"),
    ])
    func refused(text: String, reason: String) {
        #expect(Base64.decode(text) == nil)
        guard case .failure(let e) = Base64.decodeChecked(text) else {
            Issue.record("\(text) decoded")
            return
        }
        #expect(e.message.contains(reason), "\(e.message)")
    }

    @Test("hex: lower-case out, either case in, odd length or other characters refused")
    func hex() {
        #expect(Hex.encode([0x00, 0x0F, 0xAB, 0xFF]) == "000fabff")
        #expect(Hex.encode([UInt8]()) == "")
        // Signatures as senders write them: GitHub lower-case, a re-cased copy decodes to the same bytes.
        let sig = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        #expect(Hex.decode(sig).map(Hex.encode) == sig)
        #expect(Hex.decode(sig.uppercased()) == Hex.decode(sig))
        #expect(Hex.decode("abc") == nil && Hex.decode("zz") == nil && Hex.decode("0x12") == nil)
        #expect(Hex.value(UInt8(ascii: "F")) == 15 && Hex.value(UInt8(ascii: "g")) == nil)
    }
}
