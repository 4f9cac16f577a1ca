import CCurl
import Synchronization

/// The loop on the dedicated thread: takes queued requests, drives the multi handle with
/// `curl_multi_perform`/`curl_multi_poll`, and resumes callers when transfers finish.
///
/// Created on the driver thread and never shared, so its fields need no lock.
final class CurlDriver {
    private let engine: CurlEngine
    private var multi: UnsafeMutableRawPointer { engine.multi.raw }
    /// Transfers added to the multi handle, by id.
    private var active: [UInt64: Transfer] = [:]
    /// Idle easy handles ready for the next request.
    private var idle: [EasyHandle] = []
    private let maxIdleHandles = 512

    init(engine: CurlEngine) {
        self.engine = engine
    }

    func run() {
        var running: Int32 = 0
        while true {
            let (queued, cancellations, stopping) = engine.state.withLock { state in
                state.wakeupPending = false
                let queued = state.queue
                state.queue.removeAll(keepingCapacity: true)
                let cancellations = state.cancellations
                state.cancellations.removeAll(keepingCapacity: true)
                return (queued, cancellations, state.phase != .running)
            }
            for id in cancellations {
                guard let transfer = active[id] else { continue }  // finished meanwhile
                finish(transfer, .failure(HTTPClient.cancelledError(transfer.request)))
            }
            if stopping {
                // shutdown() takes the queue itself; anything picked up here raced with it.
                for transfer in queued { transfer.resume(with: .failure(HTTPClient.shutdownError(transfer.request))) }
                break
            }
            for transfer in queued { start(transfer) }

            _ = curl_multi_perform(multi, &running)
            readFinishedTransfers()
            // Sleeps until a socket is ready, libcurl's next timeout, or curl_multi_wakeup.
            _ = curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        stop()
    }

    /// Configures an easy handle for the transfer and adds it to the multi handle;
    /// on any failure the caller gets the error at once and nothing is left behind.
    private func start(_ transfer: Transfer) {
        guard let easy = idle.popLast() ?? EasyHandle() else {
            transfer.resume(with: .failure(HTTPClientError(.other, "libcurl could not create an easy handle (out of memory?)", isRetriable: true)))
            return
        }
        let context = transfer.retainContext()
        do {
            try easy.configure(for: transfer, context: context, config: engine.config)
        } catch {
            transfer.releaseContext()
            transfer.freeHeaderList()
            recycle(easy)
            let reason = String(cString: curl_easy_strerror(error.code))
            transfer.resume(with: .failure(HTTPClientError(.invalidRequest, "cannot apply option \(error.option) to \(transfer.request.method) \(transfer.request.url): \(reason)", isRetriable: false, curlCode: Int(error.code.rawValue))))
            return
        }
        let rc = curl_multi_add_handle(multi, easy.raw)
        guard rc == CURLM_OK else {
            transfer.releaseContext()
            transfer.freeHeaderList()
            recycle(easy)
            let reason = String(cString: curl_multi_strerror(rc))
            transfer.resume(with: .failure(HTTPClientError(.other, "libcurl refused \(transfer.request.method) \(transfer.request.url): \(reason)", isRetriable: false)))
            return
        }
        transfer.easy = easy
        active[transfer.id] = transfer
    }

    /// Resumes the callers of every transfer libcurl reports as done.
    private func readFinishedTransfers() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            // Read everything from the message before removing the handle (which invalidates it).
            let result = ccurl_msg_result(message)
            var pointer: UnsafeMutableRawPointer?
            _ = ccurl_easy_getinfo_pointer(handle, CURLINFO_PRIVATE, &pointer)
            guard let pointer else { continue }
            let transfer = Unmanaged<Transfer>.fromOpaque(pointer).takeUnretainedValue()
            guard let easy = transfer.easy else { continue }
            if result == CURLE_OK {
                var status = 0
                _ = ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
                let response = HTTPResponse(
                    status: status, headers: transfer.headers, body: transfer.body, negotiate: engine.config.negotiate ? transfer.negotiate : nil)
                finish(transfer, .success(response))
            } else {
                var sent = 0
                _ = ccurl_easy_getinfo_long(handle, CURLINFO_REQUEST_SIZE, &sent)
                let config = engine.config
                let failure = HTTPClientError.CurlFailure(
                    result: result,
                    detail: easy.errorText,
                    method: transfer.request.method.rawValue,
                    url: transfer.request.url,
                    host: transfer.host,
                    requestBytesSent: sent,
                    exceededCap: transfer.exceededCap,
                    maxResponseBytes: config.maxResponseBytes,
                    timeout: transfer.request.timeout ?? config.timeout,
                    connectTimeout: config.connectTimeout,
                    proxy: config.proxy
                )
                finish(transfer, .failure(HTTPClientError.from(failure)))
            }
        }
    }

    /// Removes the transfer from libcurl, releases its context exactly once, recycles the
    /// handle, then resumes the caller.
    private func finish(_ transfer: Transfer, _ result: Result<HTTPResponse, HTTPClientError>) {
        if let easy = transfer.easy {
            _ = curl_multi_remove_handle(multi, easy.raw)
            transfer.easy = nil
            recycle(easy)
        }
        transfer.freeHeaderList()
        transfer.releaseContext()
        active[transfer.id] = nil
        transfer.resume(with: result)
    }

    private func recycle(_ easy: EasyHandle) {
        if idle.count < maxIdleHandles { idle.append(easy) }
        // else: dropped here; EasyHandle.deinit calls curl_easy_cleanup.
    }

    /// Tear-down, in libcurl's required order:
    /// 1. fail every in-flight transfer (this removes each easy handle from the multi handle),
    /// 2. destroy the idle easy handles (`curl_easy_cleanup` via `EasyHandle.deinit`),
    /// 3. mark the engine stopped under its lock, so no thread calls `curl_multi_wakeup` any more,
    /// 4. `curl_multi_cleanup`, which also closes the cached connections,
    /// 5. wake the callers waiting in `shutdownAndWait()`.
    private func stop() {
        for transfer in Array(active.values) {
            finish(transfer, .failure(HTTPClient.shutdownError(transfer.request)))
        }
        idle.removeAll()
        let waiters = engine.state.withLock { state in
            state.phase = .stopped
            let waiters = state.stopWaiters
            state.stopWaiters.removeAll()
            return waiters
        }
        curl_multi_cleanup(multi)
        for waiter in waiters { waiter.resume() }
    }
}
