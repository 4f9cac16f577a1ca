import BridgeConfig
import BridgeCore
import BridgeIntake
import BridgeRules
import BridgeStore
import BridgeStoreTesting

import Foundation
import HTTPTypes
import Logging
import Testing

@testable import BridgeServer
@testable import BridgeWebhooks

/// A replayed signed delivery never starts a second run: inside the tolerance window the
/// verifier refuses it; after a restart (an empty replay cache) it maps to the event id the
/// journal already holds. A sender's retry, signed again with a new timestamp, maps to the same
/// run. Real SQLite journal, real verification, real rules.
@Suite("replayed deliveries and the journal", .serialized)
struct ReplayJournalTests {
    static let rules = """
        rules:
          - name: slash
            source: [slack, hooks]
            trigger: { target: af, dag_id: slash, conf: { text: "{{ body.text }}" } }
        """
    static let sources = """
        - name: slack
          verify: { type: slack, secret: slack-secret }
        - name: hooks
          verify: { type: hmac, secret: hmac-secret, header: X-Signature, timestamp_header: X-Timestamp, signed_content: "{timestamp}.{body}" }
        """

    /// A webhook front door on the journal at `path`, as `serve` builds it at start.
    func ingress(_ journal: any JobStore) throws -> WebhookIngress {
        let ruleSet = try #require(RuleSetLoader.load(sources: [(Self.rules, "r.yaml")]).ruleSet)
        let (node, _) = YAMLLoader.parse(Self.sources, file: "c.yaml")
        var diags = Diagnostics()
        let sources = WebhookSourceConfig.parseList(try #require(node), defaultMaxBody: 1 << 20, resolver: SecretResolver(environment: [:]), diagnostics: &diags)
        #expect(!diags.hasErrors, "\(diags.items)")
        return WebhookIngress(sources: sources, rules: RuleSetHolder(ruleSet), store: journal, metrics: BridgeMetrics(), logger: Logger(label: "test"))
    }

    func sign(_ secret: String, _ content: String) -> String {
        Hex.encode(hmac(.sha256, key: Array(secret.utf8), Array(content.utf8)))
    }

    @Test("slack and generic HMAC: replay refused, retry and post-restart replay map to the one run already journaled")
    func replaysMakeNoSecondRun() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let body = "text=deploy&trigger_id=398738663015.47445629121"
        let now = Date()
        let ts = String(Int(now.timeIntervalSince1970))
        let later = String(Int(now.timeIntervalSince1970) + 30)
        let deliveries: [(source: String, first: [String: String], replay: [String: String], retry: [String: String])] = [
            (
                "slack",
                ["x-slack-request-timestamp": ts, "x-slack-signature": "v0=" + sign("slack-secret", "v0:\(ts):\(body)")],
                ["x-slack-request-timestamp": ts, "x-slack-signature": "v0=" + sign("slack-secret", "v0:\(ts):\(body)").uppercased()],
                ["x-slack-request-timestamp": later, "x-slack-signature": "v0=" + sign("slack-secret", "v0:\(later):\(body)")]
            ),
            (
                "hooks",
                ["x-timestamp": ts, "x-signature": sign("hmac-secret", "\(ts).\(body)")],
                ["x-timestamp": ts, "x-signature": " " + sign("hmac-secret", "\(ts).\(body)").uppercased()],
                ["x-timestamp": later, "x-signature": sign("hmac-secret", "\(later).\(body)")]
            ),
        ]
        let form = ["content-type": "application/x-www-form-urlencoded"]
        var runIDs: [String: JSONValue] = [:]
        do {
            let journal = try Journal(path: dir.store)
            let front = try ingress(journal)
            for d in deliveries {
                let source = try #require(front.sources.values.first { $0.name == d.source })
                let first = await front.handle(source: source, headers: d.first.merging(form) { $1 }, body: Array(body.utf8), now: now)
                #expect(first.status == .accepted, "\(first.body)")
                runIDs[d.source] = first.body["dag_run_ids"]
                let replay = await front.handle(source: source, headers: d.replay.merging(form) { $1 }, body: Array(body.utf8), now: now)
                #expect(replay.status == .unauthorized && replay.body["error"] == "replayed delivery", "\(d.source): \(replay.body)")
                let retry = await front.handle(source: source, headers: d.retry.merging(form) { $1 }, body: Array(body.utf8), now: now)
                #expect(retry.status == .accepted && retry.body["dag_run_ids"] == runIDs[d.source], "\(d.source): \(retry.body)")
            }
            #expect(try await journal.counts().pending == 2)
        }
        // A restart: a new journal handle on the same file, new verifiers with empty caches.
        let journal = try Journal(path: dir.store)
        let front = try ingress(journal)
        for d in deliveries {
            let source = try #require(front.sources.values.first { $0.name == d.source })
            let replay = await front.handle(source: source, headers: d.first.merging(form) { $1 }, body: Array(body.utf8), now: now)
            #expect(replay.status == .accepted && replay.body["dag_run_ids"] == runIDs[d.source], "\(d.source): \(replay.body)")
        }
        #expect(try await journal.counts().pending == 2, "a replay after the restart journaled a second job")
    }

    @Test(
        "on a shared PostgreSQL journal a delivery verified by one replica is a replay at another, also re-cased",
        .enabled(if: PostgresServer.testsRun, "\(PostgresServer.unavailableReason ?? "")"))
    func replayAcrossReplicas() async throws {
        let server = try PostgresServer.start()
        defer { server.stop() }
        var config = StoreConfig()
        config.backend = .postgres
        config.postgres = try PostgresSettings.parse(url: Secret(server.url + "?sslmode=disable"))
        let a = try await PostgresJournal.open(config: config)
        let b = try await PostgresJournal.open(config: config)
        defer { Task { await a.close(); await b.close() } }
        let (one, two) = (try ingress(a), try ingress(b))
        let body = "text=deploy&trigger_id=1"
        let now = Date()
        let ts = String(Int(now.timeIntervalSince1970))
        let signature = "v0=" + sign("slack-secret", "v0:\(ts):\(body)")
        let headers = ["x-slack-request-timestamp": ts, "content-type": "application/x-www-form-urlencoded"]
        let source = try #require(one.sources.values.first { $0.name == "slack" })
        let first = await one.handle(source: source, headers: headers.merging(["x-slack-signature": signature]) { $1 }, body: Array(body.utf8), now: now)
        #expect(first.status == .accepted, "\(first.body)")
        for sig in [signature, signature.uppercased().replacingOccurrences(of: "V0=", with: "v0=")] {
            let replay = await two.handle(source: source, headers: headers.merging(["x-slack-signature": sig]) { $1 }, body: Array(body.utf8), now: now)
            #expect(replay.status == .unauthorized && replay.body["error"] == "replayed delivery", "\(replay.body)")
        }
        #expect(try await b.counts().pending == 1)
        // The database down: the shared check cannot be made, so the delivery is not acknowledged.
        try server.kill()
        let later = String(Int(now.timeIntervalSince1970) + 1)
        let fresh = "v0=" + sign("slack-secret", "v0:\(later):\(body)")
        let down = await two.handle(
            source: source, headers: ["x-slack-request-timestamp": later, "content-type": "application/x-www-form-urlencoded", "x-slack-signature": fresh],
            body: Array(body.utf8), now: now)
        #expect(down.status == .serviceUnavailable && down.retryAfter == 5, "\(down.body)")
    }
}
