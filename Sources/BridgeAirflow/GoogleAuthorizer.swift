import BridgeCore
public import BridgeHTTP
import Crypto
import _CryptoExtras
import Foundation

/// Google credentials for Cloud Composer: an OAuth2 access token (Composer 2/3) or an OIDC id token for an
/// audience (Composer 1 behind IAP), from a service-account key or the metadata server.
///
/// With a key: an RS256-signed JWT assertion (`iss`, `scope` or `target_audience`, `aud` = the key's `token_uri`,
/// `iat`, `exp`) is exchanged at `token_uri` (grant type `urn:ietf:params:oauth:grant-type:jwt-bearer`).
/// With the metadata server: `GET {metadata}/token?scopes=…` or `GET {metadata}/identity?audience=…` with
/// `Metadata-Flavor: Google`. Tokens are cached and refreshed `refreshMargin` before they expire.
public final class GoogleAuthorizer: RequestAuthorizer {
    struct ServiceAccountKey: Sendable {
        var clientEmail: String
        var tokenURI: String
        var keyID: String?
        var key: _RSA.Signing.PrivateKey
    }

    let config: GoogleAuthConfig
    let key: ServiceAccountKey?
    let target: String
    let transport: any HTTPTransport
    let cache = TokenCache()

    /// - Throws: ``AirflowError`` (`.config`) when the key file cannot be read or holds no usable RSA key.
    public init(config: GoogleAuthConfig, target: String, transport: any HTTPTransport) throws(AirflowError) {
        self.config = config
        self.target = target
        self.transport = transport
        if let path = config.credentialsFile {
            key = try Self.loadKey(path)
        } else {
            key = nil
        }
    }

    public func authorize(_ request: inout HTTPRequest) async throws(AirflowError) {
        let token = try await cache.token { () async throws(AirflowError) -> CachedToken in try await self.fetch() }
        request.headers.append(("Authorization", "Bearer \(token)"))
    }

    public func invalidate() async -> Bool {
        await cache.invalidate()
        return true
    }

    /// How many tokens were fetched.
    public var fetchCount: Int {
        get async { await cache.fetchCount }
    }

    static func loadKey(_ path: String) throws(AirflowError) -> ServiceAccountKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AirflowError(.config, "Google credentials file \(path) cannot be read")
        }
        guard let json = try? JSONParser.parse(Array(data)), let email = json["client_email"]?.stringValue,
            let pem = json["private_key"]?.stringValue
        else {
            throw AirflowError(.config, "Google credentials file \(path) is not a service-account key (needs client_email and private_key)")
        }
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw AirflowError(.config, "the private_key in Google credentials file \(path) is not a usable RSA key")
        }
        return ServiceAccountKey(
            clientEmail: email, tokenURI: json["token_uri"]?.stringValue ?? "https://oauth2.googleapis.com/token",
            keyID: json["private_key_id"]?.stringValue, key: key)
    }

    func fetch() async throws(AirflowError) -> CachedToken {
        if let key { return try await fetchWithKey(key) }
        return try await fetchFromMetadata()
    }

    /// The signed assertion for the token endpoint.
    func assertion(_ key: ServiceAccountKey, now: Double) throws(AirflowError) -> String {
        var header = JSONObject()
        header["alg"] = "RS256"
        header["typ"] = "JWT"
        if let kid = key.keyID { header["kid"] = .string(kid) }
        var claims = JSONObject()
        claims["iss"] = .string(key.clientEmail)
        if let audience = config.audience {
            claims["target_audience"] = .string(audience)
        } else {
            claims["scope"] = .string(config.scopes.joined(separator: " "))
        }
        claims["aud"] = .string(key.tokenURI)
        claims["iat"] = .int(Int64(now))
        claims["exp"] = .int(Int64(now) + 3600)
        let signingInput = Base64.encodeURL(JSONWriter.bytes(.object(header))) + "." + Base64.encodeURL(JSONWriter.bytes(.object(claims)))
        do {
            let signature = try key.key.signature(for: Array(signingInput.utf8), padding: .insecurePKCS1v1_5)
            return signingInput + "." + Base64.encodeURL(Array(signature.rawRepresentation))
        } catch {
            throw AirflowError(.config, "cannot sign the Google token assertion for target '\(target)' with the service-account key")
        }
    }

    func fetchWithKey(_ key: ServiceAccountKey) async throws(AirflowError) -> CachedToken {
        let now = Clock.now()
        let jwt = try assertion(key, now: now)
        let form = "grant_type=" + URLEncoding.component("urn:ietf:params:oauth:grant-type:jwt-bearer") + "&assertion=" + jwt
        let request = HTTPRequest(
            method: .post, url: key.tokenURI, headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Array(form.utf8), timeout: 30)
        let response = try await exchange(request, what: "Google token endpoint \(key.tokenURI)")
        guard let json = try? JSONParser.parse(response.body) else {
            throw AirflowError(.badAnswer, "Google token endpoint \(key.tokenURI) answered non-JSON for target '\(target)'")
        }
        return try token(from: json, now: now, endpoint: key.tokenURI)
    }

    func fetchFromMetadata() async throws(AirflowError) -> CachedToken {
        let now = Clock.now()
        let url: String
        if let audience = config.audience {
            url = config.metadataURL + "/identity?audience=" + URLEncoding.component(audience) + "&format=full"
        } else {
            url = config.metadataURL + "/token?scopes=" + URLEncoding.component(config.scopes.joined(separator: ","))
        }
        let request = HTTPRequest(method: .get, url: url, headers: [("Metadata-Flavor", "Google")], timeout: 10)
        let response = try await exchange(request, what: "the metadata server (\(config.metadataURL))")
        if config.audience != nil {
            let idToken = response.text.trimmingSpaces
            guard !idToken.isEmpty else { throw AirflowError(.badAnswer, "the metadata server sent an empty id token for target '\(target)'") }
            return cached(idToken, expiresAt: JWT.expiry(idToken) ?? now + 3600, now: now)
        }
        guard let json = try? JSONParser.parse(response.body) else {
            throw AirflowError(.badAnswer, "the metadata server answered non-JSON for target '\(target)'")
        }
        return try token(from: json, now: now, endpoint: config.metadataURL)
    }

    func exchange(_ request: HTTPRequest, what: String) async throws(AirflowError) -> HTTPResponse {
        let response: HTTPResponse
        do {
            response = try await transport.execute(request)
        } catch {
            throw AirflowError(.transport, "cannot get a Google token from \(what) for target '\(target)': \(describeTransportError(error, timeout: 30))", retriable: true)
        }
        guard response.status == 200 else {
            let detail = (try? JSONParser.parse(response.body)).flatMap { $0["error_description"]?.stringValue ?? $0["error"]?.stringValue } ?? ""
            let retriable = response.status >= 500 || response.status == 429 || response.status == 408
            throw AirflowError(
                retriable ? .credentials : .credentialsRejected,
                "\(what) refused a token for target '\(target)' (\(response.status))\(detail.isEmpty ? "" : ": \(detail)")",
                retriable: retriable, httpStatus: response.status)
        }
        return response
    }

    func token(from json: JSONValue, now: Double, endpoint: String) throws(AirflowError) -> CachedToken {
        if config.audience != nil {
            guard let id = json["id_token"]?.stringValue else {
                throw AirflowError(.badAnswer, "\(endpoint) sent no id_token for target '\(target)'")
            }
            return cached(id, expiresAt: JWT.expiry(id) ?? now + 3600, now: now)
        }
        guard let access = json["access_token"]?.stringValue else {
            throw AirflowError(.badAnswer, "\(endpoint) sent no access_token for target '\(target)'")
        }
        return cached(access, expiresAt: now + (json["expires_in"]?.doubleValue ?? 3600), now: now)
    }

    func cached(_ token: String, expiresAt: Double, now: Double) -> CachedToken {
        let margin = min(config.refreshMargin, max(0, (expiresAt - now) / 2))
        return CachedToken(value: token, refreshAt: expiresAt - margin)
    }
}
