import BridgeHTTP
import Foundation
import Logging
import Testing

@Suite("HTTPClient TLS, mutual TLS and proxies", .timeLimit(.minutes(2)))
struct HTTPClientTLSProxyTests {
    @Test func httpsWithATestCA() async throws {
        let pki = try await TestPKI.make()
        let server = try await StubServer.start(tls: (pki.serverCert, pki.serverKey))
        defer { server.stop() }
        let request = HTTPRequest(method: .post, url: server.url("/echo"), body: Array("secure".utf8))

        // Unknown CA: verification fails, the message names the fix.
        let plain = try HTTPClient()
        defer { plain.shutdown() }
        let error = await expectHTTPError { try await plain.execute(request) }
        #expect(error?.code == .tls)
        #expect(error?.isRetriable == false)
        #expect(error?.message.contains("tls.ca_file") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("127.0.0.1") == true)

        // Trusting the test CA works.
        let trusting = try HTTPClient(configuration: .init(tls: .init(caFile: pki.caCert)))
        defer { trusting.shutdown() }
        let response = try await trusting.execute(request)
        #expect(response.status == 200)
        #expect(response.json["body"] as? String == "secure")

        // The insecure flag works too, and says so in the log.
        let logs = LogBox()
        let insecure = try HTTPClient(configuration: .init(tls: .init(insecureSkipVerify: true)), logger: logs.logger)
        defer { insecure.shutdown() }
        #expect(logs.all.contains { $0.level == .warning && $0.message.contains("insecure_skip_verify") })
        let insecureResponse = try await insecure.execute(request)
        #expect(insecureResponse.status == 200)
        #expect(trusting.configuration.tls.insecureSkipVerify == false)
    }

    @Test func mutualTLS() async throws {
        let pki = try await TestPKI.make()
        let server = try await StubServer.start(tls: (pki.serverCert, pki.serverKey), clientCA: pki.caCert)
        defer { server.stop() }
        let request = HTTPRequest(url: server.url("/echo"))

        // Without a client certificate the server refuses the handshake. Under TLS 1.3 the client
        // learns that only after its request went out, so it surfaces as a send/receive failure.
        let anonymous = try HTTPClient(configuration: .init(tls: .init(caFile: pki.caCert)))
        defer { anonymous.shutdown() }
        let refused = await expectHTTPError { try await anonymous.execute(request) }
        #expect(refused?.code == .tls || refused?.code == .recvFailed || refused?.code == .sendFailed, "\(refused?.code.description ?? "") \(refused?.message ?? "")")

        // With certificate and key.
        let mtls = try HTTPClient(configuration: .init(tls: .init(caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey)))
        defer { mtls.shutdown() }
        #expect(try await mtls.execute(request).status == 200)

        // With an encrypted key and its password.
        let encrypted = try HTTPClient(configuration: .init(tls: .init(
            caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKeyEncrypted, keyPassword: TestPKI.keyPassword)))
        defer { encrypted.shutdown() }
        #expect(try await encrypted.execute(request).status == 200)

        // A wrong password is a TLS configuration error that names the options.
        let wrong = try HTTPClient(configuration: .init(tls: .init(
            caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKeyEncrypted, keyPassword: "wrong")))
        defer { wrong.shutdown() }
        let badKey = await expectHTTPError { try await wrong.execute(request) }
        #expect(badKey?.code == .tls)
        #expect(badKey?.message.contains("tls.key_password") == true, "\(badKey?.message ?? "")")
    }

    @Test func explicitProxyIsUsed() async throws {
        let proxy = try await SharedServer.get()  // answers absolute-URI requests as a forward proxy would
        let client = try HTTPClient(configuration: .init(proxy: proxy.url("")))
        defer { client.shutdown() }
        let response = try await client.execute(HTTPRequest(url: "http://airflow.example.invalid:8080/api/v2/version"))
        #expect(response.json["proxied"] as? Bool == true)
        #expect(response.json["target"] as? String == "http://airflow.example.invalid:8080/api/v2/version")
    }

    @Test func deadProxyFailsWithAConnectErrorNamingIt() async throws {
        let port = try closedPort()
        let client = try HTTPClient(configuration: .init(proxy: "http://127.0.0.1:\(port)"))
        defer { client.shutdown() }
        let error = await expectHTTPError { try await client.execute(HTTPRequest(url: "http://airflow.example.invalid/api")) }
        #expect(error?.code == .connect)
        #expect(error?.isRetriable == true)
        #expect(error?.message.contains("proxy http://127.0.0.1:\(port)") == true, "\(error?.message ?? "")")
    }

    @Test func noProxyBypassesTheProxy() async throws {
        let server = try await SharedServer.get()
        let port = try closedPort()
        let client = try HTTPClient(configuration: .init(proxy: "http://127.0.0.1:\(port)", noProxy: "localhost,127.0.0.1"))
        defer { client.shutdown() }
        let response = try await client.execute(HTTPRequest(url: server.url("/echo")))
        #expect(response.status == 200)
        #expect(response.json["proxied"] == nil)
    }

    @Test func negotiateIsAcceptedWhenLibcurlSupportsIt() async throws {
        // Debian's libcurl has GSS-API; without a Kerberos ticket the request still goes out
        // and a server that does not ask for Negotiate answers normally.
        let server = try await SharedServer.get()
        let client = try HTTPClient(configuration: .init(negotiate: true))
        defer { client.shutdown() }
        let response = try await client.execute(HTTPRequest(url: server.url("/echo")))
        #expect(response.status == 200)
    }
}
