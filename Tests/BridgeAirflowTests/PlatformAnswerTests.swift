@testable import BridgeAirflow
import BridgeConfig
import BridgeCore
import BridgeHTTP
import Testing

/// Platform-specific request and answer shapes against the local Airflow-like server, through libcurl:
/// Astronomer Software's and Astro's authorization headers and URL prefixes, and what a 409 means
/// once the existing run has been read back.
@Suite("platform answers", .serialized)
struct PlatformAnswerTests {
    /// As in the README: Astronomer Software sends the service account's API key alone, behind
    /// `/<release>/airflow`; Astro (`*.astronomer.run`) sends `Bearer <API token>`, behind `/<deployment id>`.
    static func astronomerTargets(_ base: String) -> String {
        """
        targets:
          astronomer-software:
            url: \(base)/infrared-photon-7780/airflow
            api: v1
            auth: { type: bearer, token: "${env:ASTRONOMER_API_KEY}", scheme: raw }
          astro:
            url: \(base)/d1234567
            api: v2
            auth: { type: bearer, token: "${env:ASTRO_API_TOKEN}" }
        """
    }

    @Test("Astronomer Software: Authorization is the API key alone; Astro: Bearer <token>; each refused in the other's shape")
    func astronomerRequestShapes() async throws {
        let server = try await FakeServer.start()
        defer { server.stop() }
        let http = try makeClient()
        let env = ["ASTRONOMER_API_KEY": "sa-key-0123", "ASTRO_API_TOKEN": "astro-token-4567"]
        let (targets, diags) = parseTargets(Self.astronomerTargets(server.base), env: env)
        #expect(diags.filter { $0.severity == .error }.isEmpty, "\(diags)")
        let software = try AirflowClient(config: try #require(targets["astronomer-software"]), transport: http)
        let astro = try AirflowClient(config: try #require(targets["astro"]), transport: http)

        try await server.control(["expect_auth": "sa-key-0123"], using: http)
        let a = await software.trigger(job("ok", run: "sw-1"))
        #expect(a.httpStatus == 200, "\(a.reason)")
        #expect(await astro.trigger(job("ok", run: "astro-x")).httpStatus == 401, "Bearer sent where the raw key is expected")

        try await server.control(["expect_auth": "Bearer astro-token-4567"], using: http)
        let b = await astro.trigger(job("ok", run: "astro-1"))
        #expect(b.httpStatus == 200, "\(b.reason)")
        let refused = await software.trigger(job("ok", run: "sw-x"))
        #expect(refused.httpStatus == 401 && refused.outcome == .permanent && refused.reason.contains("credentials rejected"), "\(refused.reason)")

        let reqs = try #require(try await server.log(using: http)["requests"]?.arrayValue)
        let byRun = Dictionary(reqs.compactMap { r -> (String, JSONValue)? in
            guard let body = r["body"]?.stringValue, let run = (try? JSONParser.parse(body))?["dag_run_id"]?.stringValue else { return nil }
            return (run, r)
        }, uniquingKeysWith: { a, _ in a })
        #expect(byRun["sw-1"]?["path"] == "/infrared-photon-7780/airflow/api/v1/dags/ok/dagRuns")
        #expect(byRun["sw-1"]?["headers"]?["authorization"] == "sa-key-0123")
        #expect(byRun["astro-1"]?["path"] == "/d1234567/api/v2/dags/ok/dagRuns")
        #expect(byRun["astro-1"]?["headers"]?["authorization"] == "Bearer astro-token-4567")
    }

    @Test("a 409 after a reset-after-send is our own run: looked up, same conf, counted as done")
    func duplicateAfterAmbiguousFailureIsLookedUp() async throws {
        let server = try await FakeServer.start()
        defer { server.stop() }
        for api in [AirflowAPI.v2, .v1] {
            // A new client each time: libcurl resends by itself on a reused connection that drops, which
            // would turn the first attempt into the 409 already.
            let c = try AirflowClient(config: TargetConfig(name: "prod", url: server.base, api: api, timeout: 5), transport: try makeClient())
            let j = job("resetafter", run: "run-\(api)", conf: ["order": 42, "items": ["a", "b"]])
            let first = await c.trigger(j)
            #expect(first.outcome == .retry(retryAfter: nil), "\(first.reason)")
            let second = await c.trigger(j)
            #expect(second.outcome == .duplicate, "\(second.reason)")
            #expect(second.httpStatus == 409)
            #expect(second.reason.contains("with the same conf (looked up)"), "\(second.reason)")
        }
        let gets = try #require(try await server.log(using: try makeClient())["requests"]?.arrayValue).filter { $0["method"] == "GET" }
        #expect(gets.compactMap { $0["path"]?.stringValue } == ["/api/v2/dags/resetafter/dagRuns/run-v2", "/api/v1/dags/resetafter/dagRuns/run-v1"])
    }

    @Test("a 409 for someone else's run with another conf is dead-lettered with a reason that says so")
    func duplicateWithOtherConfIsPermanent() async throws {
        let server = try await FakeServer.start()
        defer { server.stop() }
        let http = try makeClient()
        try await server.control(["seed_run": ["dag": "ok", "run_id": "nightly__2026-12-04", "conf": ["source": "cron"]]], using: http)
        let c = try AirflowClient(config: TargetConfig(name: "prod", url: server.base, api: .v2, timeout: 5), transport: http)
        let r = await c.trigger(job("ok", run: "nightly__2026-12-04", conf: ["source": "webhook"]))
        #expect(r.outcome == .permanent, "\(r.reason)")
        #expect(r.httpStatus == 409)
        #expect(r.reason.contains("already exists on target 'prod' with a different conf (looked up)"), "\(r.reason)")
        #expect(r.reason.contains("--new-run-id"))
        // An empty conf matches Airflow's stored {} for an absent one.
        try await server.control(["seed_run": ["dag": "ok", "run_id": "empty", "conf": [:]]], using: http)
        #expect(await c.trigger(job("ok", run: "empty", conf: .null)).outcome == .duplicate)
    }

    @Test("a 409 whose run cannot be read stays a duplicate and says the look-up found nothing")
    func duplicateWithoutReadableRunStaysDone() async throws {
        let server = try await FakeServer.start()
        defer { server.stop() }
        let c = try AirflowClient(config: TargetConfig(name: "prod", url: server.base, api: .v2, timeout: 5), transport: try makeClient())
        let r = await c.trigger(job("s409", run: "x"))
        #expect(r.outcome == .duplicate)
        #expect(r.reason.contains("already exists on target 'prod' (409)") && r.reason.contains("looking the run up found nothing"), "\(r.reason)")
        // The experimental flavour has no run read with a conf: no look-up, as before.
        let exp = try AirflowClient(config: TargetConfig(name: "prod", url: server.base, api: .experimental, timeout: 5), transport: try makeClient())
        #expect(!(await exp.trigger(job("s409", run: "y"))).reason.contains("look"))
    }
}
