@testable import BridgeAirflow
import BridgeCore
import BridgeHTTP
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing

/// Every row of DESIGN.md's answer classification against a local server, through libcurl.
@Suite("answer classification", .serialized)
struct ClassificationTests {
    func client(_ server: FakeServer, http: HTTPClient, api: AirflowAPI = .v2, timeout: Double = 1, name: String = "prod") throws -> AirflowClient {
        try AirflowClient(config: TargetConfig(name: name, url: server.base, api: api, timeout: timeout), transport: http)
    }

    @Test(arguments: [
        ("ok", "delivered", 200, "created on target 'prod' (200)"),
        ("s409", "duplicate", 409, "already exists on target 'prod' (409)"),
        ("s400", "permanent", 400, "conf rejected by target 'prod' (400): Bad Request: conf must be an object"),
        ("s422", "permanent", 422, "conf rejected by target 'prod' (422): body.logical_date: Field required"),
        ("s404", "permanent", 404, "DAG 's404' not found on target 'prod' (404): Dag not found: The Dag with ID: `s404` was not found"),
        ("html404", "permanent", 404, "target 'prod' answered 404 for POST /api/v2/dags/html404/dagRuns: check url (path prefix?) and api"),
        ("s403", "permanent", 403, "credentials rejected by target 'prod' (403): check auth"),
        ("s408", "retry", 408, "Airflow on 'prod' answered 408; will retry"),
        ("s500", "retry", 500, "Airflow on 'prod' answered 500; will retry (Internal Server Error: database is locked)"),
        ("s503", "retry", 503, "Airflow on 'prod' answered 503; will retry"),
        ("s429s", "retry", 429, "Airflow on 'prod' answered 429; will retry after 7s"),
    ])
    func answers(dag: String, outcome: String, status: Int, reason: String) async throws {
        let server = try await FakeServer.start()
        let http = try makeClient()
        let c = try client(server, http: http)
        let r = await c.trigger(job(dag))
        #expect(r.httpStatus == status)
        #expect(r.reason.contains(reason), "\(r.reason)")
        #expect(r.duration > 0)
        switch (outcome, r.outcome) {
        case ("delivered", .delivered(let run)):
            #expect(run?["dag_id"] == .string(dag))
            #expect(run?["conf"] == ["k": "v"])
        case ("duplicate", .duplicate), ("permanent", .permanent): break
        case ("retry", .retry(let after)):
            #expect(after == (dag == "s429s" ? 7 : nil))
        default: Issue.record("\(dag): expected \(outcome), got \(r.outcome)")
        }
        if status != 200 { #expect(!r.answer.isEmpty) }
    }

    @Test func retryAfterAsHTTPDate() async throws {
        let server = try await FakeServer.start()
        let c = try client(server, http: try makeClient())
        let r = await c.trigger(job("s429d"))
        guard case .retry(let after?) = r.outcome else { Issue.record("\(r.outcome)"); return }
        #expect(after > 100 && after <= 121, "\(after)")
    }

    @Test func timeoutIsRetry() async throws {
        let server = try await FakeServer.start()
        let c = try client(server, http: try makeClient(), timeout: 1)
        let r = await c.trigger(job("slow"))
        #expect(r.outcome == .retry(retryAfter: nil))
        #expect(r.reason == "timeout after 1s on target 'prod' (the request may have reached Airflow); will retry", "\(r.reason)")
        #expect(r.httpStatus == nil)
        #expect(r.reachedTarget, "a timeout after sending is overload, not an outage")
        // The outcome shows the 1 s timeout fired (the server answers 200 after 3 s, which would be a
        // success); the duration recorded covers at least that second. No upper bound: it also holds
        // the wait for this task to resume, which a loaded CI machine can stretch by seconds.
        #expect(r.duration >= 0.9)
    }

    @Test func connectionResetIsRetry() async throws {
        let server = try await FakeServer.start()
        let c = try client(server, http: try makeClient(), timeout: 5)
        let r = await c.trigger(job("reset"))
        #expect(r.outcome == .retry(retryAfter: nil), "\(r.reason)")
        #expect(r.reason.hasPrefix("cannot reach target 'prod'"), "\(r.reason)")
    }

    @Test func connectionRefusedIsRetry() async throws {
        // A port bound but not listening: connections are refused, and no other test's server can
        // take it meanwhile (a port merely closed again could be reused by a parallel test).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        #expect(bound)
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let c = try AirflowClient(config: TargetConfig(name: "gone", url: "http://127.0.0.1:\(port)", timeout: 2), transport: try makeClient())
        let r = await c.trigger(job("ok"))
        #expect(r.outcome == .retry(retryAfter: nil))
        #expect(r.reason.hasPrefix("cannot reach target 'gone'"), "\(r.reason)")
        // Never sent: an outage for the breaker, not overload for the concurrency limit.
        #expect(r.reachedTarget == false)
        // Airflow 3's token endpoint refused the same way: also unreachable.
        let auth = AuthConfig.airflowPassword(username: "u", password: Secret("p"), tokenURL: nil)
        let c3 = try AirflowClient(config: TargetConfig(name: "gone", url: "http://127.0.0.1:\(port)", auth: auth, timeout: 2), transport: try makeClient())
        let r3 = await c3.trigger(job("ok"))
        #expect(r3.outcome == .retry(retryAfter: nil) && r3.reachedTarget == false, "\(r3.reason)")
    }

    @Test func badRunIdIsRejectedBeforeSending() async throws {
        let server = try await FakeServer.start()
        let http = try makeClient()
        let c = try client(server, http: http)
        let r = await c.trigger(job("ok", run: "has/slash and space"))
        #expect(r.outcome == .permanent)
        #expect(r.reason.contains("is not accepted by Airflow: use only letters, digits and _ . ~ : + -"))
        let log = try await server.log(using: http)
        #expect(log["requests"]?.arrayValue?.isEmpty == true)
    }

    @Test func unauthorizedTwiceIsPermanent() async throws {
        let server = try await FakeServer.start()
        let http = try makeClient()
        try await server.control(["expect_auth": "Bearer right"], using: http)
        var config = TargetConfig(name: "prod", url: server.base, timeout: 5)
        config.auth = .bearer(token: Secret("wrong-token-value"), raw: false)
        let c = try AirflowClient(config: config, transport: http)
        let r = await c.trigger(job("ok"))
        #expect(r.outcome == .permanent)
        #expect(r.reason.hasPrefix("credentials rejected by target 'prod' (401): check auth"))
        #expect(!r.reason.contains("wrong-token-value"))
        // Static credentials cannot be refreshed: one request, not two.
        #expect(try await server.log(using: http)["requests"]?.arrayValue?.count == 1)
    }

    /// What goes on the wire for each flavour: path encoding, body fields, auth header shapes.
    @Test func requestShapes() async throws {
        let server = try await FakeServer.start()
        let http = try makeClient()
        var config = TargetConfig(name: "p", url: server.base + "/", api: .v1, timeout: 5)
        config.auth = .basic(username: "admin", password: Secret("pw"))
        let v1 = try AirflowClient(config: config, transport: http)
        _ = await v1.trigger(TriggerJob(rule: "r", target: "p", dagId: "ok", conf: ["a": 1], dagRunId: "run:1", logicalDate: "2024-01-01T00:00:00Z", note: "n"))
        config.api = .v2
        config.auth = .bearer(token: Secret("astro-key"), raw: true)
        let v2 = try AirflowClient(config: config, transport: http)
        _ = await v2.trigger(TriggerJob(rule: "r", target: "p", dagId: "ok", conf: [:], dagRunId: "run:2"))
        config.api = .experimental
        config.auth = .header(name: "X-Token", value: Secret("hv"))
        _ = await (try AirflowClient(config: config, transport: http)).trigger(TriggerJob(rule: "r", target: "p", dagId: "my dag/x", conf: [:], dagRunId: "run:3"))
        config.api = .restAPIPlugin
        config.auth = .header(name: "rest_api_plugin_http_token", value: Secret("plug"))
        _ = await (try AirflowClient(config: config, transport: http)).trigger(TriggerJob(rule: "r", target: "p", dagId: "d", conf: ["x": "a b&c"], dagRunId: "run:4"))

        let reqs = try #require(try await server.log(using: http)["requests"]?.arrayValue)
        try #require(reqs.count == 4)
        #expect(reqs[0]["path"] == "/api/v1/dags/ok/dagRuns")
        #expect(reqs[0]["headers"]?["authorization"] == "Basic YWRtaW46cHc=")
        #expect(reqs[0]["headers"]?["content-type"] == "application/json")
        #expect(try JSONParser.parse(reqs[0]["body"]!.stringValue!) == ["dag_run_id": "run:1", "conf": ["a": 1], "note": "n", "logical_date": "2024-01-01T00:00:00Z"])
        #expect(reqs[1]["path"] == "/api/v2/dags/ok/dagRuns")
        #expect(reqs[1]["headers"]?["authorization"] == "astro-key")
        #expect(try JSONParser.parse(reqs[1]["body"]!.stringValue!) == ["dag_run_id": "run:2", "logical_date": nil, "conf": [:], "note": nil])
        #expect(reqs[2]["path"] == "/api/experimental/dags/my%20dag%2Fx/dag_runs")
        #expect(reqs[2]["headers"]?["x-token"] == "hv")
        #expect(try JSONParser.parse(reqs[2]["body"]!.stringValue!) == ["run_id": "run:3", "conf": [:], "replace_microseconds": "false"])
        #expect(reqs[3]["path"] == "/admin/rest_api/api")
        #expect(reqs[3]["query"] == "api=trigger_dag&dag_id=d&run_id=run%3A4&conf=%7B%22x%22%3A%22a%20b%26c%22%7D")
        #expect(reqs[3]["headers"]?["rest_api_plugin_http_token"] == "plug")
    }

    @Test(arguments: [
        ("120", 120.0), ("0", 0), ("Sun, 06 Nov 1994 08:49:37 GMT", 60), ("Sunday, 06-Nov-94 08:49:37 GMT", 60),
        ("Sun Nov  6 08:49:37 1994", 60), ("Sun, 06 Nov 1994 08:40:00 GMT", 0),
    ])
    func retryAfterParsing(value: String, expected: Double) {
        let now = 784_111_717.0  // 1994-11-06T08:48:37Z
        #expect(AnswerClassifier.retryAfter(value, now: now) == expected)
    }

    @Test func retryAfterRejectsGarbage() {
        #expect(AnswerClassifier.retryAfter("soon", now: 0) == nil)
        #expect(AnswerClassifier.retryAfter(nil, now: 0) == nil)
    }

    @Test func longAnswersAreTrimmed() {
        let big = HTTPResponse(status: 500, body: Array(String(repeating: "é", count: 5000).utf8))
        let c = AnswerClassifier(target: "t", api: .v2, timeout: 30)
        let r = c.classify(big, job: job("d"), call: AirflowAPI.v2.triggerCall(job("d")), duration: 0.1)
        #expect(r.answer.utf8.count <= AnswerClassifier.answerLimit + 3)
        #expect(r.answer.hasSuffix("…"))
    }

    @Test func experimentalDuplicateIs400AlreadyExists() {
        let c = AnswerClassifier(target: "t", api: .experimental, timeout: 30)
        let body = #"{"error":"Run id manual__x already exists for dag id demo_dag"}"#
        let r = c.classify(HTTPResponse(status: 400, body: Array(body.utf8)), job: job("demo_dag"), call: AirflowAPI.experimental.triggerCall(job("demo_dag")), duration: 0)
        #expect(r.outcome == .duplicate)
        let v1 = AnswerClassifier(target: "t", api: .v1, timeout: 30)
        #expect(v1.classify(HTTPResponse(status: 400, body: Array(body.utf8)), job: job("d"), call: AirflowAPI.v1.triggerCall(job("d")), duration: 0).outcome == .permanent)
    }
}

@Suite("answers of the 1.x REST API plugin")
struct PluginAnswerTests {
    let plugin = AnswerClassifier(target: "t", api: .restAPIPlugin, timeout: 30)
    let call = AirflowAPI.restAPIPlugin.triggerCall(job("demo_dag"))

    @Test("a taken run id (400 ERROR ... already exists) is a duplicate, so a retry after a crash or a replay counts as done")
    func duplicateIs400AlreadyExists() {
        let body = #"{"status": "ERROR", "output": "Dag Run with run_id 'r1' already exists for dag_id 'demo_dag'", "arguments": {}}"#
        let r = plugin.classify(HTTPResponse(status: 400, body: Array(body.utf8)), job: job("demo_dag"), call: call, duration: 0)
        #expect(r.outcome == .duplicate, "\(r.reason)")
    }

    @Test("any other 400 from the plugin is still a refused trigger")
    func other400IsPermanent() {
        let body = #"{"status": "ERROR", "output": "conf is not valid JSON"}"#
        let r = plugin.classify(HTTPResponse(status: 400, body: Array(body.utf8)), job: job("demo_dag"), call: call, duration: 0)
        #expect(r.outcome == .permanent && r.reason.contains("conf rejected"), "\(r.reason)")
    }
}
