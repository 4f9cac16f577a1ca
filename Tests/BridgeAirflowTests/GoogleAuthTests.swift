@testable import BridgeAirflow
import BridgeCore
import BridgeHTTP
import Foundation
import Testing

/// Google auth against a local token endpoint that verifies the RS256 assertion with the test's own key pair.
@Suite("Google auth", .serialized)
struct GoogleAuthTests {
    struct Setup {
        let dir: TempDir
        let server: FakeServer
        let http: HTTPClient
        let keyFile: String
    }

    /// A fresh RSA key pair (openssl), a service-account key file naming the local token endpoint, and the server.
    func setup(otherKey: Bool = false) async throws -> Setup {
        let dir = try TempDir()
        try run(["openssl", "genrsa", "-out", dir.path("key.pem"), "2048"])
        try run(["openssl", "rsa", "-in", dir.path("key.pem"), "-pubout", "-out", dir.path("pub.pem")])
        if otherKey {
            try run(["openssl", "genrsa", "-out", dir.path("other.pem"), "2048"])
            try run(["openssl", "rsa", "-in", dir.path("other.pem"), "-pubout", "-out", dir.path("pub.pem")])
        }
        let server = try await FakeServer.start(pubkey: dir.path("pub.pem"))
        let pem = try String(contentsOfFile: dir.path("key.pem"), encoding: .utf8)
        var key = JSONObject()
        key["type"] = "service_account"
        key["client_email"] = "bridge@project.iam.gserviceaccount.com"
        key["private_key_id"] = "kid-1"
        key["private_key"] = .string(pem)
        key["token_uri"] = .string(server.base + "/token")
        let keyFile = try dir.write("sa.json", JSONWriter.string(.object(key)))
        let http = try makeClient()
        try await server.control(["iss": "bridge@project.iam.gserviceaccount.com"], using: http)
        return Setup(dir: dir, server: server, http: http, keyFile: keyFile)
    }

    func client(_ s: Setup, _ g: GoogleAuthConfig) throws -> AirflowClient {
        try AirflowClient(config: TargetConfig(name: "composer", url: s.server.base, auth: .google(g), timeout: 10), transport: s.http)
    }

    func authorizations(_ s: Setup) async throws -> [String] {
        try await s.server.log(using: s.http)["requests"]?.arrayValue?.filter { $0["path"]?.stringValue?.hasPrefix("/api/") == true }
            .compactMap { $0["headers"]?["authorization"]?.stringValue } ?? []
    }

    @Test func serviceAccountAccessTokenIsFetchedOnceAndUsed() async throws {
        let s = try await setup()
        try await s.server.control(["expect_auth": "Bearer goog-1"], using: s.http)
        let c = try client(s, GoogleAuthConfig(credentialsFile: s.keyFile))
        // Concurrent first callers share one fetch…
        await withTaskGroup(of: Void.self) { g in
            for _ in 0..<4 { g.addTask { _ = await c.trigger(job("ok")) } }
        }
        // …and later callers use the cached token.
        for _ in 0..<3 {
            let r = await c.trigger(job("ok"))
            guard case .delivered = r.outcome else { Issue.record("\(r.reason)"); return }
        }
        #expect(try await s.server.log(using: s.http)["token_fetches"] == 1)
        #expect(try await authorizations(s) == Array(repeating: "Bearer goog-1", count: 7))
    }

    @Test func tokenIsRefreshedBeforeExpiry() async throws {
        let s = try await setup()
        // A 20 s token is refreshed once past half its life; the two first calls must fit in those
        // 10 s even when the whole suite loads the machine (2 s and 6 s tokens did not, once each).
        try await s.server.control(["expires_in": 20], using: s.http)
        let c = try client(s, GoogleAuthConfig(credentialsFile: s.keyFile))
        let start = ContinuousClock.now
        _ = await c.trigger(job("ok"))
        _ = await c.trigger(job("ok"))
        try await Task.sleep(until: start + .milliseconds(11_000))  // past half its 20 s life: refreshed before use
        _ = await c.trigger(job("ok"))
        #expect(try await s.server.log(using: s.http)["token_fetches"] == 2)
        #expect(try await authorizations(s) == ["Bearer goog-1", "Bearer goog-1", "Bearer goog-2"])
    }

    @Test func idTokenForAnAudience() async throws {
        let s = try await setup()
        try await s.server.control(["audience": "1234-abc.apps.googleusercontent.com"], using: s.http)
        let c = try client(s, GoogleAuthConfig(credentialsFile: s.keyFile, audience: "1234-abc.apps.googleusercontent.com"))
        let r = await c.trigger(job("ok"))
        guard case .delivered = r.outcome else { Issue.record("\(r.reason)"); return }
        let auth = try #require(try await authorizations(s).first)
        let jwt = String(auth.dropFirst("Bearer ".count))
        let claims = try JSONParser.parse(try #require(Base64.decode(jwt.split(separator: ".")[1])))
        #expect(claims["aud"] == "1234-abc.apps.googleusercontent.com")
        #expect(JWT.expiry(jwt).map { $0 > Date().timeIntervalSince1970 } == true)
    }

    @Test func metadataServerAccessAndIdTokens() async throws {
        let s = try await setup()
        let md = s.server.base + "/computeMetadata/v1/instance/service-accounts/default"
        let access = try client(s, GoogleAuthConfig(metadataURL: md))
        #expect(await access.trigger(job("ok")).httpStatus == 200)
        #expect(await access.trigger(job("ok")).httpStatus == 200)
        let id = try client(s, GoogleAuthConfig(audience: "iap-client", metadataURL: md))
        #expect(await id.trigger(job("ok")).httpStatus == 200)
        let auths = try await authorizations(s)
        #expect(auths.prefix(2) == ["Bearer meta-1", "Bearer meta-1"])
        #expect(auths.count == 3 && auths[2].hasPrefix("Bearer ey"))
        let reqs = try await s.server.log(using: s.http)["requests"]?.arrayValue ?? []
        #expect(reqs.contains { $0["path"]?.stringValue?.hasSuffix("/identity") == true && $0["query"]?.stringValue?.contains("audience=iap-client") == true })
    }

    @Test func assertionSignedWithTheWrongKeyIsRefused() async throws {
        let s = try await setup(otherKey: true)
        let c = try client(s, GoogleAuthConfig(credentialsFile: s.keyFile))
        let r = await c.trigger(job("ok"))
        #expect(r.outcome == .permanent)
        #expect(r.reason.contains("refused a token for target 'composer' (400): Invalid JWT Signature."), "\(r.reason)")
        #expect(try await authorizations(s).isEmpty)
    }

    @Test func unreadableOrBadKeyFileIsAConfigError() throws {
        let dir = try TempDir()
        let http = try makeClient()
        #expect(throws: AirflowError.self) {
            try AirflowClient(config: TargetConfig(name: "c", url: "http://x", auth: .google(GoogleAuthConfig(credentialsFile: dir.path("none.json")))), transport: http)
        }
        let bad = try dir.write("bad.json", #"{"client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#)
        do {
            _ = try AirflowClient(config: TargetConfig(name: "c", url: "http://x", auth: .google(GoogleAuthConfig(credentialsFile: bad))), transport: http)
            Issue.record("no error")
        } catch {
            #expect(error.message.contains("is not a usable RSA key"))
        }
    }
}
