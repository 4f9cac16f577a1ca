import BridgeCore
import BridgeHTTP
import Foundation

/// Finds AWS credentials the way the AWS SDKs do, and caches temporary ones until shortly before they expire.
///
/// Order: explicit configuration; `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`; the shared
/// credentials file (`AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`, profile `profile`/`AWS_PROFILE`/`default`);
/// the container endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` or `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, with
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`); the instance metadata service (IMDSv2) unless
/// `AWS_EC2_METADATA_DISABLED=true`.
public actor AWSCredentialChain {
    let explicit: AWSCredentials?
    let profile: String?
    let environment: [String: String]
    let transport: any HTTPTransport
    var cached: AWSCredentials?

    /// - Parameters:
    ///   - config: the target's `aws-mwaa` settings (explicit keys and profile).
    ///   - environment: where variables are read (the process environment by default).
    public init(config: MWAAAuthConfig, environment: [String: String]? = nil, transport: any HTTPTransport) {
        if let id = config.accessKeyID, let secret = config.secretAccessKey {
            explicit = AWSCredentials(accessKeyID: id.value, secretAccessKey: secret.value, sessionToken: config.sessionToken?.value)
        } else {
            explicit = nil
        }
        profile = config.profile
        self.environment = environment ?? ProcessInfo.processInfo.environment
        self.transport = transport
    }

    /// Current credentials.
    /// - Throws: ``AirflowError`` (`.credentials`) naming the places searched.
    public func credentials() async throws(AirflowError) -> AWSCredentials {
        if let explicit { return explicit }
        if let c = cached, c.expiration.map({ $0 - 300 > Clock.now() }) ?? true { return c }
        let found = try await find()
        cached = found
        return found
    }

    /// Forgets cached credentials (after AWS refused them).
    public func invalidate() { cached = nil }

    private func find() async throws(AirflowError) -> AWSCredentials {
        if let id = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"], !id.isEmpty, !secret.isEmpty {
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        }
        let profileName = profile ?? environment["AWS_PROFILE"] ?? "default"
        let file = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.aws/credentials")
        if let data = FileManager.default.contents(atPath: file) {
            if let c = Self.parseProfile(String(decoding: data, as: UTF8.self), profile: profileName) { return c }
            if profile != nil {
                throw AirflowError(.credentials, "profile '\(profileName)' in \(file) has no aws_access_key_id and aws_secret_access_key")
            }
        }
        if let c = try await containerCredentials() { return c }
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() != "true", let c = try await instanceCredentials() { return c }
        throw AirflowError(
            .credentials,
            "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile in \(file), or run where the container or instance credential endpoint is available",
            retriable: true)
    }

    /// Reads one profile of an INI credentials file.
    static func parseProfile(_ text: String, profile: String) -> AWSCredentials? {
        var section = ""
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = String(raw).trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimmingSpaces
                if section.hasPrefix("profile ") { section = String(section.dropFirst(8)).trimmingSpaces }
                continue
            }
            guard section == profile, let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq]).trimmingSpaces.lowercased()] = String(line[line.index(after: eq)...]).trimmingSpaces
        }
        guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else { return nil }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: values["aws_session_token"])
    }

    /// Parses `{"AccessKeyId","SecretAccessKey","Token","Expiration"}` (container and instance endpoints).
    static func parseCredentialJSON(_ body: [UInt8]) -> AWSCredentials? {
        guard let json = try? JSONParser.parse(body), let id = json["AccessKeyId"]?.stringValue,
            let secret = json["SecretAccessKey"]?.stringValue
        else { return nil }
        let exp = json["Expiration"]?.stringValue.flatMap { ISO8601.parse($0) }?.timeIntervalSince1970
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: json["Token"]?.stringValue, expiration: exp)
    }

    private func containerCredentials() async throws(AirflowError) -> AWSCredentials? {
        let url: String
        if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            url = full
        } else if let rel = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !rel.isEmpty {
            url = "http://169.254.170.2" + rel
        } else {
            return nil
        }
        var request = HTTPRequest(method: .get, url: url, timeout: 5)
        if let tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], let data = FileManager.default.contents(atPath: tokenFile) {
            request.headers.append(("Authorization", String(decoding: data, as: UTF8.self).trimmingSpaces))
        } else if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !token.isEmpty {
            request.headers.append(("Authorization", token))
        }
        let response: HTTPResponse
        do {
            response = try await transport.execute(request)
        } catch {
            throw AirflowError(.credentials, "container credential endpoint \(url) cannot be reached: \(error)", retriable: true)
        }
        guard response.status == 200, let c = Self.parseCredentialJSON(response.body) else {
            throw AirflowError(.credentials, "container credential endpoint \(url) answered \(response.status) without credentials", retriable: response.status >= 500)
        }
        return c
    }

    private func instanceCredentials() async throws(AirflowError) -> AWSCredentials? {
        var base = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
        while base.hasSuffix("/") { base.removeLast() }
        do {
            let tokenResponse = try await transport.execute(
                HTTPRequest(method: .put, url: base + "/latest/api/token", headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")], timeout: 2))
            guard tokenResponse.status == 200 else { return nil }
            let token = tokenResponse.text.trimmingSpaces
            let header = [("X-aws-ec2-metadata-token", token)]
            let roles = try await transport.execute(HTTPRequest(method: .get, url: base + "/latest/meta-data/iam/security-credentials/", headers: header, timeout: 2))
            guard roles.status == 200, let role = roles.text.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else { return nil }
            let creds = try await transport.execute(
                HTTPRequest(method: .get, url: base + "/latest/meta-data/iam/security-credentials/" + URLEncoding.component(role), headers: header, timeout: 2))
            guard creds.status == 200 else { return nil }
            return Self.parseCredentialJSON(creds.body)
        } catch {
            return nil  // not on EC2
        }
    }
}
