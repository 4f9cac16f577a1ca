/// The error type of ``HTTPClient``: a growable code, a message that says what to fix,
/// whether retrying may help, and whether the server may already have received the request.
///
/// Retry logic asks ``isRetriable`` and ``requestMayHaveBeenSent``; it does not parse messages.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. A struct over a private enum so codes can grow.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case timeout, connect, resolve, tls, proxy, tooLarge, cancelled, sendFailed, recvFailed
            case shutdown, invalidRequest, invalidConfiguration, other
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The connect timeout or the total timeout expired.
        public static let timeout = Code(.timeout)
        /// The TCP connection could not be established (refused, unreachable).
        public static let connect = Code(.connect)
        /// The host name (or the proxy's) could not be resolved.
        public static let resolve = Code(.resolve)
        /// TLS handshake or certificate verification failed, or a TLS file could not be used.
        public static let tls = Code(.tls)
        /// The proxy refused or failed the request (CONNECT rejected, SOCKS error).
        public static let proxy = Code(.proxy)
        /// The response body exceeded the configured `maxResponseBytes`.
        public static let tooLarge = Code(.tooLarge)
        /// The calling task was cancelled; the transfer was removed.
        public static let cancelled = Code(.cancelled)
        /// Sending the request failed (connection reset while writing).
        public static let sendFailed = Code(.sendFailed)
        /// Receiving the response failed (connection reset or closed early, truncated body).
        public static let recvFailed = Code(.recvFailed)
        /// The client was shut down before the request finished.
        public static let shutdown = Code(.shutdown)
        /// The request itself is malformed (bad URL, header with a line break).
        public static let invalidRequest = Code(.invalidRequest)
        /// The client configuration is invalid (thrown by ``HTTPClientConfiguration/validate()``).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// Any other libcurl failure.
        public static let other = Code(.other)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened and what to do about it.
    public var message: String
    /// Whether the same request may succeed when tried again later.
    public var isRetriable: Bool
    /// Whether the server may have received (and acted on) the request: true after a timeout
    /// or a connection reset once the request was written. A non-idempotent request that failed
    /// this way should be checked before it is sent again.
    public var requestMayHaveBeenSent: Bool
    /// The libcurl result code (`CURLcode`) behind the failure, when there was one.
    public var curlCode: Int?
    /// Source file that raised the error.
    public var file: String
    /// Source line that raised the error.
    public var line: Int

    /// Creates an error. Retriability defaults from the code: timeouts, connect, resolve,
    /// send/receive failures and proxy failures are retriable.
    public init(
        _ code: Code,
        _ message: String,
        isRetriable: Bool? = nil,
        requestMayHaveBeenSent: Bool = false,
        curlCode: Int? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable ?? [.timeout, .connect, .resolve, .sendFailed, .recvFailed, .proxy].contains(code)
        self.requestMayHaveBeenSent = requestMayHaveBeenSent
        self.curlCode = curlCode
        self.file = file
        self.line = line
    }

    public var description: String { message }
}
