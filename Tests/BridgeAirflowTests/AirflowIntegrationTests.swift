@testable @_spi(Testing) import BridgeAirflow
import BridgeCore
import BridgeDispatch
import BridgeHTTP
import BridgeStore
import Foundation
import Testing

/// Against real Apache Airflow 3 (v2 API), 2 (v1 and experimental APIs) and 1.10 (experimental API), through libcurl.
/// Writes are sent one at a time: Airflow on SQLite fails concurrent POSTs.
@Suite("real Airflow", .serialized, .enabled(if: AirflowTestbed.enabled, AirflowTestbed.skipMessage))
struct AirflowIntegrationTests {
    static let conf: JSONValue = ["n": 1, "text": "ü & <b>", "list": [1, 2.5, nil, true], "nested": ["k": "v"]]

    func expectDelivered(_ r: TriggerResult, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> JSONValue? {
        guard case .delivered(let run) = r.outcome else {
            Issue.record("\(what): expected delivered, got \(r.outcome): \(r.reason)", sourceLocation: sourceLocation)
            return nil
        }
        return run
    }

    /// Airflow 3 on SQLite sometimes answers a write with 500 ("database is locked") while its
    /// scheduler holds the lock; the dispatcher retries those, and so does this helper (a few
    /// times, a second apart). Token fetches are counted by the caller, so a retry cannot hide one.
    static func triggerRetrying(_ c: AirflowClient, _ job: TriggerJob) async -> TriggerResult {
        var result = await c.trigger(job)
        var retried = false
        for _ in 0..<4 {
            guard case .retry = result.outcome, result.httpStatus == 500 else { break }
            try? await Task.sleep(for: .seconds(1))
            retried = true
            result = await c.trigger(job)
        }
        // The 500'd attempt may have created the run after all: the retry then gets 409 for the
        // job's own (fresh) run id, which DESIGN.md counts as delivered.
        if retried, result.outcome == .duplicate { result.outcome = .delivered(run: nil) }
        return result
    }

    @Test(.timeLimit(.minutes(10)))
    func airflow3() async throws {
        let af = try await AirflowTestbed.start(version: "3.3.2", port: AirflowTestbed.portBase, env: ["JWT_EXPIRATION": "20"])
        defer { Task { await af.stop() } }
        let http = try makeClient()
        func target(password: String = "admin") throws -> AirflowClient {
            try AirflowClient(
                config: TargetConfig(name: "af3", url: af.url, api: .v2, auth: .airflowPassword(username: "admin", password: Secret(password), tokenURL: nil), timeout: 30),
                transport: http)
        }
        let c = try target()
        let auth = try #require(c.authorizer as? AirflowPasswordAuthorizer)

        // Create, then read the run back with its conf.
        let j = TriggerJob(rule: "it", target: "af3", dagId: "demo_dag", conf: Self.conf, dagRunId: "it3__create-\(UInt32.random(in: 0...UInt32.max))", note: "from dagbridge tests")
        let created = await c.trigger(j)
        let run = expectDelivered(created, "create")
        #expect(created.httpStatus == 200)
        #expect(run?["dag_run_id"] == .string(j.dagRunId))
        #expect(run?["conf"] == Self.conf)
        #expect(run?["logical_date"] == .null)
        let readBack = await c.getRun(dagId: "demo_dag", runId: j.dagRunId)
        #expect(readBack.json?["conf"] == Self.conf, "\(readBack)")
        #expect(readBack.json?["note"] == "from dagbridge tests")

        // Duplicate run id → duplicate (409), after reading the run back: the same conf.
        let dup = await c.trigger(j)
        #expect(dup.outcome == .duplicate && dup.httpStatus == 409, "\(dup.reason)")
        #expect(dup.reason.contains("with the same conf (looked up)"), "\(dup.reason)")
        // The same run id with another conf: someone else's run, dead-lettered with a reason that says so.
        var other = j
        other.conf = ["someone": "else"]
        let clash = await c.trigger(other)
        #expect(clash.outcome == .permanent && clash.httpStatus == 409, "\(clash.reason)")
        #expect(clash.reason.contains("with a different conf (looked up)"), "\(clash.reason)")

        // Missing DAG → permanent, saying so.
        let missing = await Self.triggerRetrying(c, job("no_such_dag", target: "af3"))
        #expect(missing.outcome == .permanent)
        #expect(missing.reason.hasPrefix("DAG 'no_such_dag' not found on target 'af3' (404)"), "\(missing.reason)")

        // Bad conf (an array where Airflow wants an object) → permanent with Airflow's detail.
        let badConf = await Self.triggerRetrying(c, job("demo_dag", conf: [1, 2], target: "af3"))
        #expect(badConf.outcome == .permanent)
        #expect(badConf.reason.hasPrefix("conf rejected by target 'af3' (422): body.conf"), "\(badConf.reason)")

        // Bad credentials → permanent, without the password in the reason.
        let bad = try target(password: "not-the-password")
        let rejected = await bad.trigger(job("demo_dag", target: "af3"))
        #expect(rejected.outcome == .permanent)
        #expect(rejected.reason.hasPrefix("credentials rejected by target 'af3' (401"), "\(rejected.reason)")
        #expect(!rejected.reason.contains("not-the-password"))

        // Paused DAG: Airflow accepts the run (it stays queued); the DAG reads as paused for `targets check`.
        let paused = await Self.triggerRetrying(c, job("paused_dag", target: "af3"))
        _ = expectDelivered(paused, "paused DAG")
        #expect(await c.getDAG("paused_dag").json?["is_paused"] == true)
        #expect(await c.getDAG("demo_dag").json?["is_paused"] == false)
        if case .notFound = await c.getDAG("no_such_dag") {} else { Issue.record("getDAG of a missing DAG") }

        // A token the server refuses (expired, but cached as valid) → 401 → one new token → delivered.
        let fetchesBefore = await auth.fetchCount
        let expired = try Self.expiredToken(like: try await Self.fetchToken(af.url, http), secret: try af.setting("AIRFLOW__API_AUTH__JWT_SECRET"))
        await auth.plantToken(expired, validUntil: Date().timeIntervalSince1970 + 3600)
        let afterRefresh = await Self.triggerRetrying(c, job("demo_dag", target: "af3"))
        _ = expectDelivered(afterRefresh, "after a refused token")
        #expect(await auth.fetchCount == fetchesBefore + 1)

        // A cached token before its refresh time is used as is; once its refresh time has passed the
        // client fetches a new one before sending (the planted token is still valid at Airflow, so
        // only the proactive refresh explains the fetch). Planted rather than waited for: on a
        // loaded machine a sleep-based check measured the scheduler, not the client.
        let fresh = try await Self.fetchToken(af.url, http)
        await auth.plantToken(fresh, validUntil: Date().timeIntervalSince1970 + 3600)
        let n = await auth.fetchCount
        _ = expectDelivered(await Self.triggerRetrying(c, job("demo_dag", target: "af3")), "cached token")
        #expect(await auth.fetchCount == n)
        await auth.plantToken(fresh, validUntil: Date().timeIntervalSince1970 - 1)
        _ = expectDelivered(await Self.triggerRetrying(c, job("demo_dag", target: "af3")), "refreshed token")
        #expect(await auth.fetchCount == n + 1)

        // The probe `targets check` uses.
        if case .found = await c.probe() {} else { Issue.record("probe failed") }
        if case .failed(let r) = await bad.probe() { #expect(r.outcome == .permanent) } else { Issue.record("probe with bad credentials") }
        await af.stop()
    }

    @Test(.timeLimit(.minutes(10)))
    func airflow2() async throws {
        let af = try await AirflowTestbed.start(version: "2.11.2", port: AirflowTestbed.portBase + 1, env: ["EXPERIMENTAL_API": "True"])
        defer { Task { await af.stop() } }
        let http = try makeClient()
        func target(_ api: AirflowAPI, password: String = "admin") throws -> AirflowClient {
            try AirflowClient(
                config: TargetConfig(name: "af2", url: af.url, api: api, auth: .basic(username: "admin", password: Secret(password)), timeout: 30),
                transport: http)
        }
        let v1 = try target(.v1)
        let j = TriggerJob(rule: "it", target: "af2", dagId: "demo_dag", conf: Self.conf, dagRunId: "it2__create-\(UInt32.random(in: 0...UInt32.max))", note: "n2")
        let created = await v1.trigger(j)
        let run = expectDelivered(created, "v1 create")
        #expect(run?["conf"] == Self.conf)
        #expect(await v1.getRun(dagId: "demo_dag", runId: j.dagRunId).json?["conf"] == Self.conf)
        let dup = await v1.trigger(j)
        #expect(dup.outcome == .duplicate && dup.httpStatus == 409, "\(dup.reason)")
        #expect(dup.reason.contains("with the same conf (looked up)"), "\(dup.reason)")
        let missing = await v1.trigger(job("no_such_dag", target: "af2"))
        #expect(missing.outcome == .permanent)
        #expect(missing.reason.hasPrefix("DAG 'no_such_dag' not found on target 'af2' (404)"), "\(missing.reason)")
        let bad = try target(.v1, password: "wrong-pw")
        let rejected = await bad.trigger(job("demo_dag", target: "af2"))
        #expect(rejected.outcome == .permanent && rejected.httpStatus == 403)
        #expect(rejected.reason.hasPrefix("credentials rejected by target 'af2' (403)"), "\(rejected.reason)")
        #expect(await v1.getDAG("paused_dag").json?["is_paused"] == true)

        // Experimental API: create, duplicate is 400 "already exists" → duplicate, read back from the run list.
        let exp = try target(.experimental)
        let e = TriggerJob(rule: "it", target: "af2", dagId: "demo_dag", conf: Self.conf, dagRunId: "it2__exp-\(UInt32.random(in: 0...UInt32.max))")
        _ = expectDelivered(await exp.trigger(e), "experimental create")
        let edup = await exp.trigger(e)
        #expect(edup.outcome == .duplicate && edup.httpStatus == 400, "\(edup.reason)")
        #expect(await exp.getRun(dagId: "demo_dag", runId: e.dagRunId).json?["run_id"] == .string(e.dagRunId))
        #expect(await v1.getRun(dagId: "demo_dag", runId: e.dagRunId).json?["conf"] == Self.conf)
        let emissing = await exp.trigger(job("no_such_dag", target: "af2"))
        #expect(emissing.outcome == .permanent)
        #expect(emissing.reason.hasPrefix("DAG 'no_such_dag' not found on target 'af2' (404)"), "\(emissing.reason)")
        await af.stop()
    }

    /// Airflow 1.10.15, whose documentation the experimental API comes from, on the machine's Python 3.8. No
    /// credentials: the testbed runs the `default` API auth backend (1.10 has no users without RBAC).
    @Test(.timeLimit(.minutes(10)), .enabled(if: AirflowTestbed.airflow1Runs, AirflowTestbed.airflow1SkipReason))
    func airflow1() async throws {
        guard AirflowTestbed.airflow1Python.path != nil else {
            throw TestFailure("\(AirflowTestbed.airflow1Python.reason); CI=true needs it (scripts/airflow-testbed.sh install 1.10.15)")
        }
        let af = try await AirflowTestbed.start(version: AirflowTestbed.airflow1Version, port: try AirflowTestbed.freePort())
        defer { Task { await af.discard() } }
        let exp = try AirflowClient(config: TargetConfig(name: "af1", url: af.url, api: .experimental, timeout: 30), transport: try makeClient())
        /// What the dispatcher does with the job after this answer (its first attempt).
        func transition(_ r: TriggerResult) -> JobTransition {
            var rng = SystemRandomNumberGenerator()
            return Backoff.transition(for: r, attemptsBefore: 0, ageFrom: Date(), now: Date(), policy: DispatchPolicy(), using: &rng)
        }
        if case .found(let ok) = await exp.probe() { #expect(ok["status"] == "OK") } else { Issue.record("probe of /api/experimental/test failed") }
        #expect(await exp.getDAG("demo_dag").json?["is_paused"] == false)
        #expect(await exp.getDAG("paused_dag").json?["is_paused"] == true)

        // Create → 200; the run is in Airflow: in the API's run list, and with its conf in Airflow's own DagRun model.
        let e = TriggerJob(rule: "it", target: "af1", dagId: "demo_dag", conf: Self.conf, dagRunId: "it1__exp-\(UInt32.random(in: 0...UInt32.max))")
        let created = await exp.trigger(e)
        let run = expectDelivered(created, "create")
        #expect(created.httpStatus == 200)
        #expect(run?["run_id"] == .string(e.dagRunId))
        #expect(transition(created) == .delivered)
        let listed = await exp.getRun(dagId: "demo_dag", runId: e.dagRunId)
        #expect(listed.json?["run_id"] == .string(e.dagRunId), "\(listed)")
        #expect(listed.json?["state"] == "running", "\(listed)")

        // The same run id again → 400 {"error": "Run id … already exists …"} → duplicate: the job counts as done.
        let dup = await exp.trigger(e)
        #expect(dup.outcome == .duplicate && dup.httpStatus == 400, "\(dup.reason)")
        #expect(dup.answer.contains("already exists"), "\(dup.answer)")
        #expect(transition(dup) == .duplicate)

        // Unknown DAG → 404 → dead letter, with a reason that names the DAG and the target.
        let missing = await exp.trigger(job("no_such_dag", target: "af1"))
        #expect(missing.outcome == .permanent && missing.httpStatus == 404, "\(missing.reason)")
        #expect(missing.reason.hasPrefix("DAG 'no_such_dag' not found on target 'af1' (404)"), "\(missing.reason)")
        #expect(transition(missing) == .dead(reason: "permanent failure (attempt 1): \(missing.reason)"))

        // In the end Airflow holds exactly one run with that id (the duplicate made none), with the conf sent.
        let runs = try af.dagRuns(dagId: "demo_dag").filter { $0["run_id"] == .string(e.dagRunId) }
        #expect(runs.count == 1, "\(runs)")
        #expect(runs.first?["conf"] == Self.conf, "\(runs)")
        #expect(runs.first?["external_trigger"] == true)
        await af.discard()
    }

    static func fetchToken(_ url: String, _ http: HTTPClient) async throws -> String {
        let r = try await http.execute(HTTPRequest(method: .post, url: url + "/auth/token", headers: [("Content-Type", "application/json")], body: Array(#"{"username":"admin","password":"admin"}"#.utf8)))
        return try #require(try JSONParser.parse(r.body)["access_token"]?.stringValue)
    }

    /// The same claims with `exp` in the past, signed HS512 with the instance's secret: a token Airflow answers 401 to.
    static func expiredToken(like token: String, secret: String) throws -> String {
        let parts = token.split(separator: ".").map(String.init)
        guard case .object(var claims) = try JSONParser.parse(try #require(Base64.decode(parts[1]))) else { throw TestFailure("claims") }
        let now = Int64(Date().timeIntervalSince1970)
        claims["iat"] = .int(now - 100)
        claims["nbf"] = .int(now - 100)
        claims["exp"] = .int(now - 10)
        let input = parts[0] + "." + Base64.encodeURL(JSONWriter.bytes(.object(claims)))
        let mac = try run(["python3", "-c", "import hmac,hashlib,sys,base64; k,m=sys.stdin.read().split('\\n',1); print(base64.urlsafe_b64encode(hmac.new(k.encode(),m.encode(),hashlib.sha512).digest()).rstrip(b'=').decode())"], stdin: secret + "\n" + input)
        return input + "." + mac.trimmingSpaces
    }
}
