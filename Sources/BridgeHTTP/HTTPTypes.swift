/// The request and response types of the libcurl client.
/// (API contract shared by BridgeAirflow; the implementation is in HTTPClient.swift.)

/// An HTTP method.
public struct HTTPMethod: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public static let get = HTTPMethod("GET")
    public static let post = HTTPMethod("POST")
    public static let put = HTTPMethod("PUT")
    public static let patch = HTTPMethod("PATCH")
    public static let delete = HTTPMethod("DELETE")
    public static let head = HTTPMethod("HEAD")
    public var description: String { rawValue }
}

/// One outgoing request.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// Absolute URL (`https://host:port/path?query`).
    public var url: String
    /// Header name/value pairs, sent in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Total timeout for this request in seconds (overrides the client default when set).
    public var timeout: Double?

    public init(method: HTTPMethod = .get, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [], timeout: Double? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// One received response.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lower-cased, in the order received (the last response's headers after redirects/auth).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The Kerberos/SPNEGO exchange behind this response, for a client with `negotiate` on; nil otherwise.
    public var negotiate: NegotiateExchange?

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [], negotiate: NegotiateExchange? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.negotiate = negotiate
    }

    /// First header value with this (case-insensitive) name.
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.name == n }?.value
    }

    /// The body decoded as UTF-8 (lossy).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// What happened in a Kerberos/SPNEGO (`Authorization: Negotiate`) exchange, as libcurl reports it.
///
/// libcurl does not fail a request whose Negotiate step fails: it sends it (again) without
/// credentials and returns the server's answer, usually 401. This says which step went wrong.
public struct NegotiateExchange: Sendable, Equatable {
    /// libcurl sent a Negotiate token, so it had a service ticket for the server.
    public var tokenSent: Bool
    /// The last GSS-API error libcurl met (`gss_init_sec_context() failed: …`): before a token was
    /// sent, why there was no ticket ("No credentials were supplied…", "Server HTTP/host@REALM not
    /// found in Kerberos database"); after one, why the server's answer could not be taken ("Key
    /// version is not available"). Nil when there was none.
    public var gssError: String?

    public init(tokenSent: Bool = false, gssError: String? = nil) {
        self.tokenSent = tokenSent
        self.gssError = gssError
    }
}
