import CCurl

extension HTTPClientError {
    /// What the driver knows about a failed transfer when it maps the `CURLcode`.
    struct CurlFailure {
        var result: CURLcode
        /// libcurl's error buffer (more specific than `curl_easy_strerror`), may be empty.
        var detail: String
        var method: String
        var url: String
        var host: String
        /// Bytes of request headers written (`CURLINFO_REQUEST_SIZE`); > 0 means the request left.
        var requestBytesSent: Int
        /// The write callback stopped the transfer because the body passed the cap.
        var exceededCap: Bool
        var maxResponseBytes: Int
        var timeout: Double
        var connectTimeout: Double
        var proxy: String?
    }

    /// Maps a libcurl result to an error whose message says what failed and what to change.
    static func from(_ f: CurlFailure) -> HTTPClientError {
        let code = Int(f.result.rawValue)
        let detail = f.detail.isEmpty ? String(cString: curl_easy_strerror(f.result)) : f.detail
        let target = "\(f.method) \(f.url)"
        let sent = f.requestBytesSent > 0
        let viaProxy = f.proxy.map { " (through proxy \($0))" } ?? ""
        func make(_ c: Code, _ message: String, retriable: Bool? = nil, mayHaveBeenSent: Bool = false) -> HTTPClientError {
            HTTPClientError(c, message, isRetriable: retriable, requestMayHaveBeenSent: mayHaveBeenSent, curlCode: code)
        }

        switch f.result {
        case CURLE_WRITE_ERROR where f.exceededCap, CURLE_FILESIZE_EXCEEDED:
            return make(.tooLarge, "response to \(target) is larger than max_response_bytes (\(f.maxResponseBytes) bytes); raise max_response_bytes if such answers are expected", retriable: false, mayHaveBeenSent: true)

        case CURLE_OPERATION_TIMEDOUT:
            if sent {
                return make(.timeout, "\(target) got no complete response within the \(seconds(f.timeout)) timeout; the server may still have processed it (\(detail))", mayHaveBeenSent: true)
            }
            return make(.timeout, "could not connect to \(f.host)\(viaProxy) within \(seconds(f.connectTimeout)) (connect_timeout) for \(target): \(detail)")

        case CURLE_COULDNT_RESOLVE_HOST:
            return make(.resolve, "cannot resolve host '\(f.host)' for \(target): \(detail); check the URL's host name and DNS")
        case CURLE_COULDNT_RESOLVE_PROXY:
            return make(.resolve, "cannot resolve the proxy host\(viaProxy) for \(target): \(detail); check the proxy setting or HTTPS_PROXY/HTTP_PROXY")
        case CURLE_COULDNT_CONNECT:
            if let proxy = f.proxy {
                return make(.connect, "cannot connect to proxy \(proxy) or through it to \(f.host) for \(target): \(detail); check that the proxy is running or that no_proxy lists this host")
            }
            return make(.connect, "cannot connect to \(f.host) for \(target): \(detail); check that the server is running and the URL's port")

        case CURLE_PROXY:
            return make(.proxy, "the proxy\(viaProxy) failed the request \(target): \(detail)")

        case CURLE_PEER_FAILED_VERIFICATION:
            return make(.tls, "TLS certificate verification failed for host \(f.host): \(detail); set tls.ca_file to the CA that signed the server certificate, or (development only) tls.insecure_skip_verify", retriable: false)
        case CURLE_SSL_CACERT_BADFILE:
            return make(.tls, "cannot use the CA bundle for \(f.host): \(detail); tls.ca_file must be a PEM file of CA certificates", retriable: false)
        case CURLE_SSL_CERTPROBLEM:
            return make(.tls, "cannot use the client certificate for \(f.host): \(detail); check tls.cert_file, tls.key_file and tls.key_password (PEM)", retriable: false)
        case CURLE_SSL_CLIENTCERT:
            return make(.tls, "the server \(f.host) wants a client certificate: \(detail); set tls.cert_file and tls.key_file", retriable: false)
        case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
             CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_SHUTDOWN_FAILED, CURLE_USE_SSL_FAILED:
            return make(.tls, "TLS handshake with \(f.host) failed for \(target): \(detail); check tls settings (ca_file, cert_file, key_file) and that the server speaks TLS on this port", retriable: false)

        case CURLE_SEND_ERROR:
            return make(.sendFailed, "sending \(target) failed (connection reset?): \(detail)", mayHaveBeenSent: true)
        case CURLE_RECV_ERROR:
            return make(.recvFailed, "receiving the response to \(target) failed (connection reset?): \(detail)", mayHaveBeenSent: true)
        case CURLE_GOT_NOTHING:
            return make(.recvFailed, "the server closed the connection without answering \(target): \(detail)", mayHaveBeenSent: true)
        case CURLE_PARTIAL_FILE:
            return make(.recvFailed, "the response to \(target) was cut short: \(detail)", mayHaveBeenSent: true)
        case CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_HTTP3:
            return make(.recvFailed, "HTTP/2 stream for \(target) failed: \(detail)", mayHaveBeenSent: sent)

        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return make(.invalidRequest, "invalid URL for \(target): \(detail); use an absolute http:// or https:// URL", retriable: false)

        case CURLE_ABORTED_BY_CALLBACK:
            return make(.cancelled, "\(target) was cancelled", retriable: false, mayHaveBeenSent: sent)

        case CURLE_LOGIN_DENIED, CURLE_AUTH_ERROR:
            return make(.other, "authentication for \(target) failed: \(detail); with kerberos enabled, check that a valid ticket exists (klist) for the service principal", retriable: false, mayHaveBeenSent: sent)

        default:
            return make(.other, "\(target) failed: \(detail) (curl error \(code))", retriable: false, mayHaveBeenSent: sent)
        }
    }
}

/// "2.5s" / "30s".
func seconds(_ value: Double) -> String {
    if value == value.rounded() { return "\(Int(value))s" }
    return "\(value)s"
}
