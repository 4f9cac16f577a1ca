import BridgeCore
import Foundation
import Testing

/// The admin API and `dagbridge dlq --server` against a real `dagbridge serve` process and the
/// recording target: dead letters from a missing DAG and from a render error, inspected per event,
/// fixed by a rules reload and replayed in bulk (re-rendered); dispatch metrics; bad requests.
@Suite("admin API and dlq --server (real process)", .serialized, .onTestThreads, .timeLimit(.minutes(3)))
struct AdminAPIProcessTests {
    static let token = "admin-token-0123456789"

    func admin(_ method: String, _ url: String, _ body: String? = nil) throws -> (Int, JSONValue?) {
        try adminCall(Self.token, method, url, body)
    }

    func writeRules(_ dir: String, lateDAG: String, brokenConf: String) throws {
        try """
        rules:
          - name: late
            match: { body: { kind: [late] } }
            trigger: { target: stub, dag_id: \(lateDAG), conf: { kind: "{{ body.kind }}" } }
          - name: broken
            match: { body: { kind: [broken] } }
            trigger: { target: stub, dag_id: real_dag, conf: { v: "\(brokenConf)" } }
          - name: never
            match: { body: { kind: [never] } }
            trigger: { target: stub, dag_id: missing_forever }
        """.write(toFile: dir + "/rules/r.yaml", atomically: true, encoding: .utf8)
    }

    @Test func deadLettersInspectedFixedAndReplayedThroughTheAPI() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let target = try RecordingTarget(dir: dir.path)
        defer { target.stop() }
        try FileManager.default.createDirectory(atPath: dir.path + "/rules", withIntermediateDirectories: true)
        try writeRules(dir.path, lateDAG: "missing_dag", brokenConf: "{{ body.nope }}")
        let port = Int.random(in: 23000...23099)
        try """
        server: { listen: "127.0.0.1:\(port)", admin_token: "${env:TEST_ADMIN_TOKEN}", shutdown_timeout: 5s }
        store: { path: var/j.sqlite }
        targets:
          stub: { url: "\(target.url)", api: v2 }
        sources:
          webhooks:
            - name: hooks
              verify: { type: bearer, tokens: ["${env:TEST_HOOK_TOKEN}"] }
        """.write(toFile: dir.path + "/dagbridge.yaml", atomically: true, encoding: .utf8)
        let serve = try await ServeProcess.start(
            dir: dir.path, port: port, env: ["TEST_ADMIN_TOKEN": Self.token, "TEST_HOOK_TOKEN": "hook-token"])
        defer { serve.terminate() }
        let base = serve.base
        func send(_ id: String, _ kind: String) throws -> Int {
            try curlPost(
                base + "/hooks/hooks", body: #"{"id":"\#(id)","kind":"\#(kind)"}"#,
                headers: ["Authorization": "Bearer hook-token", "Content-Type": "application/json", "X-Request-Id": id]
            ).0
        }
        // ev-1 and ev-2 go to a DAG the target does not have; ev-3's conf cannot be rendered.
        #expect(try send("ev-1", "late") == 202)
        #expect(try send("ev-2", "late") == 202)
        #expect(try send("ev-3", "broken") == 202)
        let cli = ["--server", base, "--token", Self.token]
        #expect(try await waitFor(20) { try await CLI.run(["dlq", "list", "--json"] + cli).json?.arrayValue?.count == 3 })

        // What happened to one event: the rule it matched and its dead run.
        let events = try await CLI.run(["dlq", "list", "--json", "--rule", "late"] + cli).json?.arrayValue ?? []
        #expect(events.count == 2)
        guard case .int(let jobID) = events.first?["id"] ?? .null else {
            Issue.record("no job id in \(events)")
            return
        }
        let eventID = try #require(try await CLI.run(["dlq", "show", "\(jobID)", "--json"] + cli).json?["event"]?["id"]?.stringValue)
        let (evStatus, ev) = try admin("GET", base + "/admin/events/\(eventID)")
        #expect(evStatus == 200)
        #expect(ev?["events"]?[0]?["rules_matched"] == ["late"])
        #expect(ev?["events"]?[0]?["runs"]?[0]?["state"] == "dead")
        #expect(ev?["events"]?[0]?["runs"]?[0]?["dag_id"] == "missing_dag")
        #expect(ev?["events"]?[0]?["envelope"]?["body"]?["kind"] == "late")
        #expect(try admin("GET", base + "/admin/events/no-such-event").0 == 404)
        // The local file and the API answer with the same documents: both go through DLQService.
        let file = ["--store", dir.path + "/var/j.sqlite"]
        for command in [["dlq", "show", "\(jobID)", "--json"], ["dlq", "list", "--json"], ["dlq", "list", "--json", "--rule", "late", "--reason", "not found"]] {
            let viaFile = try await CLI.run(command + file)
            let viaAPI = try await CLI.run(command + cli)
            #expect(viaFile.json != nil && viaFile.json == viaAPI.json, "\(command): \(viaFile.out) vs \(viaAPI.out)")
        }
        // A dry run plans the same replay either way (only the due times differ: they start now).
        func planned(_ out: String) -> [JSONValue] {
            ((try? JSONParser.parse(Array(out.utf8)))?.arrayValue ?? []).map { r in
                guard case .object(var o) = r else { return r }
                o["due_at"] = nil
                return .object(o)
            }
        }
        let dryFile = try await CLI.run(["dlq", "replay", "--all", "--dry-run", "--json", "--new-run-id"] + file)
        let dryAPI = try await CLI.run(["dlq", "replay", "--all", "--dry-run", "--json", "--new-run-id"] + cli)
        #expect(planned(dryFile.out).count == 3 && planned(dryFile.out) == planned(dryAPI.out), "\(dryFile.out) vs \(dryAPI.out)")
        let targets = try admin("GET", base + "/admin/targets").1
        #expect(targets?["targets"]?[0]?["last_error"]?.stringValue?.contains("not found") == true, "\(String(describing: targets))")

        // Bad requests say what to fix and change nothing.
        for (body, message) in [
            ("{}", "give ids"), (#"{"ids": [1], "filter": {}}"#, "not both"), (#"{"filter": {"since": "yesterday"}}"#, "cannot read 'yesterday'"),
            (#"{"filter": {"targte": "stub"}}"#, "did you mean 'target'"), (#"{"idz": [1]}"#, "did you mean 'ids'"),
            (#"{"ids": [0]}"#, "not a job id"), ("not json", "must be a JSON object"), (#"{"filter": {}, "rate": -1}"#, "rate"),
        ] {
            let (status, answer) = try admin("POST", base + "/admin/dlq/replay", body)
            #expect(status == 400, "\(body)")
            #expect(answer?["error"]?.stringValue?.contains(message) == true, "\(body): \(String(describing: answer))")
        }
        #expect(try admin("GET", base + "/admin/dlq?since=soon").0 == 400)
        #expect(try admin("POST", base + "/admin/dlq/purge", #"{"filter": {}}"#).1?["error"]?.stringValue?.contains("\"yes\": true") == true)
        let (_, dry) = try admin("POST", base + "/admin/dlq/replay", #"{"filter": {"rule": "late"}, "dry_run": true}"#)
        #expect(dry?["selected"] == 2 && dry?["dry_run"] == true)
        #expect(try await CLI.run(["dlq", "list", "--json"] + cli).json?.arrayValue?.count == 3)

        // Wrong token and missing token.
        let wrong = try await CLI.run(["dlq", "list", "--server", base, "--token", "nope"])
        #expect(wrong.status == 1 && wrong.err.contains("refused the admin token"), "\(wrong.err)")
        let noToken = try await CLI.run(["dlq", "list", "--server", base])
        #expect(noToken.status == 2 && noToken.err.contains("needs the admin token"), "\(noToken.err)")

        // Fix the rules, reload, replay re-rendered: through the CLI for one rule, the API for the other.
        try writeRules(dir.path, lateDAG: "real_dag", brokenConf: "{{ body.kind }}")
        #expect(try admin("POST", base + "/admin/rules/reload").0 == 200)
        let replay = try await CLI.run(["dlq", "replay", "--all", "--rule", "late", "--rerender", "--by", "oncall"] + cli)
        #expect(replay.status == 0, "\(replay.out)\(replay.err)")
        #expect(replay.out.contains("replayed 2 of 2"), "\(replay.out)")
        let (_, bulk) = try admin("POST", base + "/admin/dlq/replay", #"{"filter": {"rule": "broken"}, "rerender": true, "by": "api"}"#)
        #expect(bulk?["ok"] == 1, "\(String(describing: bulk))")
        #expect(try await waitFor(20) { Set(target.created()) == ["late__ev-1", "late__ev-2", "broken__ev-3"] }, "\(target.created())")
        #expect(try await waitFor(10) { try admin("GET", base + "/admin/events/\(eventID)").1?["events"]?[0]?["runs"]?[0]?["state"] == "delivered" })
        #expect(try admin("GET", base + "/admin/events/\(eventID)").1?["events"]?[0]?["runs"]?[0]?["dag_id"] == "real_dag")

        // Dispatch metrics: two dead attempts, three deliveries, a latency histogram per target.
        let metrics = try curl([base + "/metrics"]).1
        #expect(metrics.contains(#"dagbridge_jobs_total{target="stub",outcome="dead"} 2"#), "\(metrics)")
        #expect(metrics.contains(#"dagbridge_jobs_total{target="stub",outcome="delivered"} 3"#))
        #expect(metrics.contains(#"dagbridge_dispatch_duration_seconds_count{target="stub"} 5"#))

        // Purge through the API: refused without --yes, then done; the job is gone.
        #expect(try send("ev-4", "never") == 202)
        #expect(try await waitFor(20) { try await CLI.run(["dlq", "list", "--json", "--rule", "never"] + cli).json?.arrayValue?.count == 1 })
        let refused = try await CLI.run(["dlq", "purge", "--all", "--rule", "never"] + cli)
        #expect(refused.status == 1 && refused.err.contains("refusing to purge 1 job(s)"), "\(refused.err)")
        let purged = try await CLI.run(["dlq", "purge", "--all", "--rule", "never", "--yes"] + cli)
        #expect(purged.status == 0 && purged.out.contains("purged 1 of 1"), "\(purged.out)\(purged.err)")
        #expect(try await CLI.run(["dlq", "list", "--json"] + cli).json?.arrayValue?.count == 0)
        #expect(serve.terminate() == 0)
    }
}
