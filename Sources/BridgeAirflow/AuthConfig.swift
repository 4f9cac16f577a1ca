public import BridgeCore

/// How a target's requests are authenticated (`auth:` of a target).
public enum AuthConfig: Sendable {
    /// No credentials.
    case none
    /// HTTP basic authentication.
    case basic(username: String, password: Secret)
    /// A static token: `Authorization: Bearer <token>`, or with `raw` the token as the whole header value.
    case bearer(token: Secret, raw: Bool)
    /// Any header carrying a secret (`rest_api_plugin_http_token: <value>`).
    case header(name: String, value: Secret)
    /// Airflow 3's `POST /auth/token` with a user name and password, exchanged for a JWT.
    case airflowPassword(username: String, password: Secret, tokenURL: String?)
    /// Google OAuth2 access token (Composer 2/3) or OIDC id token (Composer 1 / IAP).
    case google(GoogleAuthConfig)
    /// Amazon MWAA through the AWS API.
    case awsMWAA(MWAAAuthConfig)
    /// SPNEGO through libcurl's GSS-API; a Kerberos ticket cache (kinit) or keytab must exist.
    case kerberos

    /// The `type:` name, for messages.
    public var typeName: String {
        switch self {
        case .none: return "none"
        case .basic: return "basic"
        case .bearer: return "bearer"
        case .header: return "header"
        case .airflowPassword: return "airflow-password"
        case .google: return "google"
        case .awsMWAA: return "aws-mwaa"
        case .kerberos: return "kerberos"
        }
    }
}

/// Settings of the `google` auth provider.
public struct GoogleAuthConfig: Sendable {
    /// The default OAuth2 scope (Composer 2/3).
    public static let cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"
    /// The metadata server's token URL on GCE/GKE/Cloud Run.
    public static let defaultMetadataURL = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default"

    /// Path of a service-account JSON key; `nil` uses the metadata server.
    public var credentialsFile: String?
    /// When set, fetch an OIDC id token for this audience (IAP client id, Composer 1) instead of an access token.
    public var audience: String?
    /// OAuth2 scopes for access tokens.
    public var scopes: [String]
    /// The metadata server's service-account URL (overridable for tests).
    public var metadataURL: String
    /// Seconds before expiry when a token is refreshed.
    public var refreshMargin: Double

    public init(
        credentialsFile: String? = nil, audience: String? = nil, scopes: [String] = [GoogleAuthConfig.cloudPlatformScope],
        metadataURL: String = GoogleAuthConfig.defaultMetadataURL, refreshMargin: Double = 300
    ) {
        self.credentialsFile = credentialsFile
        self.audience = audience
        self.scopes = scopes
        self.metadataURL = metadataURL
        self.refreshMargin = refreshMargin
    }
}

/// Settings of the `aws-mwaa` auth provider.
public struct MWAAAuthConfig: Sendable {
    /// How the Airflow API is reached.
    public enum Mode: String, Sendable, CaseIterable {
        /// `InvokeRestApi`: every call signed with SigV4 through the AWS API.
        case invokeRestAPI = "invoke-rest-api"
        /// `CreateWebLoginToken`, then the web server's session cookie on `/api/v1`.
        case webLogin = "web-login"
    }

    public var mode: Mode
    /// AWS region (`eu-west-1`).
    public var region: String
    /// The MWAA environment name.
    public var environment: String
    /// The AWS API base URL; default `https://env.airflow.{region}.amazonaws.com`, as the AWS SDKs use (override for tests or VPC endpoints).
    public var endpoint: String?
    /// Explicit static credentials; otherwise the default chain (env, profile file, container, instance).
    public var accessKeyID: Secret?
    public var secretAccessKey: Secret?
    public var sessionToken: Secret?
    /// Profile name in `~/.aws/credentials` (otherwise `AWS_PROFILE` or `default`).
    public var profile: String?

    public init(
        mode: Mode = .invokeRestAPI, region: String, environment: String, endpoint: String? = nil,
        accessKeyID: Secret? = nil, secretAccessKey: Secret? = nil, sessionToken: Secret? = nil, profile: String? = nil
    ) {
        self.mode = mode
        self.region = region
        self.environment = environment
        self.endpoint = endpoint
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.profile = profile
    }

    /// The AWS API base URL in use.
    public var apiBaseURL: String {
        if var e = endpoint {
            while e.hasSuffix("/") { e.removeLast() }
            return e
        }
        return "https://env.airflow.\(region).amazonaws.com"
    }
}
