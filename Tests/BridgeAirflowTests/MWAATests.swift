@testable import BridgeAirflow
import BridgeCore
import BridgeHTTP
import Foundation
import Testing

/// MWAA through a local stand-in of the AWS API that checks every SigV4 signature by recomputing it with botocore.
@Suite("AWS MWAA", .serialized)
struct MWAATests {
    func target(_ server: FakeServer, mode: MWAAAuthConfig.Mode = .invokeRestAPI, key: String? = "AKIDTEST", secret: String? = "testsecret", environment: String = "my-env") -> TargetConfig {
        var m = MWAAAuthConfig(mode: mode, region: "eu-west-1", environment: environment, endpoint: server.base)
        if let key, let secret {
            m.accessKeyID = Secret(key)
            m.secretAccessKey = Secret(secret)
        }
        return TargetConfig(name: "mwaa", url: mode == .webLogin ? server.base : "", api: .v1, auth: .awsMWAA(m), timeout: 10)
    }

    @Test func invokeRestApiCreatesDuplicatesAndMisses() async throws {
        let server = try await FakeServer.start()
        let http = try makeClient()
        let c = try AirflowClient(config: target(server), transport: http, environment: [:])
        let j = TriggerJob(rule: "r", target: "mwaa", dagId: "demo_dag", conf: ["n": 1], dagRunId: "mwaa-1")
        let first = await c.trigger(j)
        guard case .delivered(let run?) = first.outcome else { Issue.record("\(first.reason)"); return }
        #expect(run["dag_run_id"] == "mwaa-1" && run["conf"] == ["n": 1])
        #expect(first.httpStatus == 200)
        let again = await c.trigger(j)
        #expect(again.outcome == .duplicate, "\(again.reason)")
        #expect(again.httpStatus == 409)
        #expect(again.reason.contains("with the same conf (looked up)"), "\(again.reason)")
        let missing = await c.trigger(job("nope"))
        #expect(missing.outcome == .permanent)
        #expect(missing.reason.hasPrefix("DAG 'nope' not found on target 'mwaa' (404)"), "\(missing.reason)")
        let log = try await server.log(using: http)
        #expect(log["sigv4_checked"] == 4)  // create, duplicate, its look-up (GET the run), missing DAG
        let req = try #require(log["requests"]?[0])
        #expect(req["path"] == "/restapi/my-env")
        #expect(try JSONParser.parse(req["body"]!.stringValue!) == ["Path": "/dags/demo_dag/dagRuns", "Method": "POST", "Body": ["dag_run_id": "mwaa-1", "conf": ["n": 1]]])
    }

    @Test func wrongSecretIsRejected() async throws {
        let server = try await FakeServer.start()
        let c = try AirflowClient(config: target(server, secret: "wrong"), transport: try makeClient(), environment: [:])
        let r = await c.trigger(job("demo_dag"))
        #expect(r.outcome == .permanent)
        #expect(r.reason.hasPrefix("credentials rejected by target 'mwaa' (403)"), "\(r.reason)")
        #expect(r.reason.contains("InvalidSignatureException"))
        #expect(!r.reason.contains("wrong"))
    }

    @Test func unknownEnvironment() async throws {
        let server = try await FakeServer.start()
        let c = try AirflowClient(config: target(server, environment: "other"), transport: try makeClient(), environment: [:])
        let r = await c.trigger(job("demo_dag"))
        #expect(r.outcome == .permanent)
        #expect(r.reason.contains("ResourceNotFoundException") && r.reason.contains("check url"), "\(r.reason)")
    }

    @Test func credentialsFromEnvironmentAndProfileFile() async throws {
        let server = try await FakeServer.start()
        let http = try makeClient()
        let fromEnv = try AirflowClient(
            config: target(server, key: nil, secret: nil), transport: http,
            environment: ["AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "testsecret", "AWS_SESSION_TOKEN": "session-tok"])
        #expect(await fromEnv.trigger(job("demo_dag")).httpStatus == 200)
        let dir = try TempDir()
        let file = try dir.write("credentials", "[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n[ci]\naws_access_key_id = AKIDTEST\naws_secret_access_key = testsecret\n")
        let fromProfile = try AirflowClient(
            config: target(server, key: nil, secret: nil), transport: http,
            environment: ["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "ci"])
        #expect(await fromProfile.trigger(job("demo_dag")).httpStatus == 200)
        let none = try AirflowClient(
            config: target(server, key: nil, secret: nil), transport: http,
            environment: ["AWS_SHARED_CREDENTIALS_FILE": dir.path("missing"), "AWS_EC2_METADATA_DISABLED": "true"])
        let r = await none.trigger(job("demo_dag"))
        #expect(r.outcome == .retry(retryAfter: nil))
        #expect(r.reason.hasPrefix("no AWS credentials found"), "\(r.reason)")
        let reqs = try await server.log(using: http)["requests"]?.arrayValue ?? []
        #expect(reqs.first?["headers"]?["x-amz-security-token"] == "session-tok")
    }

    @Test func containerCredentialEndpoint() async throws {
        // A one-shot stand-in of the ECS/EKS container credential endpoint (checks the authorization token).
        let dir = try TempDir()
        let script = try dir.write("creds.py", """
            import http.server, json, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    ok = self.headers.get("Authorization") == "container-auth"
                    body = json.dumps({"AccessKeyId": "AKIDTEST", "SecretAccessKey": "testsecret", "Token": "ctok",
                                       "Expiration": "2099-01-01T00:00:00Z"} if ok else {"error": "no"}).encode()
                    self.send_response(200 if ok else 403); self.send_header("Content-Length", str(len(body))); self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *a): pass
            s = http.server.HTTPServer(("127.0.0.1", 0), H)
            open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
            import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
            s.handle_request()
            """)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, dir.path("port")]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { p.terminate() }
        var port: Int?
        for _ in 0..<300 where port == nil {
            port = (try? String(contentsOfFile: dir.path("port"), encoding: .utf8)).flatMap { Int($0) }
            try await Task.sleep(for: .milliseconds(20))
        }
        let server = try await FakeServer.start()
        let c = try AirflowClient(
            config: target(server, key: nil, secret: nil), transport: try makeClient(),
            environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(try #require(port))/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-auth",
                          "AWS_SHARED_CREDENTIALS_FILE": dir.path("none")])
        let r = await c.trigger(job("demo_dag"))
        #expect(r.httpStatus == 200, "\(r.reason)")
    }

    @Test func webLoginUsesTheSessionCookie() async throws {
        let server = try await FakeServer.start()
        let http = try makeClient()
        let c = try AirflowClient(config: target(server, mode: .webLogin), transport: http, environment: [:])
        let j = job("ok", run: "web-1")
        let r1 = await c.trigger(j)
        guard case .delivered = r1.outcome else { Issue.record("\(r1.reason)"); return }
        #expect(await c.trigger(j).outcome == .duplicate)
        let reqs = try await server.log(using: http)["requests"]?.arrayValue ?? []
        #expect(reqs.map { $0["path"]?.stringValue ?? "" } == [
            "/webtoken/my-env", "/aws_mwaa/login", "/api/v1/dags/ok/dagRuns", "/api/v1/dags/ok/dagRuns", "/api/v1/dags/ok/dagRuns/web-1",
        ])  // the duplicate's run is looked up with the same session
        #expect(reqs[2]["headers"]?["cookie"]?.stringValue?.hasPrefix("session=sess-") == true)
        // A lost session (server forgot it) logs in again once.
        try await server.control(["session": "expired-elsewhere"], using: http)
        let r3 = await c.trigger(job("ok", run: "web-2"))
        guard case .delivered = r3.outcome else { Issue.record("\(r3.reason)"); return }
        let after = try await server.log(using: http)["requests"]?.arrayValue ?? []
        #expect(after.count == 9)
        #expect(after.suffix(4).map { $0["path"]?.stringValue ?? "" } == ["/api/v1/dags/ok/dagRuns", "/webtoken/my-env", "/aws_mwaa/login", "/api/v1/dags/ok/dagRuns"])
    }
}
