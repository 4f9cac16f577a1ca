import BridgeCore
import Foundation
import Testing

@testable import BridgeServer
@testable import BridgeDispatch
@testable import BridgeIntake
@testable import BridgeWebhooks

/// `dagbridge serve` as a real process: a signed webhook is journaled, answered 202 and delivered
/// to a recording target; health, readiness, metrics, the admin token, SIGHUP reload and a
/// graceful SIGTERM. Uses the libcurl client of the test suite's own module for requests.
@Suite("dagbridge serve (real process)", .serialized, .onTestThreads, .timeLimit(.minutes(2)))
struct ServeProcessTests {
    static let token = "0123456789abcdef-admin"

    @Test("DAGBRIDGE_EXECUTOR: NIO's event loops by default, Swift's pool on request (a webhook still journals and delivers), anything else refused with exit 2")
    func executorChoice() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let target = try RecordingTarget(dir: dir.path)
        defer { target.stop() }
        try FileManager.default.createDirectory(atPath: dir.path + "/rules", withIntermediateDirectories: true)
        try """
        rules:
          - name: gh
            source: [github]
            match: { body: { ref: [refs/heads/main] } }
            trigger: { target: stub, dag_id: ci_build }
        """.write(toFile: dir.path + "/rules/r.yaml", atomically: true, encoding: .utf8)
        for (n, executor) in ["", "pool"].enumerated() {
            let port = Int.random(in: 23100...23999)
            try """
            server: { listen: "127.0.0.1:\(port)", shutdown_timeout: 5s }
            logging: { format: json }
            store: { path: var/j\(n).sqlite }
            targets:
              stub: { url: "\(target.url)", api: v2 }
            sources:
              webhooks:
                - name: github
                  verify: { type: github, secret: "gh-secret" }
            """.write(toFile: dir.path + "/dagbridge.yaml", atomically: true, encoding: .utf8)
            let serve = try await ServeProcess.start(dir: dir.path, port: port, env: executor.isEmpty ? [:] : ["DAGBRIDGE_EXECUTOR": executor])
            defer { serve.terminate() }
            #expect(serve.log.contains(#""executor":"\#(executor.isEmpty ? "nio" : "pool")""#), "\(serve.log)")
            let body = #"{"ref":"refs/heads/main"}"#
            let sig = "sha256=" + Hex.encode(hmac(.sha256, key: Array("gh-secret".utf8), Array(body.utf8)))
            let (status, answer) = try curlPost(
                serve.base + "/hooks/github", body: body,
                headers: ["Content-Type": "application/json", "X-GitHub-Delivery": "x-\(n)", "X-Hub-Signature-256": sig])
            #expect(status == 202, "\(answer)")
            #expect(try await waitFor(10) { target.created().contains("gh__x-\(n)") }, "\(target.created())")
        }
        let refused = try await offPool { () throws -> (Int32, String) in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLI.binary)
            p.arguments = ["serve", "--config", dir.path + "/dagbridge.yaml"]
            p.environment = ProcessInfo.processInfo.environment.merging(["DAGBRIDGE_EXECUTOR": "cooperative"]) { $1 }
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        #expect(refused.0 == 2)
        #expect(refused.1.contains("DAGBRIDGE_EXECUTOR must be 'nio' (the default) or 'pool', found 'cooperative'"), "\(refused.1)")
    }

    @Test func webhookToDeliveredRunAndOperations() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let target = try RecordingTarget(dir: dir.path)
        defer { target.stop() }
        let port = Int.random(in: 23100...23999)
        try FileManager.default.createDirectory(atPath: dir.path + "/rules", withIntermediateDirectories: true)
        try """
        rules:
          - name: gh
            source: [github]
            match: { headers: { x-github-event: [push] }, body: { ref: [refs/heads/main] } }
            trigger: { target: stub, dag_id: ci_build, conf: { repo: "{{ body.repository.full_name }}" } }
        """.write(toFile: dir.path + "/rules/r.yaml", atomically: true, encoding: .utf8)
        try """
        server: { listen: "127.0.0.1:\(port)", admin_token: "${env:TEST_ADMIN_TOKEN}", shutdown_timeout: 5s }
        logging: { format: json }
        store: { path: var/j.sqlite }
        rules: { watch: false }
        targets:
          stub: { url: "\(target.url)", api: v2 }
        sources:
          webhooks:
            - name: github
              verify: { type: github, secret: "${env:TEST_GH_SECRET}" }
        """.write(toFile: dir.path + "/dagbridge.yaml", atomically: true, encoding: .utf8)

        let serve = try await ServeProcess.start(
            dir: dir.path, port: port, env: ["TEST_ADMIN_TOKEN": Self.token, "TEST_GH_SECRET": "gh-secret"])
        defer { serve.terminate() }
        let base = serve.base
        let logFile = serve.logFile

        let body = #"{"ref":"refs/heads/main","repository":{"full_name":"acme/p"}}"#
        let sig = "sha256=" + Hex.encode(hmac(.sha256, key: Array("gh-secret".utf8), Array(body.utf8)))
        let headers = ["Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": sig]
        let (status, answer) = try curlPost(base + "/hooks/github", body: body, headers: headers)
        #expect(status == 202, "\(answer)")
        #expect(try JSONParser.parse(answer)["dag_run_ids"] == ["gh__d-1"])
        // The same delivery again: same run id, no second run.
        #expect(try curlPost(base + "/hooks/github", body: body, headers: headers).0 == 202)
        #expect(try await waitFor(10) { target.created() == ["gh__d-1"] }, "\(target.created())")
        try await Task.sleep(for: .milliseconds(500))
        #expect(target.created() == ["gh__d-1"])
        // A bad signature: 401 and nothing more.
        var bad = headers
        bad["X-Hub-Signature-256"] = "sha256=" + String(repeating: "0", count: 64)
        #expect(try curlPost(base + "/hooks/github", body: body, headers: bad).0 == 401)

        #expect(try curl([base + "/readyz"]).0 == 200)
        let metrics = try curl([base + "/metrics"]).1
        #expect(metrics.contains(#"dagbridge_events_received_total{source="github"} 3"#))
        #expect(metrics.contains(#"dagbridge_events_rejected_total{source="github",reason="signature"} 1"#))
        #expect(try curl([base + "/admin/targets"]).0 == 401)
        let (adminStatus, targets) = try curl(["-H", "Authorization: Bearer \(Self.token)", base + "/admin/targets"])
        #expect(adminStatus == 200)
        #expect(targets.contains(#""delivered":1"#))

        // SIGHUP with a broken rule file: rejected, the old set stays. The file watcher is off
        // (`rules.watch: false`), so only the signal can have started this reload.
        try "rules: [ {name: x".write(toFile: dir.path + "/rules/r.yaml", atomically: true, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(2500))
        #expect(try !String(contentsOfFile: logFile, encoding: .utf8).contains("rules reload rejected"), "a reload without SIGHUP")
        kill(serve.process.processIdentifier, SIGHUP)
        #expect(try await waitFor(5) {
            let log = try String(contentsOfFile: logFile, encoding: .utf8)
            return log.contains("SIGHUP: reloading rules") && log.contains("rules reload rejected")
        })
        let (_, rules) = try curl(["-H", "Authorization: Bearer \(Self.token)", base + "/admin/rules"])
        #expect(rules.contains(#""name":"gh""#))

        // Graceful shutdown: exit 0.
        #expect(serve.terminate() == 0)
        let log = try String(contentsOfFile: logFile, encoding: .utf8)
        #expect(log.contains(#""msg":"accepted""#) && log.contains(#""dag_run_id":"gh__d-1""#))
        #expect(!log.contains("gh-secret") && !log.contains(Self.token))
    }
}
