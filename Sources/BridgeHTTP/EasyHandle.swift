import CCurl

/// One reusable libcurl easy handle and its error buffer. Used only on the driver thread.
///
/// Handles are pooled: after a transfer the handle goes back to the pool, and the next request
/// calls `curl_easy_reset` (which keeps the handle's caches) and sets its options afresh.
/// Connections themselves live in the multi handle's connection cache, so a reset never closes one.
final class EasyHandle {
    let raw: UnsafeMutableRawPointer
    /// CURLOPT_ERRORBUFFER: libcurl writes the most specific error text here.
    let errorBuffer: UnsafeMutablePointer<CChar>

    init?() {
        guard let raw = curl_easy_init() else { return nil }
        self.raw = raw
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    /// The caller must have removed the handle from the multi handle first.
    deinit {
        curl_easy_cleanup(raw)
        errorBuffer.deallocate()
    }

    var errorText: String { String(cString: errorBuffer) }

    // MARK: Setting options

    struct OptionError: Error {
        var option: String
        var code: CURLcode
    }

    func set(_ option: CURLoption, _ value: Int, _ name: @autoclosure () -> String) throws(OptionError) {
        let rc = ccurl_easy_setopt_long(raw, option, value)
        if rc != CURLE_OK { throw OptionError(option: name(), code: rc) }
    }

    func set(_ option: CURLoption, _ value: String, _ name: @autoclosure () -> String) throws(OptionError) {
        let rc = value.withCString { ccurl_easy_setopt_string(raw, option, $0) }
        if rc != CURLE_OK { throw OptionError(option: name(), code: rc) }
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?, _ name: @autoclosure () -> String) throws(OptionError) {
        let rc = ccurl_easy_setopt_pointer(raw, option, pointer)
        if rc != CURLE_OK { throw OptionError(option: name(), code: rc) }
    }

    /// Resets the handle and sets every option for `transfer`.
    /// On failure the transfer's header list may be set; the caller frees it with the transfer.
    func configure(for transfer: Transfer, context: UnsafeMutableRawPointer, config: HTTPClientConfiguration) throws(OptionError) {
        curl_easy_reset(raw)
        errorBuffer[0] = 0
        let request = transfer.request

        try set(CURLOPT_NOSIGNAL, 1, "NOSIGNAL")
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer), "ERRORBUFFER")
        try set(CURLOPT_PRIVATE, pointer: context, "PRIVATE")
        try set(CURLOPT_URL, request.url, "URL")
        try set(CURLOPT_PROTOCOLS_STR, "http,https", "PROTOCOLS_STR")
        let https = request.url.utf8.count > 8 && request.url.prefix(8).lowercased() == "https://"
        if config.http2 {
            try set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS, "HTTP_VERSION")
            // Over TLS, wait for a possibly multiplexing connection rather than open another.
            if https { try set(CURLOPT_PIPEWAIT, 1, "PIPEWAIT") }
        } else {
            try set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1, "HTTP_VERSION")
        }
        try set(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(config.connectTimeout), "CONNECTTIMEOUT_MS")
        try set(CURLOPT_TIMEOUT_MS, milliseconds(request.timeout ?? config.timeout), "TIMEOUT_MS")
        try set(CURLOPT_USERAGENT, config.userAgent, "USERAGENT")
        try set(CURLOPT_TCP_KEEPALIVE, 1, "TCP_KEEPALIVE")
        let cap = ccurl_easy_setopt_off_t(raw, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(config.maxResponseBytes))
        if cap != CURLE_OK { throw OptionError(option: "MAXFILESIZE_LARGE", code: cap) }

        // Response callbacks: the context is the transfer, retained once by the caller.
        var rc = ccurl_easy_setopt_data_callback(raw, CURLOPT_WRITEFUNCTION, curlWriteCallback)
        if rc != CURLE_OK { throw OptionError(option: "WRITEFUNCTION", code: rc) }
        try set(CURLOPT_WRITEDATA, pointer: context, "WRITEDATA")
        rc = ccurl_easy_setopt_data_callback(raw, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        if rc != CURLE_OK { throw OptionError(option: "HEADERFUNCTION", code: rc) }
        try set(CURLOPT_HEADERDATA, pointer: context, "HEADERDATA")

        // Request headers. "Expect:" turns off 100-continue round trips; an empty
        // "Content-Type:" stops libcurl from labelling a body as a form unless the caller set a type.
        var list: UnsafeMutablePointer<curl_slist>?
        var hasExpect = false
        var hasContentType = false
        for header in request.headers {
            let lower = header.name.lowercased()
            if lower == "expect" { hasExpect = true }
            if lower == "content-type" { hasContentType = true }
            let line = header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)"
            list = curl_slist_append(list, line)
        }
        if !hasExpect { list = curl_slist_append(list, "Expect:") }
        if !hasContentType { list = curl_slist_append(list, "Content-Type:") }
        transfer.headerList = list
        rc = ccurl_easy_setopt_slist(raw, CURLOPT_HTTPHEADER, list)
        if rc != CURLE_OK { throw OptionError(option: "HTTPHEADER", code: rc) }

        // Method and body.
        let method = request.method
        if method == .head {
            try set(CURLOPT_NOBODY, 1, "NOBODY")
        } else if method == .get && request.body.isEmpty {
            try set(CURLOPT_HTTPGET, 1, "HTTPGET")
        } else {
            if method != .post { try set(CURLOPT_CUSTOMREQUEST, method.rawValue, "CUSTOMREQUEST") }
            let sendsBody = !request.body.isEmpty || method == .post || method == .put || method == .patch
            if sendsBody {
                rc = ccurl_easy_setopt_off_t(raw, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
                if rc != CURLE_OK { throw OptionError(option: "POSTFIELDSIZE_LARGE", code: rc) }
                // COPYPOSTFIELDS: libcurl keeps its own copy, so the Swift array's lifetime does not matter.
                if request.body.isEmpty {
                    try set(CURLOPT_COPYPOSTFIELDS, "", "COPYPOSTFIELDS")
                } else {
                    rc = request.body.withUnsafeBytes { bytes in
                        ccurl_easy_setopt_pointer(raw, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                    }
                    if rc != CURLE_OK { throw OptionError(option: "COPYPOSTFIELDS", code: rc) }
                }
            }
        }

        // TLS.
        let tls = config.tls
        if let ca = tls.caFile { try set(CURLOPT_CAINFO, ca, "CAINFO") }
        if let cert = tls.certFile {
            try set(CURLOPT_SSLCERT, cert, "SSLCERT")
            try set(CURLOPT_SSLCERTTYPE, "PEM", "SSLCERTTYPE")
        }
        if let key = tls.keyFile {
            try set(CURLOPT_SSLKEY, key, "SSLKEY")
            try set(CURLOPT_SSLKEYTYPE, "PEM", "SSLKEYTYPE")
        }
        if let password = tls.keyPassword { try set(CURLOPT_KEYPASSWD, password, "KEYPASSWD") }
        if tls.insecureSkipVerify {
            try set(CURLOPT_SSL_VERIFYPEER, 0, "SSL_VERIFYPEER")
            try set(CURLOPT_SSL_VERIFYHOST, 0, "SSL_VERIFYHOST")
        }

        // Proxy: without explicit settings libcurl reads the proxy environment variables.
        if let proxy = config.proxy { try set(CURLOPT_PROXY, proxy, "PROXY") }
        if let noProxy = config.noProxy { try set(CURLOPT_NOPROXY, noProxy, "NOPROXY") }

        // Kerberos/SPNEGO: credentials come from the ticket cache; ":" tells libcurl to use them.
        // When GSS-API fails (no ticket, unknown service principal, a refused ticket) libcurl only
        // says so in its verbose stream and carries on without credentials; the debug callback
        // notes whether a token went out and the GSS-API error (Transfer.noteDebug).
        if config.negotiate {
            try set(CURLOPT_HTTPAUTH, ccurl_auth_negotiate(), "HTTPAUTH")
            try set(CURLOPT_USERPWD, ":", "USERPWD")
            rc = ccurl_easy_setopt_debug_callback(raw, CURLOPT_DEBUGFUNCTION, curlDebugCallback)
            if rc != CURLE_OK { throw OptionError(option: "DEBUGFUNCTION", code: rc) }
            try set(CURLOPT_DEBUGDATA, pointer: context, "DEBUGDATA")
            try set(CURLOPT_VERBOSE, 1, "VERBOSE")
        }
    }
}

/// Seconds → whole milliseconds for libcurl, at least 1 (0 would mean "no timeout").
func milliseconds(_ seconds: Double) -> Int {
    max(1, Int((seconds * 1000).rounded(.up)))
}
