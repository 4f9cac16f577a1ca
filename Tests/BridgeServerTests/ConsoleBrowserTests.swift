import BridgeCore
import Foundation
import Testing

/// The operations console in Debian's headless Chromium (Playwright from PyPI, axe-core from
/// axe-playwright-python) against a real `dagbridge serve` whose SQLite journal holds live and
/// dead jobs, and the recording target: log in, filter the dead letters, dry-run then replay a
/// selection (the runs must appear at the target), read a job's attempts, a hostile body renders
/// inert, a post without the CSRF token is refused, a viewer cannot replay; axe on every page.
/// The script writes the README's screenshots to `.build/console-screenshots/`.
@Suite(
    "console in a real browser (serve + headless Chromium)", .serialized, .onTestThreads, .timeLimit(.minutes(5)),
    .enabled(if: ConsoleBrowser.testRuns, ConsoleBrowser.skipReason))
struct ConsoleBrowserTests {
    static let adminToken = "console-admin-token-0123456789"
    static let viewerToken = "console-viewer-token-0123456789"

    func writeRules(_ dir: String, lateDAG: String) throws {
        try """
        rules:
          - name: late
            match: { body: { kind: [late] } }
            trigger: { target: stub, dag_id: \(lateDAG), conf: { kind: "{{ body.kind }}" } }
          - name: ok
            match: { body: { kind: [ok] } }
            trigger: { target: stub, dag_id: real_dag }
          - name: never
            match: { body: { kind: [never] } }
            trigger: { target: stub, dag_id: missing_forever }
          - name: hostile
            match: { body: { kind: [hostile] } }
            trigger: { target: stub, dag_id: missing_hostile, conf: { note: "{{ body.note }}" } }
        """.write(toFile: dir + "/rules/r.yaml", atomically: true, encoding: .utf8)
    }

    @Test func operatorsWorkTheDeadLettersInABrowser() async throws {
        try #require(ConsoleBrowser.installed, "CI=true and the browser kit cannot be installed: \(ConsoleBrowser.installLog)")
        let dir = try TempDir()
        defer { dir.cleanup() }
        let target = try RecordingTarget(dir: dir.path)
        defer { target.stop() }
        try FileManager.default.createDirectory(atPath: dir.path + "/rules", withIntermediateDirectories: true)
        try writeRules(dir.path, lateDAG: "missing_dag")
        let port = freePort(24000..<24999)
        try """
        server:
          listen: "127.0.0.1:\(port)"
          admin_token: "${env:TEST_ADMIN_TOKEN}"
          viewer_tokens: ["${env:TEST_VIEWER_TOKEN}"]
          shutdown_timeout: 5s
        store: { path: var/j.sqlite }
        targets:
          stub: { url: "\(target.url)", api: v2, max_in_flight: 2 }
        sources:
          webhooks:
            - name: hooks
              verify: { type: bearer, tokens: ["${env:TEST_HOOK_TOKEN}"] }
        """.write(toFile: dir.path + "/dagbridge.yaml", atomically: true, encoding: .utf8)
        let serve = try await ServeProcess.start(
            dir: dir.path, port: port,
            env: ["TEST_ADMIN_TOKEN": Self.adminToken, "TEST_VIEWER_TOKEN": Self.viewerToken, "TEST_HOOK_TOKEN": "hook-token-0123456789"])
        defer { serve.terminate() }
        let base = serve.base
        func send(_ id: String, _ body: String) throws -> Int {
            try curlPost(
                base + "/hooks/hooks", body: body,
                headers: ["Authorization": "Bearer hook-token-0123456789", "Content-Type": "application/json", "X-Request-Id": id]
            ).0
        }
        // Five dead letters to a DAG the target lacks, one to purge, one hostile; three live runs delivered.
        for i in 1...5 { #expect(try send("ev-\(i)", #"{"id":"ev-\#(i)","kind":"late"}"#) == 202) }
        for i in 1...3 { #expect(try send("ok-\(i)", #"{"id":"ok-\#(i)","kind":"ok"}"#) == 202) }
        #expect(try send("ev-never", #"{"id":"ev-never","kind":"never"}"#) == 202)
        let hostile = #"{"id":"ev-hostile","kind":"hostile","note":"<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned=2\">"}"#
        #expect(try send("ev-hostile", hostile) == 202)
        #expect(
            try await waitFor(30) { try adminCall(Self.adminToken, "GET", base + "/admin/dlq").1?["jobs"]?.arrayValue?.count == 7 },
            "\(serve.log)")
        #expect(try await waitFor(20) { target.created().count == 3 })
        // The fix: the late rule now names a DAG the target has, so a re-rendered replay lands.
        try writeRules(dir.path, lateDAG: "real_dag")
        #expect(try adminCall(Self.adminToken, "POST", base + "/admin/rules/reload").0 == 200)

        let shots = packageRoot + "/.build/console-screenshots"
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let run = try await offPool {
            try runCommand(
                [ConsoleBrowser.script, "run", "--base", base, "--admin-token", Self.adminToken, "--viewer-token", Self.viewerToken,
                 "--screenshots", shots, "--late", "5"], timeout: 240)
        }
        try #require(run.status == 0, "browser test failed:\n\(run.err)\n\(run.out)\nserve log:\n\(serve.log.suffix(4000))")
        let summary = try #require(try? JSONParser.parse(String(run.out.split(separator: "\n").last ?? "")), "no summary: \(run.out)")
        let replayed = (summary["replayed"]?.arrayValue ?? []).compactMap { v -> Int64? in if case .int(let n) = v { n } else { nil } }
        #expect(replayed.count == 2)
        #expect(summary["pages_checked"]?.arrayValue?.count ?? 0 >= 12, "\(run.out)")
        // The replayed runs appear at the recording target, under their original run ids.
        var runIDs: [String] = []
        for id in replayed {
            let job = try adminCall(Self.adminToken, "GET", base + "/admin/jobs/\(id)").1
            runIDs.append(try #require(job?["job"]?["dag_run_id"]?.stringValue))
        }
        #expect(try await waitFor(20) { Set(runIDs).isSubset(of: Set(target.created())) }, "\(runIDs) vs \(target.created())")
        #expect(runIDs.allSatisfy { $0.hasPrefix("late__ev-") })
        // Nothing else changed: three late jobs and the never and hostile jobs are still dead (the purge was only previewed).
        #expect(try adminCall(Self.adminToken, "GET", base + "/admin/dlq").1?["jobs"]?.arrayValue?.count == 5)
        // The audit log names the console as the actor.
        let detail = try adminCall(Self.adminToken, "GET", base + "/admin/jobs/\(replayed[0])").1
        #expect(detail?["audit"]?[0]?["by"] == "console:admin", "\(String(describing: detail))")
        for name in ["console-overview.png", "console-dead-letters.png"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: shots + "/" + name)[.size] as? Int) ?? 0
            #expect(size > 10_000, "\(name): \(size) bytes")
        }
        // Secrets never reach the log.
        #expect(!serve.log.contains(Self.adminToken) && !serve.log.contains(Self.viewerToken))
        #expect(serve.terminate() == 0)
    }
}

/// `scripts/console-browser.sh`: Debian's chromium and a cached venv with Playwright and axe-playwright-python.
enum ConsoleBrowser {
    static let script = packageRoot + "/scripts/console-browser.sh"
    private static let install: (ok: Bool, log: String) = {
        guard let r = try? runCommand([script, "install"], timeout: 600) else { return (false, "cannot run \(script)") }
        return (r.status == 0, r.out + r.err)
    }()
    /// Whether chromium and the venv are there or could be installed now (blocks the first time).
    static var installed: Bool { install.ok }
    static var installLog: String { install.log }
    /// Installed, or `CI=true`, where a missing browser must fail the test rather than skip it.
    static var testRuns: Bool { installed || ProcessInfo.processInfo.environment["CI"] == "true" }
    static let skipReason: Comment = "headless Chromium or Playwright cannot be installed here (scripts/console-browser.sh install)"
}
