public import BridgeHTTP

/// The libcurl client is the production transport.
extension HTTPClient: HTTPTransport {}

/// libcurl failures tell the classifier what it needs: timeout, retriable, maybe sent.
extension HTTPClientError: TransportFailure {
    public var isTimeout: Bool { code == .timeout }
    public var mightHaveBeenSent: Bool { requestMayHaveBeenSent }
}

extension HTTPClientConfiguration {
    /// A client configuration carrying one target's transport options (TLS, proxy, connect timeout, SPNEGO).
    public init(target: TargetConfig) {
        let o = target.transportOptions
        self.init(
            connectTimeout: o.connectTimeout, timeout: target.timeout,
            tls: TLS(caFile: o.tls.caFile, certFile: o.tls.certFile, keyFile: o.tls.keyFile, insecureSkipVerify: o.tls.insecureSkipVerify),
            proxy: o.proxy, noProxy: o.noProxy, negotiate: o.negotiate)
    }
}

extension AirflowTargets {
    /// Builds the registry over libcurl: targets with default transport options share `shared`, the others
    /// get their own ``HTTPClient`` configured from ``TargetConfig/transportOptions``.
    /// - Throws: ``AirflowError`` for unusable auth settings, ``HTTPClientError`` for unusable TLS files.
    public convenience init(_ configs: [String: TargetConfig], client shared: HTTPClient, environment: [String: String]? = nil) throws {
        try self.init(
            configs, shared: shared,
            makeTransport: { config in try HTTPClient(configuration: HTTPClientConfiguration(target: config)) },
            environment: environment)
    }
}
