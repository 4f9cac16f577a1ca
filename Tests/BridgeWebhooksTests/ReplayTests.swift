import BridgeCore
import Foundation
import Testing

@testable import BridgeWebhooks

/// A replay is the same signed content again, however its signature is written: the exact
/// request, re-cased hex, a re-ordered or padded signature list, an extra junk signature, a
/// signature of the second secret of a rotation pair. Schemes with a signed timestamp refuse it
/// inside the tolerance window; every signature scheme gives it the same event id as the
/// original, and gives a sender's retry (the same event signed again later) that id too.
@Suite struct ReplayTests {
    static let now = 1_700_000_000.0
    let body = Array(#"{"text":"deploy","trigger_id":"398738663015"}"#.utf8)

    func hex(_ secret: String, _ content: String, _ algorithm: WebhookVerifier.HMACScheme.Algorithm = .sha256) -> String {
        Hex.encode(hmac(algorithm, key: Array(secret.utf8), Array(content.utf8)))
    }

    /// `variants` are each refused as a replay after `original` was accepted; `retry` (the same
    /// body, a later timestamp) is accepted with the original's event id.
    func expectReplaysRefused(
        _ scheme: WebhookVerifier.Scheme, original: [String: String], variants: [(String, [String: String])], retry: [String: String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let v = WebhookVerifier(scheme)
        let first = try v.verify(headers: original, body: body, now: Self.now)
        #expect(first.contentID != nil || first.senderID != nil, sourceLocation: sourceLocation)
        for (name, headers) in [("exact replay", original)] + variants {
            do {
                try v.verify(headers: headers, body: body, now: Self.now + 1)
                Issue.record("\(name) was accepted", sourceLocation: sourceLocation)
            } catch {
                #expect(error.publicMessage == "replayed delivery", "\(name): \(error.detail)", sourceLocation: sourceLocation)
            }
        }
        // A second verifier (a restart, an empty cache) accepts the replay, with the same id: the
        // journal then holds the event already and no second run starts (ReplayJournalTests).
        #expect(try WebhookVerifier(scheme).verify(headers: original, body: body, now: Self.now + 1) == first, sourceLocation: sourceLocation)
        let again = try v.verify(headers: retry, body: body, now: Self.now + 60)
        #expect(again.contentID == first.contentID && again.senderID == first.senderID, "a retry maps to another event", sourceLocation: sourceLocation)
    }

    @Test func slack() throws {
        let secret = "8f742231b10e8888abcd99yyyzzz85a5"
        let sig = hex(secret, "v0:1700000000:" + String(decoding: body, as: UTF8.self))
        let original = ["x-slack-request-timestamp": "1700000000", "x-slack-signature": "v0=" + sig]
        let retrySig = hex(secret, "v0:1700000060:" + String(decoding: body, as: UTF8.self))
        try expectReplaysRefused(
            .slack(secrets: [Secret("rotated-out"), Secret(secret)], tolerance: 300), original: original,
            variants: [("re-cased hex", original.merging(["x-slack-signature": "v0=" + sig.uppercased()]) { $1 })],
            retry: ["x-slack-request-timestamp": "1700000060", "x-slack-signature": "v0=" + retrySig])
    }

    @Test func stripe() throws {
        let (a, b) = ("whsec_new", "whsec_old")
        let content = "1700000000." + String(decoding: body, as: UTF8.self)
        let (sa, sb) = (hex(a, content), hex(b, content))
        let original = ["stripe-signature": "t=1700000000,v1=\(sa),v1=\(sb)"]
        let retry = ["stripe-signature": "t=1700000060,v1=" + hex(a, "1700000060." + String(decoding: body, as: UTF8.self))]
        try expectReplaysRefused(
            .stripe(secrets: [Secret(a), Secret(b)], tolerance: 300), original: original,
            variants: [
                ("re-cased hex", ["stripe-signature": "t=1700000000,v1=\(sa.uppercased()),v1=\(sb)"]),
                ("re-ordered list", ["stripe-signature": "v1=\(sb),t=1700000000,v1=\(sa)"]),
                ("padded list", ["stripe-signature": "t=1700000000, v1=\(sa) ,  v1=\(sb)"]),
                ("extra junk signature", ["stripe-signature": "t=1700000000,v1=\(String(repeating: "0", count: 64)),v1=\(sa)"]),
                ("the other secret's signature alone", ["stripe-signature": "t=1700000000,v1=\(sb)"]),
            ], retry: retry)
    }

    @Test func standardWebhooks() throws {
        let key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let raw = try #require(Base64.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        func sign(_ ts: String) -> String {
            Base64.encode(hmac(.sha256, key: raw, Array("msg_1.\(ts).".utf8) + body))
        }
        let sig = sign("1700000000")
        let base = ["webhook-id": "msg_1", "webhook-timestamp": "1700000000"]
        let urlSafeUnpadded = sig.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        try expectReplaysRefused(
            .standardWebhooks(secrets: [Secret(key)], tolerance: 300), original: base.merging(["webhook-signature": "v1," + sig]) { $1 },
            variants: [
                ("re-encoded signature", base.merging(["webhook-signature": "v1," + urlSafeUnpadded]) { $1 }),
                ("re-ordered list with junk", base.merging(["webhook-signature": "v1,bm90IHRoaXMgb25l v1,\(sig)"]) { $1 }),
                ("padded list", base.merging(["webhook-signature": "v1,\(sig)   v1a,AAAA"]) { $1 }),
            ],
            retry: ["webhook-id": "msg_1", "webhook-timestamp": "1700000060", "webhook-signature": "v1," + sign("1700000060")])
    }

    @Test func genericHMACWithTimestamp() throws {
        let spec = WebhookVerifier.HMACScheme(
            secrets: [Secret("k1")], header: "x-signature", prefix: "sha256=", signedContent: "{timestamp}.{body}",
            timestampHeader: "x-timestamp", tolerance: 300)
        let sig = hex("k1", "1700000000." + String(decoding: body, as: UTF8.self))
        let original = ["x-timestamp": "1700000000", "x-signature": "sha256=" + sig]
        try expectReplaysRefused(
            .hmac(spec), original: original,
            variants: [
                ("re-cased hex", ["x-timestamp": "1700000000", "x-signature": "sha256=" + sig.uppercased()]),
                ("padded", ["x-timestamp": "1700000000", "x-signature": "sha256=  " + sig + " "]),
                ("padded timestamp", ["x-timestamp": " 1700000000", "x-signature": "sha256=" + sig]),
            ],
            retry: ["x-timestamp": "1700000060", "x-signature": "sha256=" + hex("k1", "1700000060." + String(decoding: body, as: UTF8.self))])
    }

    /// Without a signed timestamp there is no window to refuse replays in; a replay, however written,
    /// maps to the same event id and so to the same run.
    @Test func schemesWithoutTimestampGiveReplaysTheSameID() throws {
        let hmacV = WebhookVerifier(.hmac(.init(secrets: [Secret("k1")], header: "x-sig")))
        let sig = hex("k1", String(decoding: body, as: UTF8.self))
        let a = try hmacV.verify(headers: ["x-sig": sig], body: body)
        let b = try hmacV.verify(headers: ["x-sig": sig.uppercased()], body: body)
        #expect(a.contentID != nil && a == b)
        #expect(try hmacV.verify(headers: ["x-sig": hex("k1", "other")], body: Array("other".utf8)).contentID != a.contentID)

        let gh = WebhookVerifier(.github(secrets: [Secret("s")]))
        let ghSig = "sha256=" + hex("s", String(decoding: body, as: UTF8.self))
        let withDelivery = try gh.verify(headers: ["x-hub-signature-256": ghSig, "x-github-delivery": "d-1"], body: body)
        #expect(withDelivery == .init(senderID: "d-1"))
        let bare = try gh.verify(headers: ["x-hub-signature-256": ghSig], body: body)
        #expect(bare.contentID != nil)
        #expect(try gh.verify(headers: ["x-hub-signature-256": "sha256=" + ghSig.dropFirst(7).uppercased()], body: body) == bare)
    }

    @Test("the cache is bounded by size: at capacity the entries closest to expiry go first")
    func cacheIsBoundedBySize() throws {
        let cache = ReplayCache(capacity: 1000)
        for n in 0..<5000 {
            try cache.check(Array(distinctKey(n)), now: 100, ttl: 600 + Double(n))
        }
        #expect(cache.count <= 1000)
        // The newest stay remembered, the oldest were forgotten.
        #expect(throws: WebhookVerifier.Rejection.self) { try cache.check(Array(distinctKey(4999)), now: 101, ttl: 600) }
        try cache.check(Array(distinctKey(0)), now: 101, ttl: 600)
        // Time bounds it too: past every expiry a sweep empties it.
        try cache.check(Array(distinctKey(-1)), now: 100_000, ttl: 1)
        #expect(cache.count == 1)
    }
}

/// 16 distinct bytes per integer.
private func distinctKey(_ n: Int) -> [UInt8] {
    Hex.decode(WebhookVerifier.contentID(Array(String(n).utf8)))!
}
