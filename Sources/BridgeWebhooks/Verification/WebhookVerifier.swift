public import BridgeCore
import Crypto
import Foundation
import Synchronization

/// Verifies that a webhook delivery comes from its sender, on the raw body bytes.
///
/// Every comparison of a secret-derived value is constant-time. Schemes with a
/// signed timestamp reject deliveries outside `tolerance` and replays inside it: the
/// seen-cache is keyed on what was verified (the MAC of the signed content under the
/// first secret, or a digest of it), not on the header text, so re-cased hex, a
/// re-ordered or padded signature list or an extra junk signature is still a replay.
/// A sender's retry carries a new timestamp and is accepted; ``Verified/contentID``
/// maps it to the same event id.
public struct WebhookVerifier: Sendable {
    /// A verification scheme and its secrets.
    public enum Scheme: Sendable {
        /// No verification (must be chosen explicitly).
        case none
        /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body)>`; several secrets for rotation.
        case github(secrets: [Secret])
        /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (`v1,<b64>` HMAC-SHA256
        /// with `whsec_` keys, `v1a,<b64>` Ed25519 with `whpk_` public keys; several, space separated).
        case standardWebhooks(secrets: [Secret], tolerance: Double)
        /// Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=…]` over `t.body`, secret used as raw bytes.
        case stripe(secrets: [Secret], tolerance: Double)
        /// Slack: `X-Slack-Signature: v0=<hex>` over `v0:<X-Slack-Request-Timestamp>:body`.
        case slack(secrets: [Secret], tolerance: Double)
        /// Any HMAC scheme: header, algorithm, encoding, prefix and signed-content template.
        case hmac(HMACScheme)
        /// `Authorization: Bearer <token>` (or another header carrying the token), any of several tokens.
        case bearer(tokens: [Secret], header: String)
        /// HTTP Basic, any of several `user:password` pairs.
        case basic(credentials: [Secret])
    }

    /// A generic HMAC scheme.
    public struct HMACScheme: Sendable {
        public enum Algorithm: String, Sendable, CaseIterable { case sha1, sha256, sha512 }
        public enum Encoding: String, Sendable, CaseIterable { case hex, base64 }
        public var secrets: [Secret]
        /// Lower-cased name of the header carrying the signature.
        public var header: String
        public var algorithm: Algorithm
        public var encoding: Encoding
        /// Text before the signature in the header value, e.g. `sha256=`.
        public var prefix: String
        /// What is signed: `{body}`, `{timestamp}` and `{header:Name}` are replaced. Default `{body}`.
        public var signedContent: String
        /// Lower-cased header carrying a Unix timestamp, when the scheme has one.
        public var timestampHeader: String?
        public var tolerance: Double

        public init(
            secrets: [Secret], header: String, algorithm: Algorithm = .sha256, encoding: Encoding = .hex, prefix: String = "",
            signedContent: String = "{body}", timestampHeader: String? = nil, tolerance: Double = 300
        ) {
            self.secrets = secrets
            self.header = header.lowercased()
            self.algorithm = algorithm
            self.encoding = encoding
            self.prefix = prefix
            self.signedContent = signedContent
            self.timestampHeader = timestampHeader?.lowercased()
            self.tolerance = tolerance
        }
    }

    /// Why a delivery was refused. `publicMessage` is safe to send back (it never helps forging);
    /// `detail` is for the log.
    public struct Rejection: Error, Sendable, Equatable {
        public var publicMessage: String
        public var detail: String
    }

    /// What a verified delivery says about its identity.
    public struct Verified: Sendable, Equatable {
        /// The sender's id for the delivery, when the scheme carries one (`webhook-id`, `X-GitHub-Delivery`).
        public var senderID: String?
        /// For signature schemes without a sender id: 32 hex digits of SHA-256 over the signed
        /// content with its timestamp left out. A replay and a sender's retry (the same event
        /// signed again with a new timestamp) get the same id, and so the same run id.
        public var contentID: String?
        /// What this process's replay cache remembered, for a fleet-wide check (``ReplayGuard``);
        /// nil for schemes without a timestamp window.
        public var replay: ReplayMark?

        public init(senderID: String? = nil, contentID: String? = nil, replay: ReplayMark? = nil) {
            self.senderID = senderID
            self.contentID = contentID
            self.replay = replay
        }

        /// The same identity: sender id and content id (the replay mark's expiry depends on when it was verified).
        public static func == (a: Verified, b: Verified) -> Bool { a.senderID == b.senderID && a.contentID == b.contentID }
    }

    /// A verified delivery's replay key (the first 128 bits of what was verified) and until when it is remembered.
    public struct ReplayMark: Sendable, Equatable {
        public var key: [UInt8]
        public var until: Double
    }

    /// Remembers `verified` in this process's replay cache; refuses it when seen inside the window.
    func remember(_ verified: [UInt8], now: Double, ttl: Double) throws(Rejection) -> ReplayMark {
        try replays.check(verified, now: now, ttl: ttl)
        return ReplayMark(key: Array(verified.prefix(16)), until: now + ttl)
    }

    public let scheme: Scheme
    let replays: ReplayCache
    /// One keyed HMAC per secret of the HMAC schemes (GitHub, Stripe, Slack, generic), in the
    /// order of the scheme's secrets. Keying hashes the padded secret; doing it once here saves
    /// two hash blocks per secret on every delivery.
    let macs: [KeyedMAC]

    public init(_ scheme: Scheme) {
        self.scheme = scheme
        self.replays = ReplayCache()
        switch scheme {
        case .github(let secrets), .stripe(let secrets, _), .slack(let secrets, _):
            macs = secrets.map { KeyedMAC(.sha256, key: Array($0.value.utf8)) }
        case .hmac(let spec):
            macs = spec.secrets.map { KeyedMAC(spec.algorithm, key: Array($0.value.utf8)) }
        case .none, .standardWebhooks, .bearer, .basic:
            macs = []
        }
    }

    /// Checks one delivery.
    /// - Parameters:
    ///   - headers: lower-cased header names.
    ///   - body: the raw body bytes.
    ///   - now: the current time (Unix seconds).
    /// - Returns: the delivery's identity as far as the scheme vouches for it.
    /// - Throws: ``Rejection``.
    @discardableResult
    public func verify(headers: [String: String], body: [UInt8], now: Double? = nil) throws(Rejection) -> Verified {
        let now = now ?? Date().timeIntervalSince1970
        switch scheme {
        case .none:
            return Verified()
        case .github:
            return try verifyGitHub(headers: headers, body: body)
        case .standardWebhooks(let secrets, let tolerance):
            return try verifyStandardWebhooks(secrets: secrets, tolerance: tolerance, headers: headers, body: body, now: now)
        case .stripe(_, let tolerance):
            return try verifyStripe(tolerance: tolerance, headers: headers, body: body, now: now)
        case .slack(_, let tolerance):
            return try verifySlack(tolerance: tolerance, headers: headers, body: body, now: now)
        case .hmac(let spec):
            return try verifyHMAC(spec, headers: headers, body: body, now: now)
        case .bearer(let tokens, let name):
            return try verifyBearer(tokens: tokens, header: name, headers: headers)
        case .basic(let credentials):
            return try verifyBasic(credentials: credentials, headers: headers)
        }
    }

    // MARK: Helpers

    /// The MAC of `content` under the first secret, when the MAC under any secret equals one of
    /// `signatures`; else `nil`. The result depends only on the content, not on which secret or
    /// which signature entries a sender (or a replayer) presented, so it keys the replay cache.
    func matchingMAC(_ content: [UInt8], _ signatures: [[UInt8]]) -> [UInt8]? {
        var first: [UInt8]?
        for keyed in macs {
            let mac = keyed.code(content)
            if first == nil { first = mac }
            if signatures.contains(where: { constantTimeEqual(mac, $0) }) { return first }
        }
        return nil
    }

    /// ``Verified/contentID``: 32 hex digits of SHA-256 over `parts`.
    static func contentID(_ parts: [UInt8]...) -> String {
        var h = SHA256()
        for p in parts { h.update(data: p) }
        return Hex.encode(Array(h.finalize().prefix(16)))
    }

    func reject(_ publicMessage: String, _ detail: String) -> Rejection {
        Rejection(publicMessage: publicMessage, detail: detail)
    }

    func header(_ headers: [String: String], _ name: String) throws(Rejection) -> String {
        guard let v = headers[name], !v.isEmpty else { throw reject("missing \(name) header", "missing \(name)") }
        return v
    }

    /// Parses a Unix-seconds timestamp and checks it is within `tolerance` of `now`.
    func timestamp(_ text: String, now: Double, tolerance: Double) throws(Rejection) -> String {
        guard let t = Int64(text.trimmingSpaces) else { throw reject("malformed timestamp", "timestamp '\(text.prefix(20))'") }
        guard abs(Double(t) - now) <= tolerance else {
            throw reject("timestamp outside tolerance", "timestamp \(t) is \(Int(Double(t) - now))s from now")
        }
        return String(t)
    }

    /// The key bytes of a Standard Webhooks secret (`whsec_`/`whpk_` + base64); a secret without
    /// the prefix is taken as base64 too, as the spec's libraries do.
    static func standardWebhooksKey(_ secret: String, prefix: String) -> [UInt8]? {
        if secret.hasPrefix(prefix) { return Base64.decode(String(secret.dropFirst(prefix.count))) }
        if secret.hasPrefix("whsec_") || secret.hasPrefix("whpk_") || secret.hasPrefix("whsk_") { return nil }
        return Base64.decode(secret)
    }
}

