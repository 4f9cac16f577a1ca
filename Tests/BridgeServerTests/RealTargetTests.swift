import BridgeAirflow
import BridgeCore
import BridgeHTTP
import BridgeServer
import BridgeDispatch
import BridgeIntake
import BridgeWebhooks
import BridgeStore
import Foundation
import Testing

/// The dispatcher with the real Airflow client over libcurl, against `scripts/recording-target.py`.
@Suite("Delivery over real HTTP to a recording target", .serialized, .onTestThreads)
struct RealTargetTests {
    func targets(url: String, http: HTTPClient, timeout: Double, maxInFlight: Int, retry: RetryPolicy) throws -> [DispatchTarget] {
        let config = TargetConfig(name: "prod", url: url, api: .v2, timeout: timeout)
        return DispatchTarget.all(
            clients: try AirflowTargets(["prod": config], client: http).clients,
            policies: ["prod": DispatchPolicy(retry: retry, maxInFlight: maxInFlight)])
    }

    @Test("under 500s, timeouts and connection resets every job ends delivered or dead and no run id is created twice")
    func randomFailures() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let server = try RecordingTarget(
            dir: dir.path, options: ["--fail-rate", "0.15", "--reset-rate", "0.1", "--slow-rate", "0.05", "--slow-seconds", "1.2", "--seed", "7"])
        defer { server.stop() }
        let http = try HTTPClient()
        let journal = try Journal(path: dir.store)
        let retry = RetryPolicy(maxAttempts: 40, initialBackoff: 0.01, maxBackoff: 0.1, breakerThreshold: 0)
        let dispatcher = Dispatcher(
            journal: journal, targets: try targets(url: server.url, http: http, timeout: 0.5, maxInFlight: 8, retry: retry))
        let d = RunningDispatcher(dispatcher)
        let ids = try await enqueueJobs(journal, count: 400)
        #expect(try await eventually(timeout: 90) { try await terminalCount(journal) == 400 })
        try await d.stop()
        await http.shutdownAndWait()

        let created = server.created()
        #expect(created.count == Set(created).count, "a run id was created twice")
        let c = try await journal.counts()
        #expect(c.delivered + c.duplicate + c.dead == 400)
        #expect(c.dead == 0)
        #expect(Set(created) == Set((0..<400).map { "r__e-\($0)" }))
        // The failure kinds really happened and were classified as retries.
        var outcomes: [String: Int] = [:]
        for id in ids {
            for a in try await journal.attempts(jobID: id) { outcomes[a.outcome, default: 0] += 1 }
        }
        #expect(outcomes["retry", default: 0] > 40)
        #expect(c.duplicate > 0, "some runs were created by an attempt whose answer was lost")
    }

    @Test("outage longer than the breaker threshold: jobs wait and are all delivered when the target is back")
    func outage() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let server = try RecordingTarget(dir: dir.path)
        defer { server.stop() }
        server.toggleDown()
        let http = try HTTPClient()
        let journal = try Journal(path: dir.store)
        let retry = RetryPolicy(maxAttempts: 5, initialBackoff: 0.02, maxBackoff: 0.1, breakerThreshold: 3, breakerCooldown: 0.3)
        let dispatcher = Dispatcher(
            journal: journal, targets: try targets(url: server.url, http: http, timeout: 2, maxInFlight: 4, retry: retry))
        let d = RunningDispatcher(dispatcher)
        _ = try await enqueueJobs(journal, count: 60)
        #expect(await eventually(timeout: 30) { dispatcher.breakerState(target: "prod") == .open })
        try await Task.sleep(for: .seconds(3))  // ten cool-downs; 5 attempts each would otherwise be long gone
        #expect(try await journal.counts().dead == 0)
        server.toggleDown()
        #expect(try await eventually(timeout: 90) { try await journal.counts().delivered == 60 })
        try await d.stop()
        await http.shutdownAndWait()
        let jobs = try await journal.jobs(matching: JobFilter(state: .delivered))
        #expect(jobs.allSatisfy { $0.attempts < retry.maxAttempts })
        #expect(server.created().count == 60)
    }

    @Test("crash test: kill -9 the dispatcher process at random moments; every job is created exactly once", .timeLimit(.minutes(5)))
    func crash() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        // 50 ms per call and 16 in flight: at most 320 runs/s. The kills below are planned within the first
        // 1,800 jobs, so 5,000 leave 3,200 (10 s) of headroom for a kill that a starved test process
        // (a full parallel run) delivers late.
        let server = try RecordingTarget(
            dir: dir.path, options: ["--fail-rate", "0.03", "--reset-rate", "0.02", "--seed", "11", "--delay", "0.05"])
        defer { server.stop() }
        let total = 5000
        do {
            let journal = try Journal(path: dir.store)
            _ = try await enqueueJobs(journal, count: total)
        }
        let config = dir.path + "/dagbridge.yaml"
        try """
            store:
              path: \(dir.store)
            targets:
              prod:
                url: \(server.url)
                timeout: 2s
                max_in_flight: 16
                concurrency: fixed   # 5 % random failures would keep an adaptive limit low; this test is about kills
                retry:
                  max_attempts: 100
                  initial_backoff: 10ms
                  max_backoff: 200ms
                  breaker_threshold: 0
            """.write(toFile: config, atomically: true, encoding: .utf8)

        func launch() throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLI.binary)
            p.arguments = ["dispatch", "--config", config, "--idle-poll", "0.2"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            return p
        }
        // Each kill lands once the dispatcher has finished a random number of further jobs (not after a
        // fixed sleep, which a loaded machine can stretch past the whole run), so it always hits delivery.
        var rng = SeededRandom(seed: 2026)
        var kills = 0
        var partial = 0
        var before = 0
        for _ in 0..<6 {
            let p = try launch()
            let goal = before + Int.random(in: 100...300, using: &rng)
            let watcher = try Journal(path: dir.store)
            _ = try await eventually(timeout: 60) { try await terminalCount(watcher) >= goal }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            #expect(p.terminationReason == .uncaughtSignal)
            kills += 1
            let done = try await terminalCount(watcher)
            if done > before && done < total { partial += 1 }
            if done == total { break }
            before = done
        }
        #expect(kills == 6)
        #expect(partial == 6, "every kill landed while jobs were being delivered")
        let last = try launch()
        try await Task.sleep(for: .seconds(1))  // let it install its signal handlers before the SIGTERM below
        let journal = try Journal(path: dir.store)
        #expect(try await eventually(timeout: 180) { try await terminalCount(journal) == total })
        kill(last.processIdentifier, SIGTERM)
        last.waitUntilExit()
        #expect(last.terminationStatus == 0)

        let c = try await journal.counts()
        #expect(c.delivered + c.duplicate == total)
        #expect(c.dead == 0)
        #expect(c.inFlight == 0)
        let created = server.created()
        #expect(created.count == total)
        #expect(Set(created).count == total, "a run id was created twice")
        #expect(Set(created) == Set((0..<total).map { "r__e-\($0)" }))
    }
}
