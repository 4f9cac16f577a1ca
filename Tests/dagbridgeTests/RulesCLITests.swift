import BridgeCore
import Foundation
import Testing

@Suite struct RulesCLITests {
    @Test func exampleRulesAreClean() async throws {
        let r = try await CLI.run(["rules", "check", "--rules", "rules", "--targets", "airflow-local"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("ok: 5 rules in 5 files"))
    }

    @Test func localExampleConfigChecksCleanWithTheExampleRules() async throws {
        let env = [
            "AIRFLOW_URL": "http://127.0.0.1:28080", "AIRFLOW_USER": "admin", "AIRFLOW_PASSWORD": "admin",
            "GITHUB_WEBHOOK_SECRET": "x", "EVENTS_TOKEN": "y", "BILLING_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "DAGBRIDGE_ADMIN_TOKEN": "0123456789abcdef0123",
        ]
        let r = try await CLI.run(["config", "check", "--config", "examples/local.yaml"], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("1 target(s), 4 webhook source(s), 5 rule(s)"))
    }

    @Test func problemsExitOneWithPositions() async throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
        rules:
          - name: a
            trigger: { target: prod, dag_id: d }
          - name: a
            trigger: { target: prdo, dag_id: d, conf: { x: "{{ body.x | nosuch }}" } }
            match: { body: { n: [{ numric: [">", 1] }] } }
        """.write(to: dir.appendingPathComponent("r.yaml"), atomically: true, encoding: .utf8)
        let r = try await CLI.run(["rules", "check", "--rules", dir.path, "--targets", "prod"])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        let file = dir.appendingPathComponent("r.yaml").path
        #expect(lines.contains { $0.hasPrefix("\(file):4:11: error: duplicate rule name 'a'") })
        #expect(lines.contains { $0.hasPrefix("\(file):5:24: error: unknown target 'prdo'; did you mean 'prod'?") })
        #expect(lines.contains { $0.hasPrefix("\(file):") && $0.contains("nosuch") })
        #expect(lines.contains { $0.hasPrefix("\(file):") && $0.contains("numric") })
    }

    @Test(arguments: [
        ["rules", "check", "--rules", "/nonexistent"],
        ["rules", "test", "--rules", "rules"],
        ["rules", "test", "--rules", "rules", "--event", "/nonexistent.json"],
        ["rules", "test", "--rules", "rules", "--event", "examples/events/github-push.json", "--header", "no-colon"],
        ["rules", "test", "--rules", "rules", "--event", "examples/events/kafka-order.json", "--kafka", "orders:x"],
        ["rules", "frobnicate"],
    ])
    func usageErrorsExitTwo(args: [String]) async throws {
        let r = try await CLI.run(args)
        #expect(r.status == 2, "\(args): \(r.stderr)")
        #expect(!r.stderr.isEmpty)
    }

    @Test func githubPushRendersTheExactJSONShape() async throws {
        let r = try await CLI.run([
            "rules", "test", "--rules", "rules", "--source", "github", "--event", "examples/events/github-push.json",
            "--header", "X-GitHub-Event: push", "--header", "X-GitHub-Delivery: 72d3162e-cc78", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try r.json()
        #expect(out.objectValue?.keys == ["matched", "errors"])
        let matched = try #require(out["matched"]?.arrayValue)
        #expect(matched.count == 1)
        let job = matched[0]
        #expect(job.objectValue?.keys == ["rule", "target", "dag_id", "dag_run_id", "logical_date", "note", "conf"])
        #expect(job["rule"] == "github-push-main")
        #expect(job["target"] == "airflow-local")
        #expect(job["dag_id"] == "ci_build")
        #expect(job["dag_run_id"] == "github-push-main__72d3162e-cc78")
        #expect(job["logical_date"] == .null)
        #expect(job["note"] == "push by octocat to acme/pipelines")
        #expect(job["conf"]?["repository"] == "acme/pipelines")
        #expect(job["conf"]?["branch"] == "main")
        #expect(job["conf"]?["commits"]?.arrayValue?.count == 1)
        #expect(out["errors"] == [])
    }

    @Test func gcsCloudEventInBinaryMode() async throws {
        let r = try await CLI.run([
            "rules", "test", "--rules", "rules", "--source", "gcs-events", "--event", "examples/events/gcs-finalized.json",
            "--header", "ce-specversion: 1.0", "--header", "ce-id: 1096434104173400",
            "--header", "ce-type: google.cloud.storage.object.v1.finalized",
            "--header", "ce-source: //storage.googleapis.com/projects/_/buckets/raw-landing",
            "--header", "ce-time: 2024-05-01T10:00:00.123Z", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let job = try #require(try r.json()["matched"]?[0])
        #expect(job["rule"] == "gcs-landing")
        #expect(job["dag_id"] == "ingest_raw-landing")
        #expect(job["dag_run_id"] == "gcs__1096434104173400")
        #expect(job["logical_date"] == "2024-05-01T10:00:00.123Z")
        #expect(job["conf"]?["size"] == 48213)
        #expect(job["conf"]?["labels"] == ["team": "sales", "schema": "v3"])
    }

    @Test func pubsubPushDecodesTheMessage() async throws {
        let r = try await CLI.run([
            "rules", "test", "--rules", "rules", "--source", "pubsub", "--event", "examples/events/pubsub-push.json", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let job = try #require(try r.json()["matched"]?[0])
        #expect(job["conf"]?["payload"] == ["dataset": "analytics", "table": "orders", "rows": 12345])
        #expect(job["dag_run_id"] == "pubsub__2070443601311540")
    }

    @Test func kafkaOrderAndExplainOfMisses() async throws {
        let r = try await CLI.run([
            "rules", "test", "--rules", "rules", "--source", "orders-kafka", "--event", "examples/events/kafka-order.json",
            "--kafka", "orders:3:42", "--key", "ord_8812", "--json", "--explain",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try r.json()
        let job = try #require(out["matched"]?[0])
        #expect(job["rule"] == "orders-paid")
        #expect(job["dag_run_id"] == "orders-paid__orders-3-42")
        #expect(job["conf"]?["customer"] == "jane.doe@example.com")
        #expect(job["conf"]?["offset"] == 42)
        let misses = try #require(out["not_matched"]?.arrayValue)
        #expect(misses.contains { $0["rule"] == "github-push-main" && $0["reason"]?.stringValue?.contains("source") == true })
    }

    @Test func standardWebhookFromStdin() async throws {
        let body = try String(contentsOf: CLI.root.appendingPathComponent("examples/events/standard-webhook.json"), encoding: .utf8)
        let r = try await CLI.run(
            [
                "rules", "test", "--rules", "rules", "--source", "billing", "--event", "-", "--header",
                "webhook-id: msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "--json",
            ], stdin: body)
        #expect(r.status == 0, "\(r.stderr)")
        let job = try #require(try r.json()["matched"]?[0])
        #expect(job["rule"] == "invoice-paid")
        #expect(job["dag_run_id"] == "invoice-paid__msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        #expect(job["conf"]?["currency"] == "EUR")
        #expect(job["conf"]?["paid_at"] == "2024-05-01")
        #expect(job["conf"]?["amount_cents"] == 12000)
    }

    @Test func renderErrorsExitOneAndAreListed() async throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
        rules:
          - name: needs-x
            trigger: { target: t, dag_id: d, conf: { x: "{{ body.x }}" } }
          - name: fine
            trigger: { target: t, dag_id: d2 }
        """.write(to: dir.appendingPathComponent("r.yaml"), atomically: true, encoding: .utf8)
        let r = try await CLI.run(["rules", "test", "--rules", dir.path, "--event", "-", "--json"], stdin: #"{"y": 1}"#)
        #expect(r.status == 1)
        let out = try r.json()
        #expect(out["matched"]?.arrayValue?.count == 1)
        #expect(out["errors"]?[0]?["rule"] == "needs-x")
        #expect(out["errors"]?[0]?["message"]?.stringValue?.contains("body.x") == true)
    }

    @Test func humanOutputShowsTheRequest() async throws {
        let r = try await CLI.run([
            "rules", "test", "--rules", "rules", "--source", "github", "--event", "examples/events/github-push.json",
            "--header", "X-GitHub-Event: push", "--id", "abc",
        ])
        #expect(r.status == 0)
        #expect(r.stdout.contains("POST /api/v2/dags/ci_build/dagRuns"))
        #expect(r.stdout.contains("\"dag_run_id\": \"github-push-main__abc\""))
    }
}
