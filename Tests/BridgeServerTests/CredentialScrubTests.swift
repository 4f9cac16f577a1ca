import BridgeCore
import BridgeStore
import Foundation
import Testing

/// A sender's credentials (bearer tokens in Authorization or a custom header, Basic credentials,
/// cookies, headers a source names as secret) never reach the journal file, an admin or CLI
/// answer, the log or a rendered conf, whatever the scheme; `dagbridge store scrub` removes them
/// from rows an older dagbridge wrote. Real `serve`, real SQLite, the recording target.
@Suite("sender credentials are removed (real process)", .serialized, .onTestThreads, .timeLimit(.minutes(2)))
struct CredentialScrubTests {
    static let adminToken = "admin-token-scrub-0123456789"

    /// Every file of the store (main file, WAL, shared memory) as bytes.
    static func storeBytes(_ path: String) -> [UInt8] {
        ["", "-wal", "-shm"].flatMap { Array(FileManager.default.contents(atPath: path + $0) ?? Data()) }
    }

    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard !n.isEmpty, haystack.count >= n.count else { return false }
        return (0...(haystack.count - n.count)).contains { i in haystack[i] == n[0] && Array(haystack[i..<(i + n.count)]) == n }
    }

    @Test("bearer, custom bearer header, basic, cookie and a named secret header: nowhere after intake")
    func credentialsNeverStoredOrShown() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let target = try RecordingTarget(dir: dir.path, options: ["--record-body"])
        defer { target.stop() }
        let u = UUID().uuidString.prefix(12)
        let secrets = (
            bearer: "bearer-tok-\(u)", custom: "custom-tok-\(u)", password: "basic-pw-\(u)", apiKey: "api-key-\(u)", cookie: "cookie-val-\(u)"
        )
        let all = [secrets.bearer, secrets.custom, secrets.password, secrets.apiKey, secrets.cookie, "admin:\(secrets.password)"]
        try FileManager.default.createDirectory(atPath: dir.path + "/rules", withIntermediateDirectories: true)
        // Templates that try to copy every credential into the conf, and a rule that cannot render
        // (a dead letter that keeps its event, shown by `dlq show`).
        try """
        rules:
          - name: echo
            trigger:
              target: stub
              dag_id: echo_dag
              conf:
                auth: "{{ headers.authorization | default('none') }}"
                custom: "{{ headers['x-hook-token'] | default('none') }}"
                key: "{{ headers['x-api-key'] | default('none') }}"
                cookie: "{{ headers.cookie | default('none') }}"
                all: "{{ headers }}"
          - name: broken
            trigger: { target: stub, dag_id: broken_dag, conf: { v: "{{ body.nope }}" } }
        """.write(toFile: dir.path + "/rules/r.yaml", atomically: true, encoding: .utf8)
        let port = Int.random(in: 23000...23999)
        try """
        server: { listen: "127.0.0.1:\(port)", admin_token: "${env:T_ADMIN}", shutdown_timeout: 5s }
        logging: { format: json, level: debug }
        store: { path: var/j.sqlite }
        rules: { watch: false }
        targets:
          stub: { url: "\(target.url)", api: v2 }
        sources:
          webhooks:
            - name: bearer
              verify: { type: bearer, tokens: ["${env:T_BEARER}"] }
            - name: custom
              verify: { type: bearer, header: X-Hook-Token, tokens: ["${env:T_CUSTOM}"] }
            - name: basic
              verify: { type: basic, credentials: [{ username: admin, password: "${env:T_PASSWORD}" }] }
            - name: named
              verify: { type: none }
              secret_headers: [X-Api-Key]
        """.write(toFile: dir.path + "/dagbridge.yaml", atomically: true, encoding: .utf8)
        let serve = try await ServeProcess.start(
            dir: dir.path, port: port,
            env: ["T_ADMIN": Self.adminToken, "T_BEARER": secrets.bearer, "T_CUSTOM": secrets.custom, "T_PASSWORD": secrets.password])
        defer { serve.terminate() }

        let cookie = "session=\(secrets.cookie); theme=dark"
        let basic = "Basic " + Base64.encode(Array("admin:\(secrets.password)".utf8))
        let requests: [(String, [String: String])] = [
            ("bearer", ["Authorization": "Bearer \(secrets.bearer)", "Cookie": cookie]),
            ("custom", ["X-Hook-Token": secrets.custom, "Authorization": "Bearer \(secrets.bearer)"]),
            ("basic", ["Authorization": basic, "Cookie": cookie]),
            ("named", ["X-Api-Key": secrets.apiKey, "Cookie": cookie]),
        ]
        var answers: [String] = []
        var eventIDs: [String] = []
        for (n, (source, headers)) in requests.enumerated() {
            let (status, text) = try curlPost(
                serve.base + "/hooks/\(source)", body: #"{"n":\#(n)}"#, headers: headers.merging(["Content-Type": "application/json"]) { $1 })
            #expect(status == 202, "\(source): \(text)")
            answers.append(text)
            if let id = try? JSONParser.parse(text)["event_id"]?.stringValue { eventIDs.append(id) }
        }
        #expect(eventIDs.count == 4)
        #expect(try await waitFor(15) { target.created().count == 4 }, "\(target.created())")

        // What the shown surfaces say: admin events and dead letters, the CLI on the file and via --server.
        var shown = answers
        for id in eventIDs {
            let (status, ev) = try adminCall(Self.adminToken, "GET", serve.base + "/admin/events/\(id)")
            #expect(status == 200)
            shown.append(ev.map { JSONWriter.string($0) } ?? "")
        }
        let (_, dead) = try adminCall(Self.adminToken, "GET", serve.base + "/admin/dlq?limit=100")
        let deadIDs = (dead?["jobs"]?.arrayValue ?? []).compactMap { $0["id"]?.doubleValue.map { Int64($0) } }
        #expect(deadIDs.count == 4, "\(String(describing: dead))")
        for id in deadIDs {
            shown.append(try adminCall(Self.adminToken, "GET", serve.base + "/admin/dlq/\(id)").1.map { JSONWriter.string($0) } ?? "")
            shown.append(try await CLI.run(["dlq", "show", "\(id)", "--json", "--config", dir.path + "/dagbridge.yaml"]).out)
        }
        let bodies = (try? String(contentsOfFile: target.log + ".bodies", encoding: .utf8)) ?? ""
        #expect(bodies.split(separator: "\n").count == 4)
        #expect(bodies.contains(CredentialHeaders.marker), "the conf shows the marker where a credential was")
        #expect(serve.terminate() == 0)
        let surfaces = shown + [bodies, serve.log, String(decoding: Self.storeBytes(dir.path + "/var/j.sqlite"), as: UTF8.self)]
        #expect(shown.joined().contains(CredentialHeaders.marker))
        for secret in all {
            #expect(!surfaces.contains { $0.contains(secret) }, "'\(secret)' leaked")
            #expect(!Self.contains(Self.storeBytes(dir.path + "/var/j.sqlite"), secret), "'\(secret)' is in the journal file")
        }
        #expect(!surfaces.contains { $0.contains(Base64.encode(Array("admin:\(secrets.password)".utf8))) })
    }

    @Test("store scrub: rows an older dagbridge wrote lose the credential, its rendered copies and the old pages")
    func storeScrubRemovesOldCredentials() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let secret = "old-bearer-\(UUID().uuidString.prefix(12))"
        let cookie = "old-cookie-\(UUID().uuidString.prefix(12))"
        do {
            // As dagbridge before the scrub at intake wrote it: the header in clear, and a template's copy in the conf.
            let journal = try Journal(path: dir.store)
            let event = Event(
                id: "e-1", source: "hooks", headers: ["authorization": "Bearer \(secret)", "cookie": "s=\(cookie)", "x-other": "keep-me"],
                rawBody: Array(#"{"n":1}"#.utf8))
            let job = TriggerJob(rule: "echo", target: "prod", dagId: "d", conf: ["auth": .string("Bearer \(secret)"), "n": 1], dagRunId: "echo__e-1", logicalDate: nil, note: nil, retry: nil)
            let ids = try await journal.enqueue(event: event, jobs: [job])
            let claimed = try await journal.claimDue(target: "prod", limit: 10)
            #expect(claimed.map(\.id) == ids)
            let answer = #"{"conf":{"auth":"Bearer \#(secret)"},"state":"queued"}"#
            try await journal.complete(
                jobID: ids[0], attempt: AttemptRecord(at: Date(), duration: 0.01, httpStatus: 200, outcome: "delivered", reason: "created", answer: answer),
                transition: .delivered)
        }
        #expect(Self.contains(Self.storeBytes(dir.store), secret), "the fixture holds the secret before the scrub")
        let run = try await CLI.run(["store", "scrub", "--store", dir.store])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("scrubbed 1 event(s), 1 job(s), 1 attempt(s)"), "\(run.out)")
        let bytes = Self.storeBytes(dir.store)
        #expect(!Self.contains(bytes, secret) && !Self.contains(bytes, cookie), "the secret is still in the file")
        let shown = try await CLI.run(["dlq", "list", "--state", "delivered", "--json", "--store", dir.store])
        let jobID = try #require(shown.json?.arrayValue?.first?["id"]?.doubleValue.map { Int64($0) })
        let job = try await CLI.run(["dlq", "show", "\(jobID)", "--json", "--store", dir.store]).out
        #expect(job.contains("keep-me") && job.contains(CredentialHeaders.marker) && !job.contains(secret), "\(job)")
        // Idempotent: nothing left to do.
        #expect(try await CLI.run(["store", "scrub", "--store", dir.store]).out.contains("scrubbed 0 event(s)"))
        // Usage errors.
        #expect(try await CLI.run(["store", "scrub", "--server", "http://127.0.0.1:9", "--token", "t"]).status == 2)
        #expect(try await CLI.run(["store", "scrub", "--store", dir.path + "/none.sqlite"]).err.contains("no store at"))
    }
}
