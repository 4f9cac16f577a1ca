import BridgeCore
import Foundation
import Testing

/// `dagbridge trigger` and `dagbridge targets check`, run as the built binary against the local fake Airflow.
@Suite("CLI trigger and targets check", .serialized)
struct CLITests {
    /// The `dagbridge` executable next to the test bundle (both are built by `swift build` / `swift test`).
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dagbridge").path
    }

    func dagbridge(_ args: [String], env: [String: String] = [:]) async throws -> (status: Int32, out: String, err: String) {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else { throw TestFailure("\(Self.binary) missing: run swift build first") }
        let dir = try TempDir()
        let outPath = dir.path("out"), errPath = dir.path("err")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let status: Int32 = try await withCheckedThrowingContinuation { c in
            p.terminationHandler = { c.resume(returning: $0.terminationStatus) }
            do { try p.run() } catch { c.resume(throwing: error) }
        }
        return (status, try String(contentsOfFile: outPath, encoding: .utf8), try String(contentsOfFile: errPath, encoding: .utf8))
    }

    func config(_ server: FakeServer) throws -> (TempDir, String) {
        let dir = try TempDir()
        let path = try dir.write("dagbridge.yaml", """
            server: {port: 8080}
            targets:
              local:
                url: \(server.base)
                api: v2
                auth: {type: bearer, token: "${env:CLI_TEST_TOKEN}"}
                timeout: 5s
              down:
                url: http://127.0.0.1:9
                timeout: 2s
                connect_timeout: 1s
            """)
        return (dir, path)
    }

    @Test func triggerOutcomesAndExitCodes() async throws {
        let server = try await FakeServer.start()
        let (dir, path) = try config(server)
        defer { _ = dir }
        let env = ["CLI_TEST_TOKEN": "cli-secret"]
        let ok = try await dagbridge(["trigger", "--config", path, "--target", "local", "--dag", "ok", "--conf", #"{"a": 1}"#, "--run-id", "cli-1"], env: env)
        #expect(ok.status == 0, "\(ok)")
        #expect(ok.out.contains("outcome: delivered") && ok.out.contains("\"dag_run_id\": \"cli-1\""), "\(ok.out)")
        let dup = try await dagbridge(["trigger", "--config", path, "--target", "local", "--dag", "ok", "--conf", #"{"a": 1}"#, "--run-id", "cli-1"], env: env)
        #expect(dup.status == 0 && dup.out.contains("outcome: duplicate") && dup.out.contains("with the same conf (looked up)"), "\(dup)")
        // The run id again with another conf: not ours, so not "done".
        let clash = try await dagbridge(["trigger", "--config", path, "--target", "local", "--dag", "ok", "--run-id", "cli-1"], env: env)
        #expect(clash.status == 1 && clash.out.contains("with a different conf (looked up)"), "\(clash)")
        let missing = try await dagbridge(["trigger", "--config", path, "--target", "local", "--dag", "s404"], env: env)
        #expect(missing.status == 1 && missing.out.contains("reason:  DAG 's404' not found on target 'local' (404)"), "\(missing)")
        #expect(!missing.out.contains("cli-secret") && !missing.err.contains("cli-secret"))
        let typo = try await dagbridge(["trigger", "--config", path, "--target", "locl", "--dag", "ok"], env: env)
        #expect(typo.status == 2 && typo.err.contains("no target 'locl'") && typo.err.contains("did you mean 'local'?"), "\(typo)")
        let badConf = try await dagbridge(["trigger", "--config", path, "--target", "local", "--dag", "ok", "--conf", "{nope"], env: env)
        #expect(badConf.status == 2 && badConf.err.contains("--conf is not valid JSON"), "\(badConf)")
        let badRun = try await dagbridge(["trigger", "--config", path, "--target", "local", "--dag", "ok", "--run-id", "a/b"], env: env)
        #expect(badRun.status == 2 && badRun.err.contains("--run-id 'a/b' uses characters Airflow refuses"), "\(badRun)")
        // Without the variable: the config error with its position, exit 1.
        if ProcessInfo.processInfo.environment["CLI_TEST_TOKEN"] == nil {
            let noEnv = try await dagbridge(["trigger", "--config", path, "--target", "local", "--dag", "ok"])
            #expect(noEnv.status == 1 && noEnv.err.contains("dagbridge.yaml:6:") && noEnv.err.contains("CLI_TEST_TOKEN is not set"), "\(noEnv)")
        }
    }

    @Test func targetsCheckTable() async throws {
        let server = try await FakeServer.start()
        let (dir, path) = try config(server)
        defer { _ = dir }
        let env = ["CLI_TEST_TOKEN": "cli-secret"]
        let good = try await dagbridge(["targets", "check", "--config", path, "--target", "local", "--dag", "ok"], env: env)
        #expect(good.status == 0, "\(good)")
        #expect(good.out.contains("local   reachable + auth  ok"), "\(good.out)")
        #expect(good.out.contains("local   DAG ok            ok      exists, not paused"), "\(good.out)")
        let bad = try await dagbridge(["targets", "check", "--config", path, "--dag", "paused", "--dag", "missing"], env: env)
        #expect(bad.status == 1, "\(bad)")
        #expect(bad.out.contains("down    reachable + auth  FAIL    cannot reach target 'down'"), "\(bad.out)")
        #expect(bad.out.contains("DAG paused        FAIL    paused"), "\(bad.out)")
        #expect(bad.out.contains("DAG missing       FAIL    not found on this target"), "\(bad.out)")
        #expect(bad.out.contains("3 problems found"), "\(bad.out)")
    }

    @Test func targetsCheckTakesTheDAGsTheRulesTrigger() async throws {
        let server = try await FakeServer.start()
        let (dir, path) = try config(server)
        defer { _ = dir }
        let rules = (path as NSString).deletingLastPathComponent + "/rules"
        try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true)
        try """
        rules:
          - name: a
            trigger: { target: local, dag_id: ok }
          - name: b
            trigger: { target: local, dag_id: paused }
          - name: c
            trigger: { target: local, dag_id: "x_{{ body.kind | slug }}" }
        """.write(toFile: rules + "/r.yaml", atomically: true, encoding: .utf8)
        let r = try await dagbridge(
            ["targets", "check", "--config", path, "--target", "local", "--rules", rules], env: ["CLI_TEST_TOKEN": "cli-secret"])
        #expect(r.status == 1, "\(r)")
        #expect(r.out.contains("DAG ok"), "\(r.out)")
        #expect(r.out.contains("DAG paused        FAIL    paused"), "\(r.out)")
        #expect(r.out.contains("rule c") && r.out.contains("dag_id is a template"), "\(r.out)")
    }
}
