import CCurl
import Synchronization
public import Logging

/// An HTTP/1.1 and HTTP/2 client over libcurl with an `async` API.
///
/// One dedicated thread (not Swift's cooperative pool) drives a libcurl multi handle with
/// `curl_multi_poll`; ``execute(_:)`` queues the request, wakes that thread with
/// `curl_multi_wakeup`, and suspends until the response or an error arrives. Connections are
/// kept alive and reused across requests (HTTP/2 streams are multiplexed when the server offers
/// HTTP/2 over TLS), and easy handles are pooled.
///
/// ```swift
/// let client = try HTTPClient(configuration: .init(timeout: 10))
/// defer { client.shutdown() }
/// let response = try await client.execute(HTTPRequest(method: .post, url: "http://127.0.0.1:8080/api",
///     headers: [("Content-Type", "application/json")], body: Array(#"{"a":1}"#.utf8)))
/// ```
///
/// Cancelling the calling task removes the transfer and makes ``execute(_:)`` throw an
/// ``HTTPClientError`` with code ``HTTPClientError/Code/cancelled``. ``shutdown()`` (also run by
/// `deinit`) fails queued and in-flight requests with ``HTTPClientError/Code/shutdown``.
public final class HTTPClient: Sendable {
    /// The client settings; see ``HTTPClientConfiguration``.
    public typealias Configuration = HTTPClientConfiguration

    /// The settings this client was created with.
    public let configuration: Configuration
    private let engine: CurlEngine

    /// Creates a client and starts its driver thread.
    ///
    /// - Parameters:
    ///   - configuration: Timeouts, limits, TLS, proxy and authentication settings.
    ///   - logger: Receives the warning when `tls.insecureSkipVerify` is on.
    /// - Throws: ``HTTPClientError`` (``HTTPClientError/Code/invalidConfiguration``) when the
    ///   configuration is invalid, e.g. a TLS file is missing or Kerberos is asked for but the
    ///   linked libcurl lacks SPNEGO.
    public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "dagbridge.http")) throws(HTTPClientError) {
        try configuration.validate()
        if configuration.negotiate && ccurlSupportsSPNEGO() == false {
            throw HTTPClientError(.invalidConfiguration, "kerberos is enabled but the linked libcurl has no SPNEGO/GSS-API support; install a libcurl built with GSS-API (Debian's libcurl4-openssl-dev has it)", isRetriable: false)
        }
        if configuration.tls.insecureSkipVerify {
            logger.warning("TLS certificate and host name verification is OFF (tls.insecure_skip_verify: true); anyone on the network path can read and alter requests, including credentials. Use only for development.")
        }
        self.configuration = configuration
        engine = try CurlEngine(config: configuration)
        try engine.startThread()
    }

    deinit {
        engine.shutdown()
    }

    /// Sends a request and returns the final response (any status code).
    ///
    /// Header names in the response are lower-cased and belong to the final response only
    /// (not to a `100 Continue` or an authentication round trip). Redirects are not followed.
    /// - Parameter request: An absolute `http://` or `https://` URL, headers and body.
    ///   `request.timeout` overrides the configured total timeout.
    /// - Returns: The response with its status, headers and body.
    /// - Throws: ``HTTPClientError``: `invalidRequest` before anything is sent, `timeout`,
    ///   `connect`, `resolve`, `tls`, `proxy`, `tooLarge`, `sendFailed`/`recvFailed`, `cancelled`
    ///   when the task is cancelled, `shutdown` after ``shutdown()``.
    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        let host = try Self.check(request)
        let id = engine.state.withLock { state in
            state.nextID &+= 1
            return state.nextID
        }
        let engine = self.engine
        let maxResponseBytes = configuration.maxResponseBytes
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                let transfer = Transfer(id: id, request: request, host: host, maxResponseBytes: maxResponseBytes, continuation: continuation)
                // Registration and the cancellation handler both run under the lock: a task
                // cancelled before this point is seen here (the flag is set before the handler
                // runs), one cancelled later finds its transfer queued or started.
                let refusal: HTTPClientError? = engine.state.withLock { state in
                    if state.phase != .running { return Self.shutdownError(request) }
                    if Task.isCancelled { return Self.cancelledError(request) }
                    state.queue.append(transfer)
                    state.wake(engine.multi)
                    return nil
                }
                if let refusal { transfer.resume(with: .failure(refusal)) }
            }
        } onCancel: {
            let dequeued: Transfer? = engine.state.withLock { state in
                if let index = state.queue.firstIndex(where: { $0.id == id }) {
                    return state.queue.remove(at: index)
                }
                // Already with the driver (or finished, in which case the driver ignores the id).
                if state.phase == .running {
                    state.cancellations.append(id)
                    state.wake(engine.multi)
                }
                return nil
            }
            dequeued?.resume(with: .failure(Self.cancelledError(request)))
        }
    }

    /// Stops the client without waiting: queued and in-flight requests fail with
    /// ``HTTPClientError/Code/shutdown``, later calls to ``execute(_:)`` fail the same way, and the
    /// driver thread destroys the libcurl handles and exits. Safe to call more than once.
    public func shutdown() {
        engine.shutdown()
    }

    /// Like ``shutdown()``, then waits until the driver thread has destroyed every libcurl handle
    /// (and closed every connection).
    public func shutdownAndWait() async {
        engine.shutdown()
        let engine = self.engine
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let stopped = engine.state.withLock { state in
                if state.phase == .stopped { return true }
                state.stopWaiters.append(continuation)
                return false
            }
            if stopped { continuation.resume() }
        }
    }

    // MARK: Errors and checks

    static func shutdownError(_ request: HTTPRequest) -> HTTPClientError {
        HTTPClientError(.shutdown, "\(request.method) \(request.url) not completed: the HTTP client was shut down", isRetriable: true)
    }

    static func cancelledError(_ request: HTTPRequest) -> HTTPClientError {
        HTTPClientError(.cancelled, "\(request.method) \(request.url) was cancelled", isRetriable: false)
    }

    /// Rejects what libcurl would misread (header injection, relative URLs) and returns the host.
    private static func check(_ request: HTTPRequest) throws(HTTPClientError) -> String {
        func bad(_ message: String) -> HTTPClientError { HTTPClientError(.invalidRequest, message, isRetriable: false) }
        let url = request.url
        let lower = url.prefix(8).lowercased()
        let schemeLength: Int
        if lower.hasPrefix("http://") {
            schemeLength = 7
        } else if lower.hasPrefix("https://") {
            schemeLength = 8
        } else {
            throw bad("URL '\(url)' must be absolute and start with http:// or https://")
        }
        if url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            throw bad("URL '\(url)' contains spaces or control characters; percent-encode them")
        }
        let authority = url.dropFirst(schemeLength).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@").last.map(String.init) ?? ""
        guard !hostPort.isEmpty else { throw bad("URL '\(url)' has no host") }
        let method = request.method.rawValue
        if method.isEmpty || !method.utf8.allSatisfy({ isTokenByte($0) }) {
            throw bad("HTTP method '\(method)' is not a valid token")
        }
        for header in request.headers {
            if header.name.isEmpty || !header.name.utf8.allSatisfy({ isTokenByte($0) }) {
                throw bad("header name '\(header.name)' is not a valid HTTP token (letters, digits, !#$%&'*+-.^_`|~)")
            }
            if header.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
                throw bad("value of header '\(header.name)' contains a line break or NUL; such a value could inject headers")
            }
        }
        return hostPort
    }
}

/// RFC 9110 token characters.
private func isTokenByte(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return "!#$%&'*+-.^_`|~".utf8.contains(b)
    }
}

private func ccurlSupportsSPNEGO() -> Bool {
    ccurl_supports_spnego() != 0
}
