import BridgeCore
import Crypto
import Foundation
import Synchronization

/// What a console login may do.
public enum ConsoleRole: String, Sendable, Equatable {
    /// `server.admin_token`: every page, and replay and purge.
    case admin
    /// One of `server.viewer_tokens`: every page, no action that changes the journal.
    case viewer

    /// Whether the role may replay or purge.
    var canAct: Bool { self == .admin }
}

/// A logged-in console session, as read back from its cookie.
struct ConsoleSession: Sendable, Equatable {
    var role: ConsoleRole
    var expires: Date
    /// Random per login: the CSRF token is derived from it, and logout revokes it.
    var nonce: String
}

/// Issues and checks the console's session cookies and CSRF tokens.
///
/// A cookie is `v1.<role>.<expiry>.<nonce>.<mac>` where the MAC is HMAC-SHA256 over the rest,
/// keyed by a random key made when the process starts: a cookie cannot be forged or edited
/// (role, expiry), and every session ends with the process. The CSRF token of a session is
/// HMAC(key, "csrf." + nonce), so it is bound to that session and never stored. Logout revokes
/// the nonce for the rest of its lifetime.
final class ConsoleSessions: Sendable {
    /// Why a cookie or token was refused; the message is what the login page says.
    enum Refusal: String, Error, Equatable {
        case missing, malformed, forged, expired, revoked

        var message: String {
            switch self {
            case .missing: "Log in with the admin token or a viewer token."
            case .malformed, .forged: "The session cookie is not valid (forged, or from an earlier run of the server). Log in again."
            case .expired: "The session has expired. Log in again."
            case .revoked: "This session was logged out. Log in again."
            }
        }
    }

    static let cookieName = "dagbridge_console"
    /// The pre-login cookie that binds the login form's CSRF token to this browser.
    static let loginCookieName = "dagbridge_console_login"

    private let key: SymmetricKey
    let lifetime: TimeInterval
    // Mutex around revoked nonces and their expiry (pruned as they lapse).
    private let revoked = Mutex<[String: Date]>([:])

    /// - Parameter lifetime: how long a login lasts (default 8 hours).
    init(lifetime: TimeInterval = 8 * 3600, key: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.key = key
        self.lifetime = lifetime
    }

    /// A new session for `role`, and its cookie value.
    func issue(role: ConsoleRole, now: Date = Date()) -> (value: String, session: ConsoleSession) {
        let expires = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + lifetime).rounded(.down))
        let session = ConsoleSession(role: role, expires: expires, nonce: Self.randomHex(16))
        let payload = "v1.\(role.rawValue).\(Int64(session.expires.timeIntervalSince1970)).\(session.nonce)"
        return (payload + "." + mac(payload), session)
    }

    /// The session a cookie value carries, or why not.
    func verify(_ value: String?, now: Date = Date()) -> Result<ConsoleSession, Refusal> {
        guard let value, !value.isEmpty else { return .failure(.missing) }
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard value.utf8.count < 200, parts.count == 5, parts[0] == "v1", let role = ConsoleRole(rawValue: String(parts[1])),
            let expiry = Int64(parts[2]), parts[3].utf8.count == 32
        else { return .failure(.malformed) }
        let payload = parts[0..<4].joined(separator: ".")
        guard constantTimeEqual(Array(mac(payload).utf8), Array(parts[4].utf8)) else { return .failure(.forged) }
        let session = ConsoleSession(role: role, expires: Date(timeIntervalSince1970: Double(expiry)), nonce: String(parts[3]))
        guard session.expires > now else { return .failure(.expired) }
        if revoked.withLock({ $0[session.nonce] != nil }) { return .failure(.revoked) }
        return .success(session)
    }

    /// Ends a session before its expiry.
    func revoke(_ session: ConsoleSession, now: Date = Date()) {
        revoked.withLock { r in
            r = r.filter { $0.value > now }
            r[session.nonce] = session.expires
        }
    }

    /// The CSRF token every state-changing form of `session` carries.
    func csrfToken(for session: ConsoleSession) -> String { mac("csrf." + session.nonce) }

    /// Whether `token` is the CSRF token of `session` (constant time).
    func checkCSRF(_ token: String?, session: ConsoleSession) -> Bool {
        guard let token else { return false }
        return constantTimeEqual(Array(csrfToken(for: session).utf8), Array(token.utf8))
    }

    /// The login form's CSRF token for the random value in the pre-login cookie.
    func loginToken(for loginNonce: String) -> String { mac("login." + loginNonce) }

    /// Whether the login form's token belongs to the pre-login cookie (constant time).
    func checkLoginToken(_ token: String?, loginNonce: String?) -> Bool {
        guard let token, let loginNonce, loginNonce.utf8.count == 32 else { return false }
        return constantTimeEqual(Array(loginToken(for: loginNonce).utf8), Array(token.utf8))
    }

    private func mac(_ text: String) -> String {
        Base64.encodeURL(Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)))
    }

    static func randomHex(_ bytes: Int) -> String {
        var g = SystemRandomNumberGenerator()
        return Hex.encode((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &g) })
    }
}
