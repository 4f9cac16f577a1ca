public import BridgeCore
import Crypto
import Foundation
import Synchronization

/// Verifies that a webhook delivery comes from its sender, on the raw body bytes.
///
/// Every comparison of a secret-derived value is constant-time. Schemes with a
/// signed timestamp reject deliveries outside `tolerance` and exact replays
/// inside it (a seen-signature cache); a sender's retry carries a new timestamp
/// and so a new signature, and is accepted.
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

    public let scheme: Scheme
    private let replays: ReplayCache
    /// One keyed HMAC per secret of the HMAC schemes (GitHub, Stripe, Slack, generic), in the
    /// order of the scheme's secrets. Keying hashes the padded secret; doing it once here saves
    /// two hash blocks per secret on every delivery.
    private let macs: [KeyedMAC]

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
    /// - Returns: the sender's event id when the scheme carries one (`webhook-id`), else `nil`.
    /// - Throws: ``Rejection``.
    @discardableResult
    public func verify(headers: [String: String], body: [UInt8], now: Double? = nil) throws(Rejection) -> String? {
        let now = now ?? Date().timeIntervalSince1970
        switch scheme {
        case .none:
            return nil
        case .github:
            let value = try header(headers, "x-hub-signature-256")
            guard value.hasPrefix("sha256="), let sig = Hex.decode(String(value.dropFirst(7))) else {
                throw reject("malformed signature header", "X-Hub-Signature-256 is not sha256=<hex>")
            }
            guard macs.contains(where: { constantTimeEqual($0.code(body), sig) }) else {
                throw reject("invalid signature", "GitHub signature mismatch")
            }
            return headers["x-github-delivery"]
        case .standardWebhooks(let secrets, let tolerance):
            let id = try header(headers, "webhook-id")
            let ts = try timestamp(try header(headers, "webhook-timestamp"), now: now, tolerance: tolerance)
            let sigHeader = try header(headers, "webhook-signature")
            let content = Array("\(id).\(ts).".utf8) + body
            var ok = false
            for entry in sigHeader.split(separator: " ") {
                let parts = entry.split(separator: ",", maxSplits: 1)
                guard parts.count == 2, let sig = Base64.decode(String(parts[1])) else { continue }
                for secret in secrets {
                    if parts[0] == "v1", let key = Self.standardWebhooksKey(secret.value, prefix: "whsec_"),
                        constantTimeEqual(hmac(.sha256, key: key, content), sig)
                    {
                        ok = true
                    } else if parts[0] == "v1a", let key = Self.standardWebhooksKey(secret.value, prefix: "whpk_"),
                        let pub = try? Curve25519.Signing.PublicKey(rawRepresentation: key),
                        pub.isValidSignature(sig, for: content)
                    {
                        ok = true
                    }
                }
            }
            guard ok else { throw reject("invalid signature", "no webhook-signature entry matched") }
            try replays.check("sw:\(id):\(ts):\(sigHeader)", now: now, ttl: 2 * tolerance)
            return id
        case .stripe(_, let tolerance):
            let value = try header(headers, "stripe-signature")
            var ts: String?
            var sigs: [[UInt8]] = []
            for item in value.split(separator: ",") {
                let kv = item.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                let k = kv[0].trimmingSpaces
                if k == "t" { ts = kv[1].trimmingSpaces }
                if k == "v1", let s = Hex.decode(kv[1].trimmingSpaces) { sigs.append(s) }
            }
            guard let ts, !sigs.isEmpty else { throw reject("malformed signature header", "Stripe-Signature lacks t= or v1=") }
            _ = try timestamp(ts, now: now, tolerance: tolerance)
            let content = Array("\(ts).".utf8) + body
            guard
                macs.contains(where: { keyed in
                    let mac = keyed.code(content)
                    return sigs.contains { constantTimeEqual(mac, $0) }
                })
            else { throw reject("invalid signature", "Stripe signature mismatch") }
            try replays.check("stripe:\(value)", now: now, ttl: 2 * tolerance)
            return nil
        case .slack(_, let tolerance):
            let ts = try timestamp(try header(headers, "x-slack-request-timestamp"), now: now, tolerance: tolerance)
            let value = try header(headers, "x-slack-signature")
            guard value.hasPrefix("v0="), let sig = Hex.decode(String(value.dropFirst(3))) else {
                throw reject("malformed signature header", "X-Slack-Signature is not v0=<hex>")
            }
            let content = Array("v0:\(ts):".utf8) + body
            guard macs.contains(where: { constantTimeEqual($0.code(content), sig) }) else {
                throw reject("invalid signature", "Slack signature mismatch")
            }
            try replays.check("slack:\(ts):\(value)", now: now, ttl: 2 * tolerance)
            return nil
        case .hmac(let spec):
            return try verifyHMAC(spec, headers: headers, body: body, now: now)
        case .bearer(let tokens, let name):
            let value = try header(headers, name)
            let presented: Substring
            if name == "authorization" {
                guard value.count > 7, value.prefix(7).lowercased() == "bearer " else {
                    throw reject("missing bearer token", "Authorization is not 'Bearer <token>'")
                }
                presented = value.dropFirst(7)
            } else {
                presented = Substring(value)
            }
            let bytes = Array(presented.trimmingSpaces.utf8)
            guard tokens.contains(where: { constantTimeEqual(Array($0.value.utf8), bytes) }) else {
                throw reject("invalid token", "bearer token not accepted")
            }
            return nil
        case .basic(let credentials):
            let value = try header(headers, "authorization")
            guard value.count > 6, value.prefix(6).lowercased() == "basic ", let decoded = Base64.decode(String(value.dropFirst(6)))
            else { throw reject("missing basic credentials", "Authorization is not 'Basic <base64>'") }
            guard credentials.contains(where: { constantTimeEqual(Array($0.value.utf8), decoded) }) else {
                throw reject("invalid credentials", "basic credentials not accepted")
            }
            return nil
        }
    }

    private func verifyHMAC(_ spec: HMACScheme, headers: [String: String], body: [UInt8], now: Double) throws(Rejection)
        -> String?
    {
        let value = try header(headers, spec.header)
        guard value.hasPrefix(spec.prefix) else { throw reject("malformed signature header", "\(spec.header) lacks '\(spec.prefix)'") }
        let text = String(value.dropFirst(spec.prefix.count)).trimmingSpaces
        let decoded = spec.encoding == .hex ? Hex.decode(text) : Base64.decode(text)
        guard let sig = decoded else { throw reject("malformed signature header", "\(spec.header) is not \(spec.encoding.rawValue)") }
        var ts: String?
        if let th = spec.timestampHeader { ts = try timestamp(try header(headers, th), now: now, tolerance: spec.tolerance) }
        // Build the signed content from the template.
        var content: [UInt8] = []
        var rest = Substring(spec.signedContent)
        while let open = rest.firstIndex(of: "{") {
            content += Array(rest[..<open].utf8)
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            let token = rest[rest.index(after: open)..<close]
            if token == "body" {
                content += body
            } else if token == "timestamp" {
                content += Array((ts ?? "").utf8)
            } else if token.hasPrefix("header:") {
                content += Array((try header(headers, token.dropFirst(7).lowercased())).utf8)
            } else {
                content += Array(rest[open...close].utf8)
            }
            rest = rest[rest.index(after: close)...]
        }
        content += Array(rest.utf8)
        guard macs.contains(where: { constantTimeEqual($0.code(content), sig) }) else {
            throw reject("invalid signature", "HMAC mismatch on \(spec.header)")
        }
        if let ts { try replays.check("hmac:\(ts):\(text)", now: now, ttl: 2 * spec.tolerance) }
        return nil
    }

    // MARK: Helpers

    private func reject(_ publicMessage: String, _ detail: String) -> Rejection {
        Rejection(publicMessage: publicMessage, detail: detail)
    }

    private func header(_ headers: [String: String], _ name: String) throws(Rejection) -> String {
        guard let v = headers[name], !v.isEmpty else { throw reject("missing \(name) header", "missing \(name)") }
        return v
    }

    /// Parses a Unix-seconds timestamp and checks it is within `tolerance` of `now`.
    private func timestamp(_ text: String, now: Double, tolerance: Double) throws(Rejection) -> String {
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

/// HMAC of `data` with `key`.
func hmac(_ algorithm: WebhookVerifier.HMACScheme.Algorithm, key: [UInt8], _ data: [UInt8]) -> [UInt8] {
    let k = SymmetricKey(data: key)
    switch algorithm {
    case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: k))
    case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: k))
    case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: k))
    }
}

/// An HMAC keyed once with one secret; each ``code(_:)`` copies the keyed state.
struct KeyedMAC: Sendable {
    private enum State: Sendable {
        case sha1(HMAC<Insecure.SHA1>)
        case sha256(HMAC<SHA256>)
        case sha512(HMAC<SHA512>)
    }

    private let state: State

    init(_ algorithm: WebhookVerifier.HMACScheme.Algorithm, key: [UInt8]) {
        let k = SymmetricKey(data: key)
        switch algorithm {
        case .sha1: state = .sha1(HMAC(key: k))
        case .sha256: state = .sha256(HMAC(key: k))
        case .sha512: state = .sha512(HMAC(key: k))
        }
    }

    /// The authentication code of `data`.
    func code(_ data: [UInt8]) -> [UInt8] {
        switch state {
        case .sha1(let h): Self.code(h, data)
        case .sha256(let h): Self.code(h, data)
        case .sha512(let h): Self.code(h, data)
        }
    }

    /// `data` signed by a copy of the keyed state `keyed`.
    private static func code<H: HashFunction>(_ keyed: HMAC<H>, _ data: [UInt8]) -> [UInt8] {
        var h = keyed
        h.update(data: data)
        return Array(h.finalize())
    }
}

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
}

/// Lower-case hex.
enum Hex {
    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = v(u[i]), let lo = v(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

/// Signatures seen inside their tolerance window; an exact replay is refused.
///
/// A signature stays remembered for twice the tolerance (a timestamp may lie up to
/// `tolerance` in the past or the future). Memory is bounded: expired entries are
/// swept, and past ``capacity`` the oldest are forgotten first.
final class ReplayCache: Sendable {
    private struct State {
        var expiry: [String: Double] = [:]
        var nextSweep: Double = 0
    }
    // Mutex makes the cache safe to share between request handlers.
    private let state = Mutex(State())
    static let capacity = 200_000

    func check(_ key: String, now: Double, ttl: Double) throws(WebhookVerifier.Rejection) {
        let fresh = state.withLock { s -> Bool in
            if now >= s.nextSweep || s.expiry.count >= Self.capacity {
                s.expiry = s.expiry.filter { $0.value > now }
                if s.expiry.count >= Self.capacity {
                    let keep = s.expiry.sorted { $0.value > $1.value }.prefix(Self.capacity / 2)
                    s.expiry = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
                }
                s.nextSweep = now + 30
            }
            if let until = s.expiry[key], until > now { return false }
            s.expiry[key] = now + ttl
            return true
        }
        guard fresh else {
            throw WebhookVerifier.Rejection(publicMessage: "replayed delivery", detail: "signature already seen inside the tolerance window")
        }
    }
}
