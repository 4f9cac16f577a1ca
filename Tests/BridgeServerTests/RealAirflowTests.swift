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

/// Runs `scripts/airflow-testbed.sh` (real Apache Airflow 3 from PyPI, cached venv; the first run
/// installs it, 20–30 s) on a port from this suite's range.
struct AirflowTestbed {
    static let script = packageRoot + "/scripts/airflow-testbed.sh"
    static let version = "3.3.2"
    let port: Int
    let version: String
    let url: String

    /// Runs the script with posix_spawn and waits for it. Not `Process`: Foundation hands the child a
    /// descriptor it watches for the child's exit, and the Airflow daemons the script starts inherit it,
    /// so `waitUntilExit()` would wait for Airflow to stop. Signals are unblocked in the child so
    /// `stop` can TERM the daemons.
    static func shell(_ args: [String]) throws -> (Int32, String) {
        let output = NSTemporaryDirectory() + "airflow-testbed-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let argv = ["/bin/bash", script] + args
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/bash", &actions, &attr, &cargs, environ)
        guard rc == 0 else { throw BridgeError(.io, "cannot run \(script): error \(rc)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, text)
    }

    private init(port: Int, version: String, url: String) {
        self.port = port
        self.version = version
        self.url = url
    }

    /// Starts Airflow `version` on `port` (about a minute; waited for off the cooperative pool).
    static func start(port: Int, version: String = Self.version) async throws -> AirflowTestbed {
        AirflowTestbed(port: port, version: version, url: try await run("start", version, port))
    }

    /// Starts (or with `restart`, starts again keeping the DB, DAGs and JWT secret); the base URL.
    private static func run(_ command: String, _ version: String, _ port: Int) async throws -> String {
        let (status, out) = try await offPool { try Self.shell([command, version, "\(port)"]) }
        guard status == 0, let line = out.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }) else {
            throw BridgeError(.unavailable, "Airflow testbed did not start (exit \(status)): \(out)")
        }
        return String(line.dropFirst(6))
    }

    /// Starts Airflow again after ``stop()`` with its state (runs, DAGs, secrets) kept.
    func restart() async throws { _ = try await Self.run("restart", version, port) }

    /// The testbed's DAG folder (see the script: `$DAGBRIDGE_CACHE/airflow/run-PORT/home/dags`).
    var dagsFolder: String {
        let base = ProcessInfo.processInfo.environment["DAGBRIDGE_CACHE"] ?? "/tmp/dagbridge-testbed"
        return base + "/airflow/run-\(port)/home/dags"
    }

    func stop() { _ = try? Self.shell(["stop", "\(port)"]) }
}

@Suite(
    "Real Airflow 3: dead job, DAG added, dlq replay delivers, replay again is duplicate", .serialized, .onTestThreads,
    .enabled(if: FileManager.default.fileExists(atPath: AirflowTestbed.script), "needs scripts/airflow-testbed.sh"))
struct RealAirflowTests {
    @Test(.timeLimit(.minutes(10)))
    func replayAfterTheDAGIsAdded() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let airflow = try await AirflowTestbed.start(port: 22080)
        defer { airflow.stop() }
        let dagID = "dagbridge_replay_\(UInt32.random(in: 0...UInt32.max))"
        let runID = "replay__" + UUID().uuidString.lowercased()
        let http = try HTTPClient()
        let config = TargetConfig(
            name: "af", url: airflow.url, api: .v2,
            auth: .airflowPassword(username: "admin", password: Secret("admin"), tokenURL: nil), timeout: 30)
        let client = try AirflowClient(config: config, transport: http)
        let journal = try Journal(path: dir.store)
        let id = try await journal.enqueue(
            event: Event(id: "evt-1", source: "test", rawBody: Array("{\"k\":1}".utf8)),
            jobs: [TriggerJob(rule: "replay", target: "af", dagId: dagID, conf: ["k": 1], dagRunId: runID)])[0]
        let dispatcher = Dispatcher(
            journal: journal, targets: [DispatchTarget(name: "af", client: client, policy: DispatchPolicy(retry: RetryPolicy(maxAttempts: 5, initialBackoff: 0.2, maxBackoff: 1), maxInFlight: 1))],
            options: Dispatcher.Options(idlePoll: .milliseconds(200)))
        let d = RunningDispatcher(dispatcher)

        // 1. The DAG does not exist: dead at once, with the reason.
        #expect(try await eventually(timeout: 60) { try await journal.job(id: id)?.state == .dead })
        let dead = try #require(try await journal.job(id: id))
        #expect(dead.lastStatus == 404)
        #expect(dead.lastReason?.contains("DAG '\(dagID)' not found") == true, "\(dead.lastReason ?? "")")

        // 2. The DAG is added; wait until Airflow has parsed it.
        try """
            from datetime import datetime
            from airflow.sdk import DAG
            from airflow.providers.standard.operators.empty import EmptyOperator
            with DAG(dag_id="\(dagID)", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
                EmptyOperator(task_id="noop")
            """.write(toFile: airflow.dagsFolder + "/\(dagID).py", atomically: true, encoding: .utf8)
        #expect(await eventually(timeout: 120) { await client.getDAG(dagID).json != nil })

        // 3. dlq replay delivers it, with the same run id.
        let replay = try await CLI.run(["dlq", "replay", "\(id)", "--store", dir.store, "--by", "test"])
        #expect(replay.status == 0, "\(replay.out)\(replay.err)")
        #expect(try await eventually(timeout: 60) { try await journal.job(id: id)?.state == .delivered })
        #expect(await client.getRun(dagId: dagID, runId: runID).json?["dag_run_id"] == .string(runID))

        // 4. Replaying again sends the same run id: Airflow answers 409, the job ends duplicate.
        let again = try await CLI.run(["dlq", "replay", "\(id)", "--store", dir.store, "--by", "test"])
        #expect(again.status == 0, "\(again.out)\(again.err)")
        #expect(try await eventually(timeout: 60) { try await journal.job(id: id)?.state == .duplicate })
        try await d.stop()
        await http.shutdownAndWait()

        let attempts = try await journal.attempts(jobID: id)
        #expect(attempts.map(\.outcome) == ["permanent", "delivered", "duplicate"])
        #expect(attempts.map(\.httpStatus) == [404, 200, 409])
        #expect(try await journal.audit(jobID: id).count == 2)
    }
}
