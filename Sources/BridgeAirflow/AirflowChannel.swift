import BridgeCore
public import BridgeHTTP

/// Carries ``AirflowCall``s to one target: directly over HTTP or through a cloud API.
public protocol AirflowChannel: Sendable {
    /// Sends a call and returns Airflow's answer (status and body as Airflow gave them).
    /// - Throws: ``AirflowError`` when credentials cannot be had, or the transport's error.
    func send(_ call: AirflowCall, timeout: Double) async throws -> HTTPResponse
}

/// `{url}{root}{path}` with the target's authorizer; a 401 refreshes credentials and retries once.
struct DirectChannel: AirflowChannel {
    let baseURL: String
    let transport: any HTTPTransport
    let authorizer: any RequestAuthorizer

    func send(_ call: AirflowCall, timeout: Double) async throws -> HTTPResponse {
        var request = HTTPRequest(method: call.method, url: call.url(base: baseURL), headers: [("Accept", "application/json")], timeout: timeout)
        if let body = call.body {
            request.headers.append(("Content-Type", "application/json"))
            request.body = JSONWriter.bytes(body)
        }
        var signed = request
        try await authorizer.authorize(&signed)
        let response = try await transport.execute(signed)
        guard response.status == 401, await authorizer.invalidate() else { return response }
        signed = request
        try await authorizer.authorize(&signed)
        return try await transport.execute(signed)
    }
}

/// Amazon MWAA `InvokeRestApi`: `POST {endpoint}/restapi/{env}` with `{"Path","Method","QueryParameters","Body"}`,
/// signed with SigV4 for service `airflow`. Airflow's own status and answer come back inside
/// `{"RestApiStatusCode","RestApiResponse"}` and are unwrapped.
struct MWAAInvokeChannel: AirflowChannel {
    let config: MWAAAuthConfig
    let credentials: AWSCredentialChain
    let transport: any HTTPTransport
    let target: String

    func send(_ call: AirflowCall, timeout: Double) async throws -> HTTPResponse {
        var payload = JSONObject()
        payload["Path"] = .string(URLEncoding.decode(Substring(call.path)))
        payload["Method"] = .string(call.method.rawValue)
        if !call.query.isEmpty {
            var q = JSONObject()
            for (k, v) in call.query { q[k] = .string(v) }
            payload["QueryParameters"] = .object(q)
        }
        if let body = call.body { payload["Body"] = body }
        let url = config.apiBaseURL + "/restapi/" + URLEncoding.component(config.environment)
        var attempt = 0
        while true {
            attempt += 1
            let creds = try await credentials.credentials()
            var request = HTTPRequest(
                method: .post, url: url, headers: [("Content-Type", "application/json")], body: JSONWriter.bytes(.object(payload)), timeout: timeout)
            SigV4Signer(credentials: creds, region: config.region, service: "airflow").sign(&request, date: Clock.now())
            let response = try await transport.execute(request)
            if let unwrapped = Self.unwrap(response) { return unwrapped }
            // AWS itself refused (expired temporary credentials): look them up again once.
            if (response.status == 403 || response.status == 401), attempt == 1 {
                await credentials.invalidate()
                continue
            }
            return Self.awsError(response, target: target)
        }
    }

    /// Airflow's answer from an `InvokeRestApi` answer (success, `RestApiClientException` or `RestApiServerException`).
    static func unwrap(_ response: HTTPResponse) -> HTTPResponse? {
        guard let json = try? JSONParser.parse(response.body), let code = json["RestApiStatusCode"]?.doubleValue else { return nil }
        let inner = json["RestApiResponse"] ?? .null
        return HTTPResponse(status: Int(code), headers: [("content-type", "application/json")], body: JSONWriter.bytes(inner))
    }

    /// AWS's own error (`AccessDeniedException`, `ResourceNotFoundException`…) as an answer the classifier reads.
    static func awsError(_ response: HTTPResponse, target: String) -> HTTPResponse {
        let type = (response.header("x-amzn-errortype") ?? "").split(separator: ":").first.map(String.init) ?? ""
        let json = try? JSONParser.parse(response.body)
        let message = json?["message"]?.stringValue ?? json?["Message"]?.stringValue ?? ""
        var o = JSONObject()
        o["title"] = .string(type.isEmpty ? "AWS error" : type)
        o["detail"] = .string("AWS MWAA API: \(type) \(message)".trimmingSpaces)
        var status = response.status
        if type == "ResourceNotFoundException" { status = 404 }  // the environment, not the DAG
        return HTTPResponse(status: status, headers: response.headers, body: JSONWriter.bytes(.object(o)))
    }
}

/// Amazon MWAA web login: `CreateWebLoginToken` (SigV4), then `POST https://{host}/aws_mwaa/login` with the token;
/// the session cookie authenticates calls to `https://{host}/api/v1/...`. A 401 or 403 logs in again once.
final class MWAAWebLoginChannel: AirflowChannel {
    let config: MWAAAuthConfig
    let credentials: AWSCredentialChain
    let transport: any HTTPTransport
    let target: String
    /// Overrides `https://{WebServerHostname}` (tests, private routing).
    let webServerURL: String?
    let session = TokenCache()

    init(config: MWAAAuthConfig, credentials: AWSCredentialChain, transport: any HTTPTransport, target: String, webServerURL: String?) {
        self.config = config
        self.credentials = credentials
        self.transport = transport
        self.target = target
        self.webServerURL = webServerURL
    }

    func send(_ call: AirflowCall, timeout: Double) async throws -> HTTPResponse {
        var attempt = 0
        while true {
            attempt += 1
            let packed = try await session.token { () async throws(AirflowError) -> CachedToken in try await self.login(timeout: timeout) }
            // The cached value is "base-url\ncookie".
            let parts = packed.split(separator: "\n", maxSplits: 1).map(String.init)
            let base = parts[0]
            var request = HTTPRequest(method: call.method, url: call.url(base: base), headers: [("Accept", "application/json")], timeout: timeout)
            if parts.count > 1 { request.headers.append(("Cookie", parts[1])) }
            if let body = call.body {
                request.headers.append(("Content-Type", "application/json"))
                request.body = JSONWriter.bytes(body)
            }
            let response = try await transport.execute(request)
            if (response.status == 401 || response.status == 403), attempt == 1 {
                await session.invalidate()
                continue
            }
            return response
        }
    }

    func login(timeout: Double) async throws(AirflowError) -> CachedToken {
        let creds = try await credentials.credentials()
        let url = config.apiBaseURL + "/webtoken/" + URLEncoding.component(config.environment)
        var request = HTTPRequest(method: .post, url: url, timeout: timeout)
        SigV4Signer(credentials: creds, region: config.region, service: "airflow").sign(&request, date: Clock.now())
        let answer: HTTPResponse
        do {
            answer = try await transport.execute(request)
        } catch {
            throw AirflowError(.transport, "CreateWebLoginToken for target '\(target)' failed: \(describeTransportError(error, timeout: timeout))", retriable: true)
        }
        guard answer.status == 200, let json = try? JSONParser.parse(answer.body), let token = json["WebToken"]?.stringValue,
            let host = json["WebServerHostname"]?.stringValue
        else {
            if answer.status == 403 || answer.status == 401 {
                await credentials.invalidate()
                throw AirflowError(.credentialsRejected, "credentials rejected by AWS for target '\(target)' (\(answer.status) from CreateWebLoginToken): check the IAM policy allows airflow:CreateWebLoginToken", httpStatus: answer.status)
            }
            throw AirflowError(.credentials, "CreateWebLoginToken for target '\(target)' answered \(answer.status)", retriable: answer.status >= 500 || answer.status == 429, httpStatus: answer.status)
        }
        let base = webServerURL ?? "https://\(host)"
        let login = HTTPRequest(
            method: .post, url: base + "/aws_mwaa/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: Array("token=\(URLEncoding.component(token))".utf8), timeout: timeout)
        let loginAnswer: HTTPResponse
        do {
            loginAnswer = try await transport.execute(login)
        } catch {
            throw AirflowError(.transport, "MWAA web login for target '\(target)' failed: \(describeTransportError(error, timeout: timeout))", retriable: true)
        }
        let cookies = loginAnswer.headers.filter { $0.name == "set-cookie" }.compactMap { $0.value.split(separator: ";").first.map { String($0).trimmingSpaces } }
        guard loginAnswer.status < 400, !cookies.isEmpty else {
            throw AirflowError(.credentialsRejected, "MWAA web login for target '\(target)' answered \(loginAnswer.status) without a session cookie", httpStatus: loginAnswer.status)
        }
        // Sessions last 12 h on MWAA; log in again well before.
        return CachedToken(value: base + "\n" + cookies.joined(separator: "; "), refreshAt: Clock.now() + 6 * 3600)
    }
}
