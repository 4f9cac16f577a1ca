import BridgeConfig
import BridgeCore
import BridgeRules
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Logging
import Synchronization
import Testing

@testable import BridgeServer
@testable import BridgeDispatch
@testable import BridgeIntake
@testable import BridgeWebhooks

/// Unit layer: a recording store stands in for the journal (the real journal is in the
/// end-to-end tests); everything else — routes, verification, decoding, rules — is real.
final class RecordingStore: JobStore, Sendable {
    struct Entry: Sendable {
        var event: Event
        var jobs: [TriggerJob]
        var failures: [RenderFailure]
    }
    let entries = Mutex<[Entry]>([])
    let failing = Atomic<Bool>(false)
    let backpressured = Atomic<Bool>(false)

    func enqueue(event: Event, jobs: [TriggerJob]) async throws -> [Int64] {
        try await enqueue(event: event, jobs: jobs, failures: [])
    }

    func enqueue(event: Event, jobs: [TriggerJob], failures: [RenderFailure]) async throws -> [Int64] {
        if failing.load(ordering: .relaxed) { throw BridgeError(.io, "disk full") }
        return entries.withLock { e in
            e.append(Entry(event: event, jobs: jobs, failures: failures))
            return jobs.indices.map { Int64(e.count * 100 + $0) }
        }
    }

    var isBackpressured: Bool { backpressured.load(ordering: .relaxed) }
    var all: [Entry] { entries.withLock { $0 } }
}

@Suite struct WebhookRouteTests {
    static let rulesYAML = """
        rules:
          - name: gh-push
            source: [github]
            match: { headers: { x-github-event: [push] }, body: { ref: [refs/heads/main] } }
            trigger: { target: af, dag_id: ci_build, conf: { repo: "{{ body.repository.full_name }}" } }
          - name: gcs
            source: [events]
            match: { cloudevent: { type: [google.cloud.storage.object.v1.finalized] } }
            trigger: { target: af, dag_id: ingest, dag_run_id: "gcs__{{ cloudevent.id }}", conf: { bucket: "{{ body.bucket }}" } }
          - name: slash
            source: [slack]
            trigger: { target: af, dag_id: slash, conf: { text: "{{ body.text }}", user: "{{ body.payload.user.id | default('') }}" } }
          - name: needs-missing
            source: [events]
            match: { body: { kind: [broken] } }
            trigger: { target: af, dag_id: d, conf: { x: "{{ body.nope }}" } }
        """

    static let configYAML = """
        - name: github
          verify: { type: github, secret: "${env:GH_SECRET}" }
          content_types: [application/json]
        - name: events
          verify: { type: bearer, tokens: ["${env:TOKEN_A}", "${env:TOKEN_B}"] }
          max_body: 2KiB
        - name: slack
          path: /slack/commands
          verify: { type: none }
        """

    struct Harness {
        let router: Router<BasicRequestContext>
        let store: RecordingStore
        let metrics: BridgeMetrics
    }

    func harness() throws -> Harness {
        let loaded = RuleSetLoader.load(sources: [(Self.rulesYAML, "r.yaml")])
        let ruleSet = try #require(loaded.ruleSet, "\(loaded.diagnostics)")
        let (node, parseDiags) = YAMLLoader.parse(Self.configYAML, file: "c.yaml")
        #expect(parseDiags.isEmpty)
        var diags = Diagnostics()
        let resolver = SecretResolver(environment: ["GH_SECRET": "It's a Secret to Everybody", "TOKEN_A": "a", "TOKEN_B": "b"])
        let sources = WebhookSourceConfig.parseList(try #require(node), defaultMaxBody: 1 << 20, resolver: resolver, diagnostics: &diags)
        #expect(!diags.hasErrors, "\(diags.items)")
        let store = RecordingStore()
        let metrics = BridgeMetrics()
        let ingress = WebhookIngress(
            sources: sources, rules: RuleSetHolder(ruleSet), store: store, metrics: metrics, logger: Logger(label: "test"))
        let router = Router()
        WebhookRoutes(ingress: ingress).add(to: router)
        return Harness(router: router, store: store, metrics: metrics)
    }

    static let ghBody = #"{"ref":"refs/heads/main","repository":{"full_name":"acme/p"}}"#
    static func ghSignature(_ body: String) -> String {
        "sha256=" + Hex.encode(hmac(.sha256, key: Array("It's a Secret to Everybody".utf8), Array(body.utf8)))
    }

    func json(_ buffer: ByteBuffer) throws -> JSONValue { try JSONParser.parse(Array(buffer.readableBytesView)) }

    @Test func signedGitHubPushIsJournaledThenAnswered202() async throws {
        let h = try harness()
        let app = Application(router: h.router)
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/hooks/github", method: .post,
                headers: [
                    .contentType: "application/json", HTTPField.Name("X-GitHub-Event")!: "push",
                    HTTPField.Name("X-GitHub-Delivery")!: "d-1", HTTPField.Name("X-Hub-Signature-256")!: Self.ghSignature(Self.ghBody),
                ], body: ByteBuffer(string: Self.ghBody)
            ) { response in
                #expect(response.status == .accepted)
                let body = try json(response.body)
                #expect(body == ["event_id": "d-1", "accepted": 1, "dag_run_ids": ["gh-push__d-1"]])
            }
        }
        let entries = h.store.all
        #expect(entries.count == 1)
        #expect(entries[0].event.id == "d-1")
        #expect(entries[0].jobs.first?.conf == ["repo": "acme/p"])
        #expect(h.metrics.render().contains(#"dagbridge_events_received_total{source="github"} 1"#))
    }

    @Test func badOrMissingSignatureIs401AndNothingIsStored() async throws {
        let h = try harness()
        try await Application(router: h.router).test(.router) { client in
            for sig in [Self.ghSignature(Self.ghBody + " "), nil] {
                var headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("X-GitHub-Event")!: "push"]
                if let sig { headers[HTTPField.Name("X-Hub-Signature-256")!] = sig }
                try await client.execute(uri: "/hooks/github", method: .post, headers: headers, body: ByteBuffer(string: Self.ghBody)) {
                    response in
                    #expect(response.status == .unauthorized)
                    let text = String(buffer: response.body)
                    #expect(!text.contains("It's a Secret"))
                }
            }
        }
        #expect(h.store.all.isEmpty)
    }

    @Test func unmatchedIs200WithZero() async throws {
        let h = try harness()
        let body = #"{"ref":"refs/heads/dev"}"#
        try await Application(router: h.router).test(.router) { client in
            try await client.execute(
                uri: "/hooks/github", method: .post,
                headers: [
                    .contentType: "application/json", HTTPField.Name("X-GitHub-Event")!: "push",
                    HTTPField.Name("X-GitHub-Delivery")!: "d-2", HTTPField.Name("X-Hub-Signature-256")!: Self.ghSignature(body),
                ], body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .ok)
                let decoded = try json(response.body)
                #expect(decoded["accepted"] == 0)
            }
        }
        #expect(h.store.all.isEmpty)
    }

    @Test func statusCodesForBadInput() async throws {
        let h = try harness()
        let auth: HTTPFields = [.authorization: "Bearer b"]
        try await Application(router: h.router).test(.router) { client in
            // Unknown path.
            try await client.execute(uri: "/hooks/nope", method: .post, body: ByteBuffer(string: "{}")) { #expect($0.status == .notFound) }
            // Too large (declared and streamed).
            try await client.execute(uri: "/hooks/events", method: .post, headers: auth, body: ByteBuffer(repeating: 0x20, count: 4096)) {
                #expect($0.status == .contentTooLarge)
            }
            // Wrong media type where the source lists accepted ones (after a valid signature).
            let form = "a=1"
            try await client.execute(
                uri: "/hooks/github", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", HTTPField.Name("X-Hub-Signature-256")!: Self.ghSignature(form)],
                body: ByteBuffer(string: form)
            ) { response in
                #expect(response.status == .unsupportedMediaType)
                #expect(String(buffer: response.body).contains("application/json"))
            }
            // Malformed JSON says where.
            var headers = auth
            headers[.contentType] = "application/json"
            try await client.execute(uri: "/hooks/events", method: .post, headers: headers, body: ByteBuffer(string: #"{"a": tru}"#)) {
                response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("line 1, column 7"))
            }
            // Wrong token.
            try await client.execute(uri: "/hooks/events", method: .post, headers: [.authorization: "Bearer c"], body: ByteBuffer(string: "{}")) {
                #expect($0.status == .unauthorized)
            }
        }
        #expect(h.store.all.isEmpty)
    }

    @Test func cloudEventsBinaryStructuredAndBatch() async throws {
        let h = try harness()
        let type = "google.cloud.storage.object.v1.finalized"
        try await Application(router: h.router).test(.router) { client in
            try await client.execute(
                uri: "/hooks/events", method: .post,
                headers: [
                    .authorization: "Bearer a", .contentType: "application/json", HTTPField.Name("ce-specversion")!: "1.0",
                    HTTPField.Name("ce-id")!: "ce-1", HTTPField.Name("ce-type")!: type, HTTPField.Name("ce-source")!: "//storage",
                ], body: ByteBuffer(string: #"{"bucket":"raw"}"#)
            ) { response in
                #expect(response.status == .accepted)
                let decoded = try json(response.body)
                #expect(decoded["dag_run_ids"] == ["gcs__ce-1"])
            }
            let structured = #"{"specversion":"1.0","id":"ce-2","type":"\#(type)","source":"//s","data":{"bucket":"b2"}}"#
            try await client.execute(
                uri: "/hooks/events", method: .post, headers: [.authorization: "Bearer a", .contentType: "application/cloudevents+json"],
                body: ByteBuffer(string: structured)
            ) { response in
                #expect(response.status == .accepted)
                let decoded = try json(response.body)
                #expect(decoded["event_id"] == "ce-2")
            }
            let batch = "[\(structured.replacingOccurrences(of: "ce-2", with: "ce-3")),\(structured.replacingOccurrences(of: "ce-2", with: "ce-4"))]"
            try await client.execute(
                uri: "/hooks/events", method: .post,
                headers: [.authorization: "Bearer a", .contentType: "application/cloudevents-batch+json"], body: ByteBuffer(string: batch)
            ) { response in
                #expect(response.status == .accepted)
                let b = try json(response.body)
                #expect(b["event_ids"] == ["ce-3", "ce-4"])
                #expect(b["dag_run_ids"] == ["gcs__ce-3", "gcs__ce-4"])
            }
            try await client.execute(
                uri: "/hooks/events", method: .post, headers: [.authorization: "Bearer a", .contentType: "application/cloudevents+json"],
                body: ByteBuffer(string: #"{"data": 1}"#)
            ) { #expect($0.status == .badRequest) }
        }
        #expect(h.store.all.map { $0.event.cloudEvent?["id"] } == ["ce-1", "ce-2", "ce-3", "ce-4"])
        #expect(h.store.all[1].jobs[0].conf == ["bucket": "b2"])
    }

    @Test func slackFormWithPayloadAndCustomPath() async throws {
        let h = try harness()
        let form = "text=deploy+now&payload=%7B%22user%22%3A%7B%22id%22%3A%22U1%22%7D%7D"
        try await Application(router: h.router).test(.router) { client in
            try await client.execute(
                uri: "/slack/commands", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: form)
            ) { response in
                #expect(response.status == .accepted)
            }
        }
        #expect(h.store.all.first?.jobs.first?.conf == ["text": "deploy now", "user": "U1"])
    }

    @Test func renderFailuresAreDeadLetteredNotDropped() async throws {
        let h = try harness()
        try await Application(router: h.router).test(.router) { client in
            try await client.execute(
                uri: "/hooks/events", method: .post, headers: [.authorization: "Bearer a", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"kind":"broken"}"#)
            ) { response in
                #expect(response.status == .accepted)
                let decoded = try json(response.body)
                #expect(decoded["dead_lettered"] == 1)
            }
        }
        let f = try #require(h.store.all.first?.failures.first)
        #expect(f.rule == "needs-missing")
        #expect(f.reason.contains("body.nope"))
    }

    @Test func backpressureAndStoreFailureAre503WithRetryAfter() async throws {
        let h = try harness()
        let store = h.store
        try await Application(router: h.router).test(.router) { client in
            store.backpressured.store(true, ordering: .relaxed)
            try await client.execute(uri: "/hooks/events", method: .post, headers: [.authorization: "Bearer a"], body: ByteBuffer(string: "{}")) {
                response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "5")
            }
            store.backpressured.store(false, ordering: .relaxed)
            store.failing.store(true, ordering: .relaxed)
            try await client.execute(
                uri: "/hooks/events", method: .post, headers: [.authorization: "Bearer a", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"kind":"broken"}"#)
            ) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] != nil)
            }
        }
    }
}

@Suite struct WebhookSourceConfigTests {
    func errors(_ yaml: String, env: [String: String] = [:]) -> [String] {
        let (node, d0) = YAMLLoader.parse(yaml, file: "c.yaml")
        var diags = Diagnostics()
        diags.append(contentsOf: d0)
        if let node {
            _ = WebhookSourceConfig.parseList(node, defaultMaxBody: 1 << 20, resolver: SecretResolver(environment: env), diagnostics: &diags)
        }
        return diags.items.filter { $0.severity == .error }.map(\.description)
    }

    @Test(arguments: [
        ("- name: a", "has no 'verify'"),
        ("- name: a\n  verify: { type: gihtub, secret: x }", "unknown verify type 'gihtub'; did you mean 'github'?"),
        ("- name: a\n  verify: { type: github }", "'secret' (or 'secrets', a list for rotation) is required"),
        ("- name: a\n  verify: { type: github, secret: '${env:NOPE}' }", "environment variable NOPE is not set"),
        ("- name: a\n  verify: { type: none }\n  event_id: body", "event_id 'body' must be"),
        ("- name: a\n  verify: { type: none }\n  max_body: lots", "expected a size"),
        ("- name: a\n  verify: { type: none }\n  path: /admin/x", "reserved path"),
        ("- name: a\n  verify: { type: none, secret: x }", "unknown key 'secret'"),
        ("- name: a\n  verify: { type: hmac, secret: x }", "needs 'header'"),
        ("- name: a\n  verify: { type: standard-webhooks, secret: plain }", "must be 'whsec_<base64>'"),
        ("- name: a\n  verify: { type: none }\n- name: a\n  verify: { type: none }", "duplicate source name 'a'"),
        ("- name: a\n  verify: { type: stripe, secret: x, tolerence: 5m }", "unknown key 'tolerence'; did you mean 'tolerance'?"),
        ("- name: a\n  verify: { type: none }\n  secret_headers: { X-Key: yes }", "expected a list of strings"),
        ("- name: a\n  verify: { type: none }\n  secret_headers: ['X Key']", "secret_headers: 'X Key' is not a header name"),
        ("- name: a\n  verify: { type: none }\n  event_id: 'header:Authorization'", "event_id reads header 'authorization', which carries credentials"),
        ("- name: a\n  verify: { type: bearer, header: X-Token, token: t }\n  event_id: 'header:x-token'", "which carries credentials"),
        ("- name: a\n  verify: { type: none }\n  secret_headers: [X-Key]\n  event_id: 'header:X-Key'", "which carries credentials"),
    ])
    func badConfigSaysWhatToFix(yaml: String, message: String) {
        let e = errors(yaml)
        #expect(e.contains { $0.contains(message) }, "\(e)")
        #expect(e.allSatisfy { $0.hasPrefix("c.yaml:") })
    }
}
