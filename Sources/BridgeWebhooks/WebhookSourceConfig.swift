import BridgeConfig
import BridgeCore

/// One webhook source (`sources.webhooks[]` in `dagbridge.yaml`).
///
/// Keys:
/// - `name` (string, required): the source name rules refer to.
/// - `path` (string, default `/hooks/{name}`).
/// - `verify` (mapping, required): `type` is one of `github`, `standard-webhooks`, `stripe`, `slack`,
///   `hmac`, `bearer`, `basic`, `none` (must be explicit). Secrets: `secret` or `secrets` (a list, for rotation).
///   `tolerance` (duration, default 5m) for timestamped schemes. `hmac`: `header` (required), `algorithm`
///   (sha1|sha256|sha512, default sha256), `encoding` (hex|base64, default hex), `prefix`, `signed_content`
///   (default `{body}`; `{timestamp}`, `{header:Name}`), `timestamp_header`. `bearer`: `token`/`tokens`,
///   `header` (default Authorization). `basic`: `credentials`, a list of `{username, password}`.
/// - `event_id` (default `auto`): `auto`, `header:NAME`, `body:PATH`, `cloudevent`, `generated`.
/// - `max_body` (size, default the server's `max_body`, 1MiB): larger bodies get 413.
/// - `content_types` (list, default any): accepted media types; others get 415.
/// - `secret_headers` (list, default none): more headers that carry credentials. They, and always
///   `Authorization`, `Proxy-Authorization`, `Cookie` and a bearer source's token header, are
///   replaced by ``CredentialHeaders/marker`` before the event is built.
public struct WebhookSourceConfig: Sendable {
    public var name: String
    public var path: String
    public var verifier: WebhookVerifier
    public var eventID: EventIDStrategy
    public var maxBody: Int
    /// Lower-cased media types; empty = any.
    public var contentTypes: [String]
    /// Lower-cased names of the headers replaced by ``CredentialHeaders/marker`` (see `secret_headers`).
    public var secretHeaders: Set<String> = CredentialHeaders.standard

    public var isStripe: Bool {
        if case .stripe = verifier.scheme { return true }
        return false
    }

    static let verifyTypes = ["github", "standard-webhooks", "stripe", "slack", "hmac", "bearer", "basic", "none"]
}
