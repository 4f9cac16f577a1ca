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
    /// Why libcurl could not authenticate, when it says so: for Kerberos/SPNEGO the GSS-API error
    /// (`gss_init_sec_context() failed: No Kerberos credentials available …`, `… Server
    /// HTTP/host@REALM not found in Kerberos database`). libcurl then sends the request without
    /// credentials and the server's answer (usually 401) is this response. Nil otherwise.
    public var authenticationFailure: String?

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [], authenticationFailure: String? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.authenticationFailure = authenticationFailure
    }

    /// First header value with this (case-insensitive) name.
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.name == n }?.value
    }

    /// The body decoded as UTF-8 (lossy).
    public var text: String { String(decoding: body, as: UTF8.self) }
}
