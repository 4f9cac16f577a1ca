import BridgeCore
import Foundation
import Testing

/// Real Apache Airflow from PyPI, started by `scripts/airflow-testbed.sh` on 127.0.0.1.
///
/// The integration suites start and stop their own instance (first run: ~30 s per version to build the cached venv
/// under `$DAGBRIDGE_CACHE` or /tmp/dagbridge-testbed). Set `DAGBRIDGE_AIRFLOW_TESTS=0` to skip them (reported as
/// skipped); `DAGBRIDGE_AIRFLOW_PORT_BASE` moves the ports (default 21080 for 3.x, +1 for 2.x; 1.10 takes a port the
/// kernel picks).
struct AirflowTestbed: Sendable {
    static let enabled = ProcessInfo.processInfo.environment["DAGBRIDGE_AIRFLOW_TESTS"] != "0"
    static let skipMessage: Comment = "real-Airflow tests disabled by DAGBRIDGE_AIRFLOW_TESTS=0"
    static let portBase = Int(ProcessInfo.processInfo.environment["DAGBRIDGE_AIRFLOW_PORT_BASE"] ?? "") ?? 21080
    static let script = repositoryRoot.appendingPathComponent("scripts/airflow-testbed.sh").path

    /// Airflow 1.10, the version the experimental API's own documentation describes.
    static let airflow1Version = "1.10.15"

    /// The Python 3.8 that Airflow 1.10 runs on, as `airflow-testbed.sh python 1.10.15` finds it (the machine's,
    /// e.g. pyenv's; never from a registry), or the script's reason why there is none.
    static let airflow1Python: (path: String?, reason: String) = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script, "python", airflow1Version]
        let out = Pipe()
        let err = Pipe()
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return (nil, "cannot run \(script): \(error)") }
        let path = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingSpaces
        let reason = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingSpaces
        p.waitUntilExit()
        return p.terminationStatus == 0 && !path.isEmpty ? (path, "") : (nil, reason.isEmpty ? "no Python 3.8 for Airflow 1.10" : reason)
    }()

    /// Whether the Airflow 1.10 test runs: its Python is here, or `CI=true` (where a missing one must fail, not skip).
    static var airflow1Runs: Bool { airflow1Python.path != nil || ProcessInfo.processInfo.environment["CI"] == "true" }
    static var airflow1SkipReason: Comment { Comment(rawValue: airflow1Python.reason) }

    /// A port on 127.0.0.1 that the kernel hands out now (bound, read back, closed again for the script to use).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw TestFailure("bind to 127.0.0.1:0 failed: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    let version: String
    let port: Int
    let url: String

    /// The run directory the script uses for this port (its env.sh holds the JWT secret on 3.x).
    var home: String {
        let cache = ProcessInfo.processInfo.environment["DAGBRIDGE_CACHE"] ?? "/tmp/dagbridge-testbed"
        return "\(cache)/airflow/run-\(port)/home"
    }

    /// Starts Airflow `version` on `port`; `env` adds settings for the script (EXPERIMENTAL_API, JWT_EXPIRATION).
    static func start(version: String, port: Int, env: [String: String] = [:]) async throws -> AirflowTestbed {
        let out = try await runScript(["start", version, String(port)], env: env, timeout: 600)
        guard let line = out.split(separator: "\n").last(where: { $0.hasPrefix("READY ") }) else {
            throw TestFailure("airflow-testbed.sh printed no READY line:\n\(out)")
        }
        return AirflowTestbed(version: version, port: port, url: String(line.dropFirst(6)))
    }

    func stop() async {
        _ = try? await Self.runScript(["stop", String(port)], env: [:], timeout: 60)
    }

    /// Stops the instance and removes its run folder: on a port the kernel picked, nothing reuses it.
    func discard() async {
        await stop()
        try? FileManager.default.removeItem(atPath: (home as NSString).deletingLastPathComponent)
    }

    /// The runs of `dagId` as Airflow's own `DagRun` model holds them (`run_id`, `conf`, `state`, `external_trigger`),
    /// read with the instance's Python and settings: Airflow 1.10's experimental API lists runs without their conf.
    func dagRuns(dagId: String) throws -> [JSONValue] {
        let code = """
            import json, sys
            from airflow.models import DagRun
            runs = DagRun.find(dag_id=sys.argv[1])
            print("RUNS " + json.dumps([{"run_id": r.run_id, "conf": r.conf, "state": r.state, "external_trigger": r.external_trigger} for r in runs]))
            """
        let out = try run(["bash", "-c", #". "$0/env.sh" && exec python -c "$1" "$2""#, home, code, dagId])
        guard let line = out.split(separator: "\n").last(where: { $0.hasPrefix("RUNS ") }),
            case .array(let runs) = try JSONParser.parse(String(line.dropFirst(5)))
        else { throw TestFailure("no run list from Airflow's DagRun model:\n\(out.suffix(2000))") }
        return runs
    }

    /// A value from the instance's env.sh (`AIRFLOW__API_AUTH__JWT_SECRET`).
    func setting(_ name: String) throws -> String {
        let text = try String(contentsOfFile: home + "/env.sh", encoding: .utf8)
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) where word.hasPrefix(name + "=") {
            return String(word.dropFirst(name.count + 1))
        }
        throw TestFailure("\(name) not in \(home)/env.sh")
    }

    /// Runs the script without blocking a cooperative thread; output goes to a file, read at the end.
    ///
    /// Completion is read from a status file, not from `Process`: Foundation on Linux notices a child's exit
    /// only when every holder of its internal descriptor closes it, and the Airflow daemons inherit it.
    static func runScript(_ args: [String], env: [String: String], timeout: Double) async throws -> String {
        let dir = try TempDir()
        let outPath = dir.path("out.log")
        let statusPath = dir.path("status")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "\"$0\" \"$@\" >\"$OUT\" 2>&1 </dev/null; echo $? >\"$STATUS.tmp\"; mv \"$STATUS.tmp\" \"$STATUS\"", script] + args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }.merging(["OUT": outPath, "STATUS": statusPath]) { $1 }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = ContinuousClock.now + .seconds(timeout)
        var status: Int32?
        while status == nil {
            if let s = try? String(contentsOfFile: statusPath, encoding: .utf8) { status = Int32(s.trimmingSpaces) ?? -1 }
            if status == nil {
                guard ContinuousClock.now < deadline else { throw TestFailure("airflow-testbed.sh \(args.joined(separator: " ")) did not finish within \(Int(timeout)) s") }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        guard status == 0 else { throw TestFailure("airflow-testbed.sh \(args.joined(separator: " ")) failed (\(status!)):\n\(text.suffix(3000))") }
        return text
    }
}
