import BridgeCore
import BridgeStore
import Foundation
import Testing

/// Runs the built `dagbridge` binary (`.build/debug/dagbridge`, built by `swift test`).
struct CLI {
    static var binary: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent(".build/debug/dagbridge").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "dagbridge-binary-not-found (run swift build first)"
    }

    struct Result {
        var status: Int32
        var out: String
        var err: String
        var json: JSONValue? { try? JSONParser.parse(out) }
    }

    /// Runs the binary on a thread of its own: a test running on the cooperative pool must not hold
    /// one of its threads (two on a 2-core machine) for a child process's whole life.
    static func run(_ args: [String], cwd: String? = nil) async throws -> Result {
        try await offPool { try runBlocking(args, cwd: cwd) }
    }

    static func runBlocking(_ args: [String], cwd: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }
}

@Suite("dagbridge dlq (the built binary on a real store file)", .serialized, .onTestThreads)
struct DLQCommandTests {
    /// A store with three dead jobs (prod/build, dev/build, prod/deploy) and one pending job.
    func makeStore(_ dir: TempDir) async throws -> [Int64] {
        let journal = try Journal(path: dir.store)
        var dead: [Int64] = []
        for (i, (target, rule, reason)) in [
            ("prod", "build", "permanent failure (attempt 1): DAG 'build_dag' not found on target 'prod'"),
            ("dev", "build", "permanent failure (attempt 1): bad conf (422)"),
            ("prod", "deploy", "gave up: max_attempts (10) reached; last error: HTTP 503"),
        ].enumerated() {
            let id = try await journal.enqueue(
                event: Event(id: "ev-\(i)", source: "github", headers: ["X-GitHub-Event": "push"], rawBody: Array("{\"n\":\(i)}".utf8)),
                jobs: [TriggerJob(rule: rule, target: target, dagId: "\(rule)_dag", conf: ["n": .int(Int64(i))], dagRunId: "\(rule)__ev-\(i)")])[0]
            let claimed = try await journal.claimDue(target: target, limit: 10)
            #expect(claimed.map(\.id) == [id])
            try await journal.complete(
                jobID: id,
                attempt: AttemptRecord(at: Date(), duration: 0.05, httpStatus: 404, outcome: "permanent", reason: reason, answer: "{\"detail\":\"nope\"}"),
                transition: .dead(reason: reason))
            dead.append(id)
        }
        _ = try await journal.enqueue(
            event: Event(id: "live", source: "github", rawBody: []),
            jobs: [TriggerJob(rule: "build", target: "prod", dagId: "build_dag", conf: [:], dagRunId: "build__live")])
        return dead
    }

    @Test("list: table, JSON shape, filters, bad times")
    func list() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let ids = try await makeStore(dir)
        let table = try await CLI.run(["dlq", "list", "--store", dir.store])
        #expect(table.status == 0, "\(table.err)")
        #expect(table.out.contains("3 job(s)"))
        #expect(table.out.contains("build__ev-0"))

        let json = try await CLI.run(["dlq", "list", "--store", dir.store, "--json"])
        #expect(json.status == 0)
        let items = try #require(json.json?.arrayValue)
        #expect(items.count == 3)
        let first = try #require(items.first)
        #expect(first["id"] == .int(ids[0]))
        #expect(first["state"] == "dead")
        #expect(first["rule"] == "build")
        #expect(first["target"] == "prod")
        #expect(first["dag_id"] == "build_dag")
        #expect(first["dag_run_id"] == "build__ev-0")
        #expect(first["attempts"] == 1)
        #expect(first["last_status"] == 404)
        #expect(first["reason"]?.stringValue?.contains("not found") == true)
        #expect(first["updated_at"]?.stringValue.flatMap(ISO8601.parse) != nil)

        let byTarget = try await CLI.run(["dlq", "list", "--store", dir.store, "--target", "prod", "--rule", "deploy", "--json"])
        #expect(byTarget.json?.arrayValue?.map { $0["id"] } == [.int(ids[2])])
        let byReason = try await CLI.run(["dlq", "list", "--store", dir.store, "--reason", "422", "--json"])
        #expect(byReason.json?.arrayValue?.count == 1)
        let since = try await CLI.run(["dlq", "list", "--store", dir.store, "--since", "1h", "--json"])
        #expect(since.json?.arrayValue?.count == 3)
        let until = try await CLI.run(["dlq", "list", "--store", dir.store, "--until", "2020-01-01T00:00:00Z", "--json"])
        #expect(until.json?.arrayValue?.count == 0)
        let limited = try await CLI.run(["dlq", "list", "--store", dir.store, "--limit", "2", "--json"])
        #expect(limited.json?.arrayValue?.count == 2)
        let pending = try await CLI.run(["dlq", "list", "--store", dir.store, "--state", "pending", "--json"])
        #expect(pending.json?.arrayValue?.first?["dag_run_id"] == "build__live")

        let bad = try await CLI.run(["dlq", "list", "--store", dir.store, "--since", "yesterday-ish"])
        #expect(bad.status == 2)
        #expect(bad.err.contains("--since: cannot read 'yesterday-ish' as a time; use ISO-8601"))
        let badState = try await CLI.run(["dlq", "list", "--store", dir.store, "--state", "lost"])
        #expect(badState.status == 2)
        let missing = try await CLI.run(["dlq", "list", "--store", dir.path + "/nope.sqlite"])
        #expect(missing.status == 1)
        #expect(missing.err.contains("no store at"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/nope.sqlite"))
    }

    @Test("show: full history as text and JSON; unknown and malformed ids")
    func show() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let ids = try await makeStore(dir)
        let r = try await CLI.run(["dlq", "show", "\(ids[0])", "--store", dir.store, "--json"])
        #expect(r.status == 0, "\(r.err)")
        let j = try #require(r.json)
        #expect(j["job"]?["state"] == "dead")
        #expect(j["request"]?["dag_run_id"] == "build__ev-0")
        #expect(j["request"]?["conf"] == ["n": 0])
        #expect(j["event"]?["id"] == "ev-0")
        #expect(j["event"]?["raw_body"] == "{\"n\":0}")
        #expect(j["event"]?["envelope"]?["headers"]?["x-github-event"] == "push")
        #expect(j["attempts"]?.arrayValue?.count == 1)
        #expect(j["attempts"]?[0]?["http_status"] == 404)
        #expect(j["attempts"]?[0]?["answer"] == "{\"detail\":\"nope\"}")
        #expect(j["audit"]?.arrayValue?.count == 0)

        let text = try await CLI.run(["dlq", "show", "\(ids[0])", "--store", dir.store])
        #expect(text.status == 0)
        #expect(text.out.contains("attempts (1):"))
        #expect(text.out.contains("HTTP 404"))

        let unknown = try await CLI.run(["dlq", "show", "9999", "--store", dir.store])
        #expect(unknown.status == 1)
        #expect(unknown.err.contains("no job 9999"))
        let malformed = try await CLI.run(["dlq", "show", "abc", "--store", dir.store])
        #expect(malformed.status == 2)
        #expect(malformed.err.contains("'abc' is not a job id"))
    }

    @Test("replay: dry run, same run id, new run id, audit in show, usage errors")
    func replay() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let ids = try await makeStore(dir)
        let dry = try await CLI.run(["dlq", "replay", "\(ids[0])", "--store", dir.store, "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.err)")
        #expect(dry.json?[0]?["ok"] == true)
        #expect(dry.json?[0]?["new_run_id"] == "build__ev-0")
        #expect(try await CLI.run(["dlq", "list", "--store", dir.store, "--json"]).json?.arrayValue?.count == 3)

        let r = try await CLI.run(["dlq", "replay", "\(ids[0])", "--store", dir.store, "--by", "tester"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("run id build__ev-0"))
        let shown = try await CLI.run(["dlq", "show", "\(ids[0])", "--store", dir.store, "--json"]).json
        #expect(shown?["job"]?["state"] == "pending")
        #expect(shown?["job"]?["attempts"] == 0)
        #expect(shown?["audit"]?[0]?["by"] == "tester")
        #expect(shown?["audit"]?[0]?["action"] == "replay")
        #expect(shown?["attempts"]?.arrayValue?.count == 1)

        let fresh = try await CLI.run(["dlq", "replay", "--all", "--target", "prod", "--new-run-id", "--rate", "10", "--store", dir.store, "--json"])
        #expect(fresh.status == 0, "\(fresh.err)")
        #expect(fresh.json?.arrayValue?.map { $0["new_run_id"] } == ["deploy__ev-2__r1"])

        let again = try await CLI.run(["dlq", "replay", "\(ids[0])", "9999", "--store", dir.store])
        #expect(again.status == 1)
        #expect(again.out.contains("is pending: only finished jobs"))
        #expect(again.out.contains("no job 9999"))

        #expect(try await CLI.run(["dlq", "replay", "--store", dir.store]).status == 2)
        #expect(try await CLI.run(["dlq", "replay", "1", "--all", "--store", dir.store]).status == 2)
        #expect(try await CLI.run(["dlq", "replay", "1", "--target", "x", "--store", dir.store]).status == 2)
        #expect(try await CLI.run(["dlq", "replay", "--all", "--rate", "0", "--store", dir.store]).status == 2)
        let noRules = try await CLI.run(["dlq", "replay", "--all", "--rerender", "--store", dir.store])
        #expect(noRules.status == 2)
        #expect(noRules.err.contains("--rerender needs the rules to render with: --rules DIR, or --config FILE"), "\(noRules.err)")
        let rerender = try await CLI.run(["dlq", "replay", "--all", "--rerender", "--rules", dir.path, "--store", dir.store])
        // The folder has no rules: nothing renders, every job is reported as skipped.
        #expect(rerender.status == 1)
        #expect((rerender.out + rerender.err).contains("the current rules produce no job"), "\(rerender.out)\(rerender.err)")
    }

    @Test("purge: refuses without --yes, dry run changes nothing, --yes deletes and is audited")
    func purge() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let ids = try await makeStore(dir)
        let refused = try await CLI.run(["dlq", "purge", "\(ids[1])", "--store", dir.store])
        #expect(refused.status == 1)
        #expect(refused.err.contains("refusing to purge 1 job(s) without --yes"))
        let dry = try await CLI.run(["dlq", "purge", "--all", "--target", "dev", "--dry-run", "--store", dir.store])
        #expect(dry.status == 0)
        #expect(dry.out.contains("would purge"))
        #expect(try await CLI.run(["dlq", "show", "\(ids[1])", "--store", dir.store]).status == 0)
        let done = try await CLI.run(["dlq", "purge", "\(ids[1])", "--yes", "--by", "ops", "--store", dir.store, "--json"])
        #expect(done.status == 0, "\(done.err)")
        #expect(done.json?[0]?["message"] == "purged")
        #expect(try await CLI.run(["dlq", "show", "\(ids[1])", "--store", dir.store]).status == 1)
        let journal = try Journal(path: dir.store)
        let log = try await journal.auditLog()
        #expect(log.first?.action == "purge")
        #expect(log.first?.actor == "ops")
        let unknown = try await CLI.run(["dlq", "purge", "4242", "--yes", "--store", dir.store])
        #expect(unknown.status == 1)
    }

    @Test("--config reads store.path; a bad store section is reported with file:line:col")
    func configFile() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        _ = try await makeStore(dir)
        let good = dir.path + "/dagbridge.yaml"
        try "store:\n  path: \(dir.store)\n  durability: normal\n".write(toFile: good, atomically: true, encoding: .utf8)
        let r = try await CLI.run(["dlq", "list", "--config", good, "--json"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.json?.arrayValue?.count == 3)
        // A relative store.path is taken from the config file's folder (as `serve` does), not the working directory.
        let relative = dir.path + "/relative.yaml"
        try "store:\n  path: journal.sqlite\n".write(toFile: relative, atomically: true, encoding: .utf8)
        let rel = try await CLI.run(["dlq", "list", "--config", relative, "--json"])
        #expect(rel.status == 0, "\(rel.err)")
        #expect(rel.json?.arrayValue?.count == 3)
        let bad = dir.path + "/bad.yaml"
        try "store:\n  pathh: \(dir.store)\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let b = try await CLI.run(["dlq", "list", "--config", bad])
        #expect(b.status == 1)
        #expect(b.err.contains("bad.yaml:2:3: error: unknown key 'pathh'; did you mean 'path'?"))
        #expect(try await CLI.run(["dlq", "list", "--config", bad, "--store", dir.store]).status == 2)
    }
}
