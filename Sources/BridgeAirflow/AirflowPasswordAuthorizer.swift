public import BridgeCore
public import BridgeHTTP

/// Airflow 3's token auth: `POST {url}/auth/token {"username","password"}` → `{"access_token": JWT}`.
///
/// The token is cached and fetched anew shortly before its `exp` (read from the JWT payload),
/// and once after a 401. Concurrent callers share one fetch.
public final class AirflowPasswordAuthorizer: RequestAuthorizer {
    let tokenURL: String
    let username: String
    let password: Secret
    let target: String
    let timeout: Double
    let transport: any HTTPTransport
    /// Seconds before `exp` when the token is replaced.
    let refreshMargin: Double
    let cache = TokenCache()

    /// - Parameters:
    ///   - tokenURL: `{url}/auth/token` unless configured otherwise.
    ///   - target: the target name, for messages.
    public init(tokenURL: String, username: String, password: Secret, target: String, timeout: Double, transport: any HTTPTransport, refreshMargin: Double = 60) {
        self.tokenURL = tokenURL
        self.username = username
        self.password = password
        self.target = target
        self.timeout = timeout
        self.transport = transport
        self.refreshMargin = refreshMargin
    }

    public func authorize(_ request: inout HTTPRequest) async throws(AirflowError) {
        let token = try await cache.token { () async throws(AirflowError) -> CachedToken in try await self.fetch() }
        request.headers.append(("Authorization", "Bearer \(token)"))
    }

    public func invalidate() async -> Bool {
        await cache.invalidate()
        return true
    }

    /// How many times a token was fetched (for tests and metrics).
    public var fetchCount: Int {
        get async { await cache.fetchCount }
    }

    /// Plants a token the cache believes valid until `validUntil` (tests: a token the server will refuse).
    @_spi(Testing) public func plantToken(_ token: String, validUntil: Double) async {
        await cache.set(CachedToken(value: token, refreshAt: validUntil))
    }

    func fetch() async throws(AirflowError) -> CachedToken {
        var body = JSONObject()
        body["username"] = .string(username)
        body["password"] = .string(password.value)
        let request = HTTPRequest(
            method: .post, url: tokenURL, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: JSONWriter.bytes(.object(body)), timeout: timeout)
        let response: HTTPResponse
        do {
            response = try await transport.execute(request)
        } catch {
            throw AirflowError(.transport, "cannot get a token from \(tokenURL) for target '\(target)': \(describeTransportError(error, timeout: timeout))", retriable: true)
        }
        switch response.status {
        case 200, 201:
            guard let json = try? JSONParser.parse(response.body), let token = json["access_token"]?.stringValue, !token.isEmpty else {
                throw AirflowError(.badAnswer, "token endpoint \(tokenURL) of target '\(target)' answered \(response.status) without an access_token", httpStatus: response.status)
            }
            let now = Clock.now()
            let exp = JWT.expiry(token) ?? (now + 3600)
            // Short-lived tokens: refresh at the latest half-way through their life.
            let margin = min(refreshMargin, max(0, (exp - now) / 2))
            return CachedToken(value: token, refreshAt: exp - margin)
        case 400, 401, 403, 422:
            throw AirflowError(
                .credentialsRejected,
                "credentials rejected by target '\(target)' (\(response.status) from \(tokenURL)): check auth username and password",
                httpStatus: response.status)
        case 404:
            throw AirflowError(.config, "target '\(target)' has no token endpoint at \(tokenURL) (404): check url, or use a different auth type", httpStatus: 404)
        default:
            let retriable = response.status == 408 || response.status == 429 || response.status >= 500
            throw AirflowError(
                .credentials, "token endpoint \(tokenURL) of target '\(target)' answered \(response.status)", retriable: retriable,
                httpStatus: response.status)
        }
    }
}

/// A short text for a failed exchange (no secrets: transport errors carry none).
func describeTransportError(_ error: any Error, timeout: Double) -> String {
    if let f = error as? any TransportFailure, f.isTimeout { return "timeout after \(DurationText.format(timeout))" }
    return "\(error)"
}
