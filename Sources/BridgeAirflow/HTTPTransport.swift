public import BridgeHTTP

/// Sends one HTTP request: the libcurl ``BridgeHTTP`` client in production, anything else in tests.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the answer, whatever its status.
    /// - Throws: a transport failure (ideally conforming to ``TransportFailure``) when no answer arrived.
    func execute(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// What the Airflow client needs to know about a failed exchange to classify it.
public protocol TransportFailure: Error {
    /// The request ran out of time (connect or total timeout).
    var isTimeout: Bool { get }
    /// Trying again later may succeed (connection refused/reset, DNS, timeout).
    var isRetriable: Bool { get }
    /// Some of the request may have reached the server (so a retry could duplicate it).
    var mightHaveBeenSent: Bool { get }
}

/// Per-target settings a transport must apply (TLS, proxies, connect timeout, SPNEGO).
///
/// Targets whose options equal the default can share one client; the others need a client
/// configured with these options.
public struct TransportOptions: Sendable, Equatable {
    /// Connect timeout in seconds.
    public var connectTimeout: Double
    public var tls: TLSOptions
    /// Explicit proxy URL.
    public var proxy: String?
    /// Hosts that bypass the proxy.
    public var noProxy: String?
    /// Use SPNEGO/Kerberos (`CURLAUTH_NEGOTIATE`).
    public var negotiate: Bool

    public init(connectTimeout: Double = 10, tls: TLSOptions = TLSOptions(), proxy: String? = nil, noProxy: String? = nil, negotiate: Bool = false) {
        self.connectTimeout = connectTimeout
        self.tls = tls
        self.proxy = proxy
        self.noProxy = noProxy
        self.negotiate = negotiate
    }

    /// `true` when nothing differs from a default client except the connect timeout.
    public var isDefault: Bool {
        tls == TLSOptions() && proxy == nil && noProxy == nil && !negotiate
    }
}
