import Glibc

/// Settings of one ``HTTPClient``: timeouts, limits, TLS, proxy and authentication.
///
/// Every option has a default that suits talking to an Airflow API:
/// - `connectTimeout` (seconds, default 10): time to resolve, connect and finish the TLS handshake.
/// - `timeout` (seconds, default 30): whole-request limit; ``HTTPRequest/timeout`` overrides it per request.
/// - `maxResponseBytes` (default 1 MiB): the transfer is aborted when a response body grows past this.
/// - `tls` (default: system CA bundle, verification on): see ``TLS``.
/// - `proxy` (default none): explicit proxy URL such as `http://proxy:3128`. When nil, libcurl
///   honours the `https_proxy`/`HTTPS_PROXY`, `http_proxy`, `all_proxy` and `no_proxy`/`NO_PROXY`
///   environment variables.
/// - `noProxy` (default none): comma-separated hosts/domains/CIDRs that bypass the proxy
///   (overrides `NO_PROXY`); `"*"` disables proxies.
/// - `negotiate` (default false): Kerberos/SPNEGO (`Authorization: Negotiate`) with the
///   credentials of the process's ticket cache.
/// - `userAgent` (default `dagbridge/0.1`).
/// - `maxConnectionsPerHost` (default 0 = unlimited): extra requests to a busy host wait in libcurl's queue.
/// - `http2` (default true): negotiate HTTP/2 over TLS when the server offers it (plain `http://` uses HTTP/1.1).
///
/// ```swift
/// var config = HTTPClientConfiguration()
/// config.timeout = 15
/// config.tls.caFile = "/etc/dagbridge/airflow-ca.pem"
/// let client = try HTTPClient(configuration: config)
/// ```
public struct HTTPClientConfiguration: Sendable, Equatable {
    /// TLS settings: trust anchors, client certificate for mutual TLS, and the development-only escape hatch.
    public struct TLS: Sendable, Equatable {
        /// PEM file with the CA certificates to trust instead of the system bundle (default nil = system bundle).
        public var caFile: String?
        /// PEM client certificate for mutual TLS (default nil).
        public var certFile: String?
        /// PEM private key of `certFile` (default nil; required when `certFile` is set
        /// unless the certificate file also holds the key).
        public var keyFile: String?
        /// Password of an encrypted `keyFile` (default nil).
        public var keyPassword: String?
        /// Skip certificate and host name verification (default false). For development only:
        /// the client logs a warning when created with it.
        public var insecureSkipVerify: Bool

        /// Creates TLS settings; every parameter defaults to "not set".
        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, keyPassword: String? = nil, insecureSkipVerify: Bool = false) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.keyPassword = keyPassword
            self.insecureSkipVerify = insecureSkipVerify
        }
    }

    /// Seconds allowed for name resolution, TCP connect and TLS handshake (default 10).
    public var connectTimeout: Double
    /// Seconds allowed for a whole request unless the request sets its own (default 30).
    public var timeout: Double
    /// Largest accepted response body in bytes (default 1 MiB).
    public var maxResponseBytes: Int
    /// TLS settings (default: verify against the system CA bundle).
    public var tls: TLS
    /// Explicit proxy URL (default nil: libcurl reads the proxy environment variables).
    public var proxy: String?
    /// Hosts that bypass the proxy, comma-separated (default nil: libcurl reads `NO_PROXY`).
    public var noProxy: String?
    /// Use Kerberos/SPNEGO authentication (default false).
    public var negotiate: Bool
    /// The `User-Agent` header (default `dagbridge/0.1`).
    public var userAgent: String
    /// Most connections open to one host at a time; 0 means unlimited (default 0).
    public var maxConnectionsPerHost: Int
    /// Negotiate HTTP/2 over TLS when offered (default true).
    public var http2: Bool

    /// Creates a configuration; every parameter has the documented default.
    public init(
        connectTimeout: Double = 10,
        timeout: Double = 30,
        maxResponseBytes: Int = 1 << 20,
        tls: TLS = TLS(),
        proxy: String? = nil,
        noProxy: String? = nil,
        negotiate: Bool = false,
        userAgent: String = "dagbridge/0.1",
        maxConnectionsPerHost: Int = 0,
        http2: Bool = true
    ) {
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.tls = tls
        self.proxy = proxy
        self.noProxy = noProxy
        self.negotiate = negotiate
        self.userAgent = userAgent
        self.maxConnectionsPerHost = maxConnectionsPerHost
        self.http2 = http2
    }

    /// Checks the values and that the TLS files are readable.
    ///
    /// ``HTTPClient/init(configuration:logger:)`` calls this, so a bad configuration fails at start-up
    /// rather than on the first request.
    /// - Throws: ``HTTPClientError`` with code ``HTTPClientError/Code/invalidConfiguration`` naming the option and the fix.
    public func validate() throws(HTTPClientError) {
        func bad(_ message: String) -> HTTPClientError { HTTPClientError(.invalidConfiguration, message) }
        guard connectTimeout.isFinite, connectTimeout > 0 else {
            throw bad("connect_timeout must be a positive number of seconds, got \(connectTimeout)")
        }
        guard timeout.isFinite, timeout > 0 else {
            throw bad("timeout must be a positive number of seconds, got \(timeout)")
        }
        guard maxResponseBytes > 0 else {
            throw bad("max_response_bytes must be positive, got \(maxResponseBytes)")
        }
        guard maxConnectionsPerHost >= 0 else {
            throw bad("max_connections_per_host must be 0 (unlimited) or more, got \(maxConnectionsPerHost)")
        }
        guard !userAgent.contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw bad("user_agent must not contain line breaks")
        }
        for (key, path) in [("tls.ca_file", tls.caFile), ("tls.cert_file", tls.certFile), ("tls.key_file", tls.keyFile)] {
            guard let path else { continue }
            guard FileAccess.isReadableFile(path) else {
                throw bad("\(key) '\(path)' is not a readable file; check the path and its permissions")
            }
        }
        if tls.keyFile != nil && tls.certFile == nil {
            throw bad("tls.key_file is set but tls.cert_file is not; mutual TLS needs both the client certificate and its key")
        }
        if tls.keyPassword != nil && tls.keyFile == nil && tls.certFile == nil {
            throw bad("tls.key_password is set but there is no tls.key_file or tls.cert_file it could unlock")
        }
        if let proxy {
            let lower = proxy.lowercased()
            let schemes = ["http://", "https://", "socks4://", "socks4a://", "socks5://", "socks5h://"]
            guard schemes.contains(where: { lower.hasPrefix($0) }), lower.count > 8 else {
                throw bad("proxy '\(proxy)' must be a URL such as http://proxy.example:3128 (schemes: http, https, socks4, socks4a, socks5, socks5h)")
            }
        }
    }
}

/// File checks without Foundation.
enum FileAccess {
    static func isReadableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, R_OK) == 0
    }
}
