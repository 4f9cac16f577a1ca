import BridgeCore
import Testing

@testable import BridgeWebhooks

/// Published vectors (GitHub, Standard Webhooks, Slack) and vectors computed with Python's
/// `hmac` and `cryptography` (Stripe, Ed25519, generic HMAC): an independent implementation.
@Suite struct WebhookVerifierTests {
    let stripeBody = Array(#"{"id":"evt_1","type":"charge.succeeded"}"#.utf8)
    static let slackBody =
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"

    func rejection(_ v: WebhookVerifier, _ headers: [String: String], _ body: [UInt8], now: Double) -> String? {
        do {
            try v.verify(headers: headers, body: body, now: now)
            return nil
        } catch {
            return error.publicMessage
        }
    }

    @Test func github() throws {
        let v = WebhookVerifier(.github(secrets: [Secret("old"), Secret("It's a Secret to Everybody")]))
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        let id = try v.verify(headers: ["x-hub-signature-256": good, "x-github-delivery": "d-1"], body: Array("Hello, World!".utf8)).senderID
        #expect(id == "d-1")
        #expect(rejection(v, ["x-hub-signature-256": good], Array("Hello, World?".utf8), now: 0) == "invalid signature")
        #expect(rejection(v, [:], [], now: 0) == "missing x-hub-signature-256 header")
        #expect(rejection(v, ["x-hub-signature-256": "sha1=abc"], [], now: 0) == "malformed signature header")
    }

    @Test func standardWebhooksHMACWithRotationToleranceAndReplay() throws {
        let secret = Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let v = WebhookVerifier(.standardWebhooks(secrets: [secret], tolerance: 300))
        let body = Array(#"{"test": 2432232314}"#.utf8)
        var h = [
            "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
            "webhook-signature": "v1,bm90IHRoaXMgb25l v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ]
        #expect(try v.verify(headers: h, body: body, now: 1_614_265_330).senderID == "msg_p5jXN8AQM9LWM0D4loKWxJek")
        #expect(rejection(v, h, body, now: 1_614_265_331) == "replayed delivery")
        #expect(rejection(v, h, body, now: 1_614_265_330 + 301) == "timestamp outside tolerance")
        #expect(rejection(v, h, body, now: 1_614_265_330 - 301) == "timestamp outside tolerance")
        h["webhook-signature"] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        #expect(rejection(WebhookVerifier(.standardWebhooks(secrets: [secret], tolerance: 300)), h, body + [0x20], now: 1_614_265_330) == "invalid signature")
        h["webhook-id"] = nil
        #expect(rejection(v, h, body, now: 1_614_265_330) == "missing webhook-id header")
    }

    @Test func standardWebhooksEd25519() throws {
        let v = WebhookVerifier(.standardWebhooks(secrets: [Secret("whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")], tolerance: 300))
        let h = [
            "webhook-id": "msg_1", "webhook-timestamp": "1700000000",
            "webhook-signature":
                "v1a,nKXi/vn6fMWbRgOZMiqytA7Sa6k8qCWLRZiONjmSbwNCODOukp3gh2Iu4Oy8QhuWPi3nuc+rW9c4arakah0XCA==",
        ]
        #expect(try v.verify(headers: h, body: stripeBody, now: 1_700_000_000).senderID == "msg_1")
        let tampered = WebhookVerifier(v.scheme)
        #expect(rejection(tampered, h, stripeBody + [0x20], now: 1_700_000_000) == "invalid signature")
    }

    @Test func stripe() throws {
        let v = WebhookVerifier(.stripe(secrets: [Secret("whsec_test_secret")], tolerance: 300))
        let h = ["stripe-signature": "t=1700000000,v1=c0475716eb2200f1fe97fcf35a3c05d1fd4f8ba9a07a596730c8d18bb87c0672,v0=dead"]
        try v.verify(headers: h, body: stripeBody, now: 1_700_000_100)
        #expect(rejection(v, h, stripeBody, now: 1_700_000_101) == "replayed delivery")
        #expect(rejection(v, ["stripe-signature": "v1=00"], stripeBody, now: 0) == "malformed signature header")
        #expect(rejection(WebhookVerifier(v.scheme), h, stripeBody, now: 1_700_000_301) == "timestamp outside tolerance")
    }

    @Test func slack() throws {
        let v = WebhookVerifier(.slack(secrets: [Secret("8f742231b10e8888abcd99yyyzzz85a5")], tolerance: 300))
        let h = [
            "x-slack-request-timestamp": "1531420618",
            "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        ]
        try v.verify(headers: h, body: Array(Self.slackBody.utf8), now: 1_531_420_618)
        #expect(rejection(WebhookVerifier(v.scheme), h, Array((Self.slackBody + "x").utf8), now: 1_531_420_618) == "invalid signature")
    }

    @Test func genericHMACWithTemplateAndBase64() throws {
        let spec = WebhookVerifier.HMACScheme(
            secrets: [Secret("k1")], header: "X-Signature", algorithm: .sha512, encoding: .base64, prefix: "sha512=",
            signedContent: "{timestamp}:{header:X-Account}:{body}", timestampHeader: "X-Timestamp", tolerance: 60)
        let v = WebhookVerifier(.hmac(spec))
        let h = [
            "x-signature": "sha512=UUdIjCWRP6H85UrD9JqAK59dAEGLbd9pnWD4FFB2qA5kS0atZR9YrbK0q/aWMk1u9QfOAkW28iBoL0JoNIXY4Q==",
            "x-timestamp": "1700000000", "x-account": "abc",
        ]
        try v.verify(headers: h, body: stripeBody, now: 1_700_000_000)
        var other = h
        other["x-account"] = "abd"
        #expect(rejection(WebhookVerifier(v.scheme), other, stripeBody, now: 1_700_000_000) == "invalid signature")
        let sha1 = WebhookVerifier(.hmac(.init(secrets: [Secret("k1")], header: "x-sig", algorithm: .sha1)))
        try sha1.verify(headers: ["x-sig": "4bb200cb42685a4b6ef7b9329f5133a63539c13c"], body: stripeBody)
    }

    @Test func bearerAndBasicWithRotation() throws {
        let bearer = WebhookVerifier(.bearer(tokens: [Secret("new"), Secret("old")], header: "authorization"))
        try bearer.verify(headers: ["authorization": "Bearer old"], body: [])
        #expect(rejection(bearer, ["authorization": "Bearer olde"], [], now: 0) == "invalid token")
        #expect(rejection(bearer, ["authorization": "Basic b2xk"], [], now: 0) == "missing bearer token")
        let custom = WebhookVerifier(.bearer(tokens: [Secret("t")], header: "x-token"))
        try custom.verify(headers: ["x-token": "t"], body: [])
        let basic = WebhookVerifier(.basic(credentials: [Secret("u:p")]))
        try basic.verify(headers: ["authorization": "Basic " + Base64.encode(Array("u:p".utf8))], body: [])
        #expect(rejection(basic, ["authorization": "Basic " + Base64.encode(Array("u:q".utf8))], [], now: 0) == "invalid credentials")
    }

    @Test("a verifier keys its HMACs once: each delivery starts from the keyed state, whatever came before")
    func keyedMACIsReusedWithoutCarryingState() throws {
        // Every algorithm, both secrets of a rotation pair, bodies of several lengths (across the
        // 64- and 128-byte hash blocks), each checked against a one-shot HMAC and checked twice.
        for algorithm in WebhookVerifier.HMACScheme.Algorithm.allCases {
            for secret in ["k", String(repeating: "s", count: 200)] {
                let keyed = KeyedMAC(algorithm, key: Array(secret.utf8))
                for length in [0, 1, 55, 56, 64, 111, 112, 128, 1000] {
                    let body = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
                    let expected = hmac(algorithm, key: Array(secret.utf8), body)
                    #expect(keyed.code(body) == expected, "\(algorithm) key \(secret.count) body \(length)")
                    #expect(keyed.code(body) == expected, "\(algorithm) key \(secret.count) body \(length), second use")
                }
            }
        }
        // Through the verifier: the same verifier accepts one delivery after another and after a
        // rejection, and the second secret of a rotation pair still works.
        let v = WebhookVerifier(.github(secrets: [Secret("current"), Secret("previous")]))
        for (n, secret) in ["current", "previous", "current"].enumerated() {
            let body = Array("delivery \(n)".utf8)
            let sig = "sha256=" + Hex.encode(hmac(.sha256, key: Array(secret.utf8), body))
            #expect(try v.verify(headers: ["x-hub-signature-256": sig, "x-github-delivery": "d\(n)"], body: body).senderID == "d\(n)")
            #expect(rejection(v, ["x-hub-signature-256": sig], body + [0x20], now: 0) == "invalid signature")
        }
    }

    @Test func constantTimeCompare() {
        #expect(constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEqual([1, 2], [1, 2, 3]))
    }
}
