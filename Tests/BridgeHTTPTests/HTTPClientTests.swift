import BridgeHTTP
import Foundation
import Testing

@Suite("HTTPClient against a local server", .timeLimit(.minutes(2)))
struct HTTPClientTests {
    @Test func postRoundTripWithHeadersAndBody() async throws {
        let server = try await SharedServer.get()
        let client = try HTTPClient()
        defer { client.shutdown() }
        let body = Array(#"{"dag":"demo","conf":{"n":1}}"#.utf8)
        let response = try await client.execute(HTTPRequest(
            method: .post, url: server.url("/echo?x=1"),
            headers: [("Content-Type", "application/json"), ("X-Request-Id", "abc-1"), ("Authorization", "Bearer t0k")],
            body: body))
        #expect(response.status == 200)
        let json = response.json
        #expect(json["method"] as? String == "POST")
        #expect(json["path"] as? String == "/echo?x=1")
        #expect(json["body"] as? String == String(decoding: body, as: UTF8.self))
        let sent = json["headers"] as? [String: String] ?? [:]
        #expect(sent["content-type"] == "application/json")
        #expect(sent["authorization"] == "Bearer t0k")
        #expect(sent["user-agent"] == "dagbridge/0.1")
        #expect(sent["content-length"] == String(body.count))
        #expect(sent["expect"] == nil)
        // Response headers: lower-cased names, repeated ones kept in order.
        #expect(response.header("X-Echo-Id") == "abc-1")
        #expect(response.headers.allSatisfy { $0.name == $0.name.lowercased() })
        #expect(response.headers.filter { $0.name == "x-multi" }.map(\.value) == ["one", "two"])
        #expect(response.header("content-type") == "application/json")
    }

    @Test(arguments: [HTTPMethod.get, .put, .patch, .delete, .head])
    func otherMethods(method: HTTPMethod) async throws {
        let server = try await SharedServer.get()
        let client = try HTTPClient()
        defer { client.shutdown() }
        let body: [UInt8] = (method == .put || method == .patch) ? Array("payload".utf8) : []
        let response = try await client.execute(HTTPRequest(method: method, url: server.url("/echo"), body: body))
        #expect(response.status == 200)
        if method == .head {
            #expect(response.body.isEmpty)
            #expect(response.header("content-length") != nil)
        } else {
            #expect(response.json["method"] as? String == method.rawValue)
            #expect(response.json["body"] as? String == String(decoding: body, as: UTF8.self))
            // No body and no form content type invented by libcurl.
            let sent = response.json["headers"] as? [String: String] ?? [:]
            #expect(sent["content-type"] == nil)
        }
    }

    @Test func statusCodesAreReturnedNotThrown() async throws {
        let server = try await SharedServer.get()
        let client = try HTTPClient()
        defer { client.shutdown() }
        for code in [201, 404, 409, 500, 503] {
            let response = try await client.execute(HTTPRequest(url: server.url("/status?code=\(code)")))
            #expect(response.status == code)
        }
    }

    @Test func onlyTheFinalResponsesHeadersAreKept() async throws {
        let server = try await SharedServer.get()
        let client = try HTTPClient()
        defer { client.shutdown() }
        let response = try await client.execute(HTTPRequest(url: server.url("/continue")))
        #expect(response.status == 200)
        #expect(response.text == "final")
        #expect(response.header("x-final") == "yes")
        #expect(response.header("x-interim") == nil)
    }

    @Test func keepAliveReusesOneConnection() async throws {
        let server = try await StubServer.start()
        defer { server.stop() }
        let client = try HTTPClient()
        defer { client.shutdown() }
        for i in 0..<100 {
            let response = try await client.execute(HTTPRequest(method: .post, url: server.url("/echo"), body: Array("n\(i)".utf8)))
            #expect(response.json["body"] as? String == "n\(i)")
        }
        let count = try await client.execute(HTTPRequest(url: server.url("/connections")))
        #expect(count.json["connections"] as? Int == 1)
    }

    @Test func twoHundredConcurrentRequestsGetTheirOwnAnswers() async throws {
        let server = try await StubServer.start()
        defer { server.stop() }
        let client = try HTTPClient()
        defer { client.shutdown() }
        try await withThrowingTaskGroup(of: (Int, HTTPResponse).self) { group in
            for i in 0..<200 {
                group.addTask {
                    let response = try await client.execute(HTTPRequest(
                        method: .post, url: server.url("/echo"),
                        headers: [("X-Request-Id", "req-\(i)")], body: Array("body-\(i)".utf8)))
                    return (i, response)
                }
            }
            var seen = Set<Int>()
            for try await (i, response) in group {
                #expect(response.status == 200)
                #expect(response.header("x-echo-id") == "req-\(i)")
                #expect(response.json["body"] as? String == "body-\(i)")
                seen.insert(i)
            }
            #expect(seen.count == 200)
        }
    }

    @Test func invalidRequestsAreRejectedBeforeSending() async throws {
        let client = try HTTPClient()
        defer { client.shutdown() }
        let cases: [(HTTPRequest, String)] = [
            (HTTPRequest(url: "/relative/path"), "http://"),
            (HTTPRequest(url: "ftp://127.0.0.1/file"), "http://"),
            (HTTPRequest(url: "http://127.0.0.1/a b"), "percent-encode"),
            (HTTPRequest(url: "http:///path"), "no host"),
            (HTTPRequest(url: "http://127.0.0.1/", headers: [("X-Evil", "a\r\nInjected: yes")]), "line break"),
            (HTTPRequest(url: "http://127.0.0.1/", headers: [("Bad Name", "v")]), "header name"),
            (HTTPRequest(method: HTTPMethod("GE T"), url: "http://127.0.0.1/"), "method"),
        ]
        for (request, hint) in cases {
            let error = await expectHTTPError { try await client.execute(request) }
            #expect(error?.code == .invalidRequest)
            #expect(error?.isRetriable == false)
            #expect(error?.message.contains(hint) == true, "\(error?.message ?? "")")
        }
    }

    @Test func badConfigurationSaysWhatToFix() throws {
        let cases: [(HTTPClientConfiguration, String)] = [
            (HTTPClientConfiguration(timeout: 0), "timeout must be a positive"),
            (HTTPClientConfiguration(connectTimeout: -1), "connect_timeout"),
            (HTTPClientConfiguration(maxResponseBytes: 0), "max_response_bytes"),
            (HTTPClientConfiguration(tls: .init(caFile: "/nonexistent/ca.pem")), "tls.ca_file '/nonexistent/ca.pem' is not a readable file"),
            (HTTPClientConfiguration(tls: .init(keyFile: "/etc/hostname")), "tls.cert_file is not"),
            (HTTPClientConfiguration(proxy: "proxy.example:3128"), "must be a URL"),
            (HTTPClientConfiguration(maxConnectionsPerHost: -2), "max_connections_per_host"),
        ]
        for (config, hint) in cases {
            #expect {
                _ = try HTTPClient(configuration: config)
            } throws: { error in
                guard let error = error as? HTTPClientError else { return false }
                return error.code == .invalidConfiguration && error.message.contains(hint)
            }
        }
    }
}
