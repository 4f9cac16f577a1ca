public import BridgeConfig
import BridgeCore

/// Which Airflow REST API a target speaks.
public enum AirflowAPI: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Airflow 3: `POST /api/v2/dags/{dag_id}/dagRuns`, `logical_date` sent (null unless given).
    case v2
    /// Airflow 2 stable API: `POST /api/v1/dags/{dag_id}/dagRuns`.
    case v1
    /// Airflow 1.10 / 2 experimental API: `POST /api/experimental/dags/{dag_id}/dag_runs`.
    case experimental
    /// The Airflow 1.x REST API plugin: `POST /admin/rest_api/api?api=trigger_dag&...`.
    case restAPIPlugin = "rest-api-plugin"

    public var description: String { rawValue }
}

/// TLS settings for one target.
public struct TLSOptions: Sendable, Equatable {
    /// PEM bundle of CAs to trust instead of the system store.
    public var caFile: String?
    /// PEM client certificate (mTLS).
    public var certFile: String?
    /// PEM private key of the client certificate.
    public var keyFile: String?
    /// Skip certificate verification. Development only; logged as a warning.
    public var insecureSkipVerify: Bool

    /// Creates TLS settings; every parameter defaults to "not set".
    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecureSkipVerify = insecureSkipVerify
    }
}

/// One Airflow target: where it is, which API it speaks, how to authenticate, and its limits.
///
/// Built by ``TargetsConfig/parse(_:resolver:diagnostics:)`` from one entry of the
/// `targets:` section of `dagbridge.yaml`; see there for every key and its default.
public struct TargetConfig: Sendable {
    /// The target's name (its key under `targets:`).
    public var name: String
    /// Base URL without a trailing slash; may carry a path prefix (`https://host/composer-prefix`).
    /// Empty for `aws-mwaa`, whose URL comes from the region and environment.
    public var url: String
    /// The API flavour.
    public var api: AirflowAPI
    /// How requests are authenticated.
    public var auth: AuthConfig
    /// Total timeout of one request in seconds (default 30).
    public var timeout: Double
    /// Connect timeout in seconds (default 10).
    public var connectTimeout: Double
    /// TLS settings.
    public var tls: TLSOptions
    /// Explicit proxy URL (otherwise libcurl reads `HTTPS_PROXY`/`HTTP_PROXY`).
    public var proxy: String?
    /// Hosts that bypass the proxy (comma-separated, as `NO_PROXY`).
    public var noProxy: String?
    /// Where the target was defined, for messages.
    public var location: SourceLocation?

    /// Creates the settings; every parameter has the documented default.
    public init(
        name: String, url: String, api: AirflowAPI = .v2, auth: AuthConfig = .none, timeout: Double = 30,
        connectTimeout: Double = 10, tls: TLSOptions = TLSOptions(),
        proxy: String? = nil, noProxy: String? = nil, location: SourceLocation? = nil
    ) {
        self.name = name
        var u = url
        while u.hasSuffix("/") { u.removeLast() }
        self.url = u
        self.api = api
        self.auth = auth
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.tls = tls
        self.proxy = proxy
        self.noProxy = noProxy
        self.location = location
    }

    /// The transport settings this target needs from the HTTP client.
    public var transportOptions: TransportOptions {
        var negotiate = false
        if case .kerberos = auth { negotiate = true }
        return TransportOptions(
            connectTimeout: connectTimeout, tls: tls, proxy: proxy, noProxy: noProxy, negotiate: negotiate)
    }
}
