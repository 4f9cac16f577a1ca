import CCurl
import Glibc
import Synchronization

/// The libcurl multi handle, shared as a plain pointer.
///
/// `@unchecked Sendable`: the only call made on it from other threads is `curl_multi_wakeup`
/// (thread-safe by libcurl's contract), and only while holding `CurlEngine.state` with the phase
/// not yet `.stopped`; the driver thread sets `.stopped` under that lock before it calls
/// `curl_multi_cleanup`. Every other use happens on the driver thread.
struct MultiHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// Everything the callers and the driver thread share: the request queue and the lifecycle phase.
struct EngineState: ~Copyable {
    enum Phase { case running, stopping, stopped }
    var phase = Phase.running
    /// Requests waiting for the driver thread to pick them up.
    var queue: [Transfer] = []
    /// Ids of started transfers whose callers were cancelled.
    var cancellations: [UInt64] = []
    /// A wakeup was sent and the driver has not yet drained the queue.
    var wakeupPending = false
    var nextID: UInt64 = 0
    /// Callers of `HTTPClient.shutdownAndWait()` waiting for the handles to be destroyed.
    var stopWaiters: [CheckedContinuation<Void, Never>] = []

    /// Asks the driver to look at the queue, at most once per drain.
    mutating func wake(_ multi: MultiHandle) {
        guard phase != .stopped, !wakeupPending else { return }
        wakeupPending = true
        _ = curl_multi_wakeup(multi.raw)
    }
}

/// The shared half of the client: state behind a `Mutex`, the multi handle, the settings.
/// The driver thread (``CurlDriver``) keeps one reference until it has destroyed the handles.
final class CurlEngine: Sendable {
    let multi: MultiHandle
    let config: HTTPClientConfiguration
    let state = Mutex(EngineState())

    init(config: HTTPClientConfiguration) throws(HTTPClientError) {
        guard curlGlobalInit == CURLE_OK else {
            throw HTTPClientError(.other, "libcurl failed to initialise (curl_global_init returned \(curlGlobalInit.rawValue))", isRetriable: false)
        }
        guard let raw = curl_multi_init() else {
            throw HTTPClientError(.other, "libcurl could not create a multi handle (out of memory?)", isRetriable: false)
        }
        multi = MultiHandle(raw: raw)
        self.config = config
        // Multiplex HTTP/2 streams over one connection when the server allows it.
        _ = ccurl_multi_setopt_long(raw, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        // Keep enough idle connections for a busy client (default would follow the number of
        // handles added at the moment, which drops between requests).
        _ = ccurl_multi_setopt_long(raw, CURLMOPT_MAXCONNECTS, 256)
        if config.maxConnectionsPerHost > 0 {
            _ = ccurl_multi_setopt_long(raw, CURLMOPT_MAX_HOST_CONNECTIONS, config.maxConnectionsPerHost)
        }
    }

    /// Starts the dedicated driver thread. Called once, from `HTTPClient.init`.
    func startThread() throws(HTTPClientError) {
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { context in
            // The thread owns this reference until the loop ends.
            let engine = Unmanaged<CurlEngine>.fromOpaque(context!).takeRetainedValue()
            CurlDriver(engine: engine).run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<CurlEngine>.fromOpaque(context).release()
            curl_multi_cleanup(multi.raw)
            throw HTTPClientError(.other, "cannot start the HTTP client thread (pthread_create: \(rc))", isRetriable: false)
        }
        pthread_detach(thread)
    }

    /// Stops taking requests, fails the queued ones, and tells the driver to fail in-flight
    /// transfers and destroy the handles. Idempotent; does not wait.
    func shutdown() {
        let queued: [Transfer] = state.withLock { state in
            guard state.phase == .running else { return [] }
            state.phase = .stopping
            let queued = state.queue
            state.queue.removeAll()
            state.wake(multi)
            return queued
        }
        for transfer in queued {
            transfer.resume(with: .failure(HTTPClient.shutdownError(transfer.request)))
        }
    }
}

/// `curl_global_init` runs once, before the first handle, on whichever thread gets here first
/// (Swift initialises globals exactly once, thread-safely).
private let curlGlobalInit: CURLcode = ccurl_global_init_default()
