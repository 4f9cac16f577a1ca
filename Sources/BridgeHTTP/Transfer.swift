import CCurl

/// One request on its way through libcurl: the caller's continuation plus the response
/// being assembled by the write and header callbacks.
///
/// `@unchecked Sendable`: a transfer is created by the calling task and handed to the driver
/// thread through `CurlEngine.state` (a `Mutex`); whoever removes it from that queue under the
/// lock owns it from then on. After the hand-over only the driver thread (and libcurl callbacks,
/// which run on it) touch the mutable fields.
final class Transfer: @unchecked Sendable {
    let id: UInt64
    let request: HTTPRequest
    let host: String
    private let continuation: CheckedContinuation<HTTPResponse, any Error>

    // Owned by the driver thread once queued.
    var easy: EasyHandle?
    var headerList: UnsafeMutablePointer<curl_slist>?
    /// `Unmanaged` reference given to libcurl (PRIVATE, WRITEDATA, HEADERDATA); released in `release()`.
    var context: UnsafeMutableRawPointer?
    var status = 0
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    let maxResponseBytes: Int
    var exceededCap = false
    /// The Negotiate exchange as libcurl's debug stream tells it (Kerberos/SPNEGO clients only).
    var negotiate = NegotiateExchange()
    private var resumed = false

    init(id: UInt64, request: HTTPRequest, host: String, maxResponseBytes: Int, continuation: CheckedContinuation<HTTPResponse, any Error>) {
        self.id = id
        self.request = request
        self.host = host
        self.maxResponseBytes = maxResponseBytes
        self.continuation = continuation
    }

    /// Hands the result to the waiting caller. Exactly one call per transfer; the owner
    /// (see the type's comment) guarantees that, the flag only catches bugs in debug builds.
    func resume(with result: Result<HTTPResponse, HTTPClientError>) {
        assert(!resumed, "transfer \(id) resumed twice")
        resumed = true
        continuation.resume(with: result.mapError { $0 as any Error })
    }

    /// Retains the transfer once for libcurl's callbacks; balanced by exactly one `releaseContext()`.
    func retainContext() -> UnsafeMutableRawPointer {
        precondition(context == nil, "transfer context retained twice")
        let pointer = Unmanaged.passRetained(self).toOpaque()
        context = pointer
        return pointer
    }

    /// Drops libcurl's reference taken by `retainContext()`, if any.
    func releaseContext() {
        guard let pointer = context else { return }
        context = nil
        Unmanaged<Transfer>.fromOpaque(pointer).release()
    }

    /// Frees the request's header list.
    func freeHeaderList() {
        if let list = headerList {
            curl_slist_free_all(list)
            headerList = nil
        }
    }

    // MARK: Callback work (driver thread)

    /// Appends body bytes; returns false (abort) when the cap would be passed.
    func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if body.count + bytes.count > maxResponseBytes {
            exceededCap = true
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    /// Handles one header line as libcurl delivers it (status line, header, or the blank end line).
    /// A status line starts a new response (after `100 Continue`, an auth round trip, or a proxy
    /// CONNECT), so the headers gathered so far are dropped: only the final response's are kept.
    func appendHeaderLine(_ line: UnsafeRawBufferPointer) {
        var end = line.count
        while end > 0, line[end - 1] == UInt8(ascii: "\n") || line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        guard end > 0 else { return }
        if end >= 5, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[2] == UInt8(ascii: "T"),
           line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/") {
            headers.removeAll(keepingCapacity: true)
            return
        }
        let isSpace = { (b: UInt8) in b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
        if isSpace(line[0]) {
            // Obsolete line folding: continues the previous header's value.
            guard !headers.isEmpty else { return }
            var start = 0
            while start < end, isSpace(line[start]) { start += 1 }
            let more = String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
            headers[headers.count - 1].value += " " + more
            return
        }
        guard let colon = line[0..<end].firstIndex(of: UInt8(ascii: ":")) else { return }
        var valueStart = colon + 1
        while valueStart < end, isSpace(line[valueStart]) { valueStart += 1 }
        var valueEnd = end
        while valueEnd > valueStart, isSpace(line[valueEnd - 1]) { valueEnd -= 1 }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<colon]), as: UTF8.self).lowercased()
        let value = String(decoding: UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd]), as: UTF8.self)
        if name == "content-length", let length = Int(value), length > 0, body.isEmpty {
            body.reserveCapacity(min(length, maxResponseBytes))
        }
        headers.append((name: name, value: value))
    }

    /// Reads libcurl's debug stream for the Negotiate exchange, the only place libcurl says how it
    /// went: whether the request headers carried `Authorization: Negotiate`, and its GSS-API error
    /// lines (`gss_init_sec_context() failed: …`). Nothing else is kept; the headers hold the
    /// request's credentials and are only searched.
    func noteDebug(_ type: curl_infotype, _ bytes: UnsafeRawBufferPointer) {
        if type == CURLINFO_HEADER_OUT {
            if !negotiate.tokenSent, bytes.firstRange(of: Self.negotiateHeader) != nil { negotiate.tokenSent = true }
            return
        }
        let prefix = "gss_".utf8
        guard type == CURLINFO_TEXT, bytes.count > prefix.count, bytes.starts(with: prefix) else { return }
        var end = min(bytes.count, 512)
        while end > 0, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: " ") { end -= 1 }
        negotiate.gssError = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
    }

    /// How libcurl writes a Negotiate token into the request headers.
    private static let negotiateHeader = Array("\r\nAuthorization: Negotiate ".utf8)
}

// MARK: - libcurl callbacks (file scope, exact C signatures, context via Unmanaged)

/// CURLOPT_WRITEFUNCTION: returning fewer bytes than given makes libcurl abort with CURLE_WRITE_ERROR.
func curlWriteCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return length }
    return transfer.appendBody(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

/// CURLOPT_DEBUGFUNCTION (set for Kerberos/SPNEGO only): looks at libcurl's informational text and
/// the request headers it sent.
func curlDebugCallback(
    _ handle: UnsafeMutableRawPointer?, _ type: curl_infotype, _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ context: UnsafeMutableRawPointer?
) -> Int32 {
    guard type == CURLINFO_TEXT || type == CURLINFO_HEADER_OUT, let context, let data, size > 0 else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    transfer.noteDebug(type, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// CURLOPT_HEADERFUNCTION: called once per complete header line.
func curlHeaderCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return length }
    transfer.appendHeaderLine(UnsafeRawBufferPointer(start: data, count: length))
    return length
}
