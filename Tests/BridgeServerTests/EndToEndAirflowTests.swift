import BridgeAirflow
import BridgeCore
import BridgeHTTP
import Foundation
import Testing

@testable import BridgeServer
@testable import BridgeDispatch
@testable import BridgeIntake
@testable import BridgeWebhooks

/// A client that reads runs back from a testbed Airflow 3 (user admin/admin).
func airflow3Reader(_ url: String, _ http: HTTPClient) throws -> AirflowClient {
    try AirflowClient(
        config: TargetConfig(name: "read", url: url, api: .v2, auth: .airflowPassword(username: "admin", password: Secret("admin"), tokenURL: nil)),
        transport: http)
}

/// `dagbridge serve` end to end against real Apache Airflow (from PyPI, started by
/// scripts/airflow-testbed.sh): signed webhooks become DAG runs that are read back from Airflow.
/// Skipped with `DAGBRIDGE_AIRFLOW_TESTS=0`.
@Suite(
    "End to end: dagbridge serve → real Airflow", .serialized, .onTestThreads,
    .enabled(if: ProcessInfo.processInfo.environment["DAGBRIDGE_AIRFLOW_TESTS"] != "0", "real-Airflow tests disabled by DAGBRIDGE_AIRFLOW_TESTS=0"))
struct EndToEndAirflowTests {
    static let adminToken = "e2e-admin-token-0123456789"
    static let ghSecret = "It's a Secret to Everybody"
    static let bearer = "e2e-bearer-token"
    static let swKey: [UInt8] = Array("a 24-byte signing key!!!".utf8)

    static var env: [String: String] {
        ["T_ADMIN": adminToken, "T_GH": ghSecret, "T_BEARER": bearer, "T_SW": "whsec_" + Base64.encode(swKey), "T_AF_PASSWORD": "admin"]
    }

    /// The service config: one Airflow target (one request at a time, as SQLite Airflow needs;
    /// quick retries and breaker so the outage test is short) and four webhook sources.
    func writeConfig(_ dir: String, port: Int, airflow: String, api: String, auth: String, lateDAG: String) throws {
        try FileManager.default.createDirectory(atPath: dir + "/rules", withIntermediateDirectories: true)
        try """
        rules:
          - name: gh
            source: [github]
            match: { headers: { x-github-event: [push] }, body: { ref: [refs/heads/main] } }
            trigger: { target: af, dag_id: demo_dag, conf: { repo: "{{ body.repository.full_name }}", sha: "{{ body.after }}", n: "{{ body.n | int }}" } }
          - name: release
            source: [github]
            match: { headers: { x-github-event: [release] } }
            trigger: { target: af, dag_id: \(lateDAG), conf: { tag: "{{ body.release.tag_name }}" } }
          - name: gcs
            source: [gcs]
            match: { cloudevent: { type: [google.cloud.storage.object.v1.finalized] }, body: { name: [{ prefix: incoming/ }] } }
            trigger:
              target: af
              dag_id: paused_dag
              dag_run_id: "gcs__{{ cloudevent.id }}"
              conf: { bucket: "{{ body.bucket }}", object: "{{ body.name }}", size: "{{ body.size | int }}" }
          - name: billing
            source: [billing]
            match: { body: { type: [invoice.paid] } }
            trigger: { target: af, dag_id: paused_dag, conf: { invoice: "{{ body.data.id }}" } }
          - name: load
            source: [load]
            match: { body: { n: [{ exists: true }] } }
            trigger: { target: af, dag_id: paused_dag, dag_run_id: "load__{{ body.n }}", conf: { n: "{{ body.n }}" } }
        """.write(toFile: dir + "/rules/e2e.yaml", atomically: true, encoding: .utf8)
        try """
        server: { listen: "127.0.0.1:\(port)", admin_token: "${env:T_ADMIN}", shutdown_timeout: 10s }
        store: { path: var/e2e.sqlite, durability: full }
        rules: { path: rules }
        targets:
          af:
            url: "\(airflow)"
            api: \(api)
            auth: \(auth)
            max_in_flight: 1
            retry: { max_attempts: 1000, max_age: 10m, initial_backoff: 200ms, max_backoff: 2s, breaker_threshold: 5, breaker_cooldown: 2s }
        sources:
          webhooks:
            - name: github
              verify: { type: github, secret: "${env:T_GH}" }
            - name: gcs
              verify: { type: bearer, tokens: ["${env:T_BEARER}"] }
            - name: billing
              verify: { type: standard-webhooks, secret: "${env:T_SW}" }
            - name: load
              verify: { type: bearer, tokens: ["${env:T_BEARER}"] }
        """.write(toFile: dir + "/dagbridge.yaml", atomically: true, encoding: .utf8)
    }

    func github(_ base: String, event: String, delivery: String, body: String, secret: String = Self.ghSecret) throws -> (Int, String) {
        let sig = "sha256=" + Hex.encode(hmac(.sha256, key: Array(secret.utf8), Array(body.utf8)))
        return try curlPost(
            base + "/hooks/github", body: body,
            headers: ["Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sig])
    }

    func admin(_ method: String, _ url: String, _ body: String? = nil) throws -> (Int, JSONValue?) {
        try adminCall(Self.adminToken, method, url, body)
    }

    func readRun(_ client: AirflowClient, _ dag: String, _ runID: String, timeout: Double = 60) async -> JSONValue? {
        var found: JSONValue?
        _ = await eventually(timeout: timeout) {
            found = await client.getRun(dagId: dag, runId: runID).json
            return found?["dag_run_id"] == .string(runID)
        }
        return found?["dag_run_id"] == .string(runID) ? found : nil
    }

    @Test(.timeLimit(.minutes(12)))
    func airflow3() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let airflow = try await AirflowTestbed.start(port: 22180)
        defer { airflow.stop() }
        let lateDAG = "dagbridge_late_\(UInt32.random(in: 0...UInt32.max))"
        let port = Int.random(in: 23000...23099)
        try writeConfig(
            dir.path, port: port, airflow: airflow.url, api: "v2",
            auth: #"{ type: airflow-password, username: admin, password: "${env:T_AF_PASSWORD}" }"#, lateDAG: lateDAG)
        let serve = try await ServeProcess.start(dir: dir.path, port: port, env: Self.env)
        defer { serve.terminate() }
        let base = serve.base
        let http = try HTTPClient()
        defer { http.shutdown() }
        let client = try airflow3Reader(airflow.url, http)

        // 1. A GitHub-signed push: 202 with the run id, the run in Airflow with the rendered conf.
        let push = #"{"ref":"refs/heads/main","after":"0a1b2c3","n":"7","repository":{"full_name":"acme/pipelines"}}"#
        let (status, answer) = try github(base, event: "push", delivery: "d-100", body: push)
        #expect(status == 202, "\(answer)")
        #expect(try JSONParser.parse(answer)["dag_run_ids"] == ["gh__d-100"])
        let run = await readRun(client, "demo_dag", "gh__d-100")
        #expect(run?["conf"] == ["repo": "acme/pipelines", "sha": "0a1b2c3", "n": 7], "\(String(describing: run))")

        // 2. The same delivery again: accepted, same run id, still one run.
        #expect(try github(base, event: "push", delivery: "d-100", body: push).0 == 202)
        // 3. A bad signature: 401, no run.
        let (badStatus, badAnswer) = try github(base, event: "push", delivery: "d-bad", body: push, secret: "wrong")
        #expect(badStatus == 401)
        #expect(!badAnswer.contains("sha256"))

        // 4. A CloudEvent (binary mode) from Cloud Storage.
        let ce = #"{"bucket":"raw-landing","name":"incoming/2026/11/orders.csv","size":"48213"}"#
        let (ceStatus, ceAnswer) = try curlPost(
            base + "/hooks/gcs", body: ce,
            headers: [
                "Authorization": "Bearer \(Self.bearer)", "Content-Type": "application/json", "ce-specversion": "1.0",
                "ce-type": "google.cloud.storage.object.v1.finalized", "ce-source": "//storage.googleapis.com/projects/_/buckets/raw-landing",
                "ce-id": "ce-4711", "ce-time": "2026-11-21T10:00:00Z", "ce-subject": "objects/incoming/2026/11/orders.csv",
            ])
        #expect(ceStatus == 202, "\(ceAnswer)")
        let gcsRun = await readRun(client, "paused_dag", "gcs__ce-4711")
        #expect(gcsRun?["conf"] == ["bucket": "raw-landing", "object": "incoming/2026/11/orders.csv", "size": 48213])

        // 5. Standard Webhooks (v1 HMAC over id.timestamp.body).
        let sw = #"{"type":"invoice.paid","data":{"id":"in_123"}}"#
        let ts = String(Int(Date().timeIntervalSince1970))
        let swSig = "v1," + Base64.encode(hmac(.sha256, key: Self.swKey, Array("msg_e2e_1.\(ts).\(sw)".utf8)))
        let (swStatus, swAnswer) = try curlPost(
            base + "/hooks/billing", body: sw,
            headers: ["Content-Type": "application/json", "webhook-id": "msg_e2e_1", "webhook-timestamp": ts, "webhook-signature": swSig])
        #expect(swStatus == 202, "\(swAnswer)")
        #expect(await readRun(client, "paused_dag", "billing__msg_e2e_1")?["conf"] == ["invoice": "in_123"])
        if case .notFound = await client.getRun(dagId: "demo_dag", runId: "gh__d-bad") {} else { Issue.record("a run exists for the bad signature") }
        // The duplicate delivery made no second job and no second run.
        let (_, ev) = try admin("GET", base + "/admin/events/d-100")
        #expect(ev?["events"]?.arrayValue?.count == 1)
        #expect(ev?["events"]?[0]?["runs"]?.arrayValue?.count == 1)
        #expect(ev?["events"]?[0]?["runs"]?[0]?["state"] == "delivered")

        // 6. A DAG that does not exist yet: dead letter; the DAG is added; replay via the admin API.
        #expect(try github(base, event: "release", delivery: "d-rel", body: #"{"release":{"tag_name":"v1.2.0"}}"#).0 == 202)
        #expect(try await waitFor(60) { try admin("GET", base + "/admin/dlq?rule=release").1?["jobs"]?.arrayValue?.count == 1 })
        let dead = try admin("GET", base + "/admin/dlq?rule=release").1?["jobs"]?[0]
        #expect(dead?["reason"]?.stringValue?.contains("not found") == true, "\(String(describing: dead))")
        try """
            from datetime import datetime
            from airflow.sdk import DAG
            from airflow.providers.standard.operators.empty import EmptyOperator
            with DAG(dag_id="\(lateDAG)", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, is_paused_upon_creation=True) as dag:
                EmptyOperator(task_id="noop")
            """.write(toFile: airflow.dagsFolder + "/\(lateDAG).py", atomically: true, encoding: .utf8)
        #expect(await eventually(timeout: 120) { await client.getDAG(lateDAG).json != nil })
        let (replayStatus, replay) = try admin("POST", base + "/admin/dlq/replay", #"{"filter": {"rule": "release"}, "by": "e2e"}"#)
        #expect(replayStatus == 200 && replay?["ok"] == 1, "\(String(describing: replay))")
        #expect(await readRun(client, lateDAG, "release__d-rel")?["conf"] == ["tag": "v1.2.0"])

        // 7. Airflow stops; 200 events arrive and are acknowledged; Airflow starts again: each run exists once.
        airflow.stop()
        for n in 0..<200 {
            let (s, a) = try curlPost(
                base + "/hooks/load", body: #"{"n":\#(n)}"#,
                headers: ["Authorization": "Bearer \(Self.bearer)", "Content-Type": "application/json", "X-Request-Id": "load-\(n)"])
            #expect(s == 202, "event \(n): \(a)")
        }
        #expect(try await waitFor(30) { try admin("GET", base + "/admin/targets").1?["targets"]?[0]?["breaker"] == "open" })
        try await airflow.restart()
        let drained = try await waitFor(240) {
            let (_, t) = try admin("GET", base + "/admin/targets")
            func n(_ key: String) -> Int64 { if case .int(let v) = t?["targets"]?[0]?[key] ?? .null { v } else { 0 } }
            // gh, gcs, billing, the replayed release run and the 200 load runs.
            return n("delivered") + n("duplicates") >= 204
        }
        let targets = try admin("GET", base + "/admin/targets").1
        #expect(drained, "\(String(describing: targets))")
        var missing: [Int] = []
        for n in 0..<200 where await client.getRun(dagId: "paused_dag", runId: "load__\(n)").json?["conf"] != ["n": .int(Int64(n))] {
            missing.append(n)
        }
        #expect(missing.isEmpty, "runs missing in Airflow: \(missing)")
        // Exactly the runs we asked for: 200 load runs + the CloudEvent + the Standard Webhooks run.
        let list = await client.listRuns(dagId: "paused_dag")
        #expect(list.json?["total_entries"] == 202, "\(list)")
        #expect(try admin("GET", base + "/admin/dlq").1?["jobs"]?.arrayValue?.count == 0)
        let metrics = try curl([base + "/metrics"]).1
        #expect(metrics.contains(#"dagbridge_jobs_total{target="af",outcome="retry"}"#))
        #expect(serve.terminate() == 0)
    }

    @Test(.timeLimit(.minutes(8)))
    func airflow2() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let airflow = try await AirflowTestbed.start(port: 22181, version: "2.11.2")
        defer { airflow.stop() }
        let port = Int.random(in: 23000...23099)
        try writeConfig(
            dir.path, port: port, airflow: airflow.url, api: "v1",
            auth: #"{ type: basic, username: admin, password: "${env:T_AF_PASSWORD}" }"#, lateDAG: "unused")
        let serve = try await ServeProcess.start(dir: dir.path, port: port, env: Self.env)
        defer { serve.terminate() }
        let http = try HTTPClient()
        defer { http.shutdown() }
        let client = try AirflowClient(
            config: TargetConfig(name: "read", url: airflow.url, api: .v1, auth: .basic(username: "admin", password: Secret("admin"))),
            transport: http)
        let push = #"{"ref":"refs/heads/main","after":"fff000","n":"1","repository":{"full_name":"acme/legacy"}}"#
        let (status, answer) = try github(serve.base, event: "push", delivery: "d-af2", body: push)
        #expect(status == 202, "\(answer)")
        let run = await readRun(client, "demo_dag", "gh__d-af2")
        #expect(run?["conf"] == ["repo": "acme/legacy", "sha": "fff000", "n": 1], "\(String(describing: run))")
        #expect(serve.terminate() == 0)
    }
}
