// TEMPORARY: stands in for the libcurl HTTPClient until the `http` branch is merged; then deleted.
public import BridgeHTTP
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A stand-in transport over URLSession (temporary, until BridgeHTTP's client is merged).
@_spi(Testing) public struct TemporaryURLSessionTransport: HTTPTransport {
    struct Failure: TransportFailure, CustomStringConvertible {
        var isTimeout: Bool
        var isRetriable: Bool
        var mightHaveBeenSent: Bool
        var description: String
    }

    let session: URLSession

    public init() {
        let c = URLSessionConfiguration.ephemeral
        c.httpCookieAcceptPolicy = .never
        c.httpShouldSetCookies = false
        session = URLSession(configuration: c)
    }

    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard let url = URL(string: request.url) else {
            throw Failure(isTimeout: false, isRetriable: false, mightHaveBeenSent: false, description: "bad URL \(request.url)")
        }
        var r = URLRequest(url: url)
        r.httpMethod = request.method.rawValue
        for (n, v) in request.headers { r.addValue(v, forHTTPHeaderField: n) }
        if !request.body.isEmpty { r.httpBody = Data(request.body) }
        r.timeoutInterval = request.timeout ?? 30
        do {
            let (data, response) = try await session.data(for: r)
            guard let http = response as? HTTPURLResponse else {
                throw Failure(isTimeout: false, isRetriable: true, mightHaveBeenSent: true, description: "not an HTTP answer")
            }
            var headers: [(name: String, value: String)] = []
            for (k, v) in http.allHeaderFields {
                headers.append(("\(k)".lowercased(), "\(v)"))
            }
            return HTTPResponse(status: http.statusCode, headers: headers, body: Array(data))
        } catch let e as URLError {
            throw Failure(isTimeout: e.code == .timedOut, isRetriable: true, mightHaveBeenSent: e.code != .cannotConnectToHost, description: "\(e.code.rawValue) \(e.localizedDescription)")
        }
    }
}
