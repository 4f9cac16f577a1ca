import BridgeCore
import Foundation

/// curl(1) as an independent HTTP client; returns the status and the body.
func curl(_ args: [String], timeout: Int = 5) throws -> (Int, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["curl", "-s", "-m", "\(timeout)", "-w", "\n%{http_code}"] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
}

/// A POST with curl(1).
func curlPost(_ url: String, body: String, headers: [String: String]) throws -> (Int, String) {
    try curl(["-X", "POST", url, "--data-binary", body] + headers.flatMap { ["-H", "\($0.key): \($0.value)"] })
}

/// Polls `check` every 100 ms for up to `seconds`, sleeping with `Task.sleep`: a test that waits
/// minutes for Airflow must not hold one of the (on this machine two) cooperative threads that
/// every other test, and the code under test, need.
func waitFor(_ seconds: Double, _ check: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await check() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await check()
}

/// Like ``waitFor(_:_:)`` but blocking, for the short waits of synchronous set-up code.
func waitUntil(_ seconds: Double, _ check: () throws -> Bool) throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try check() { return true }
        Thread.sleep(forTimeInterval: 0.1)
    }
    return try check()
}

/// Runs blocking work (a child process that runs for a minute) on a thread of its own, off the
/// cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
        Thread { cont.resume(with: Result { try body() }) }.start()
    }
}

/// `dagbridge serve --config DIR/dagbridge.yaml` as a child process; its log goes to DIR/serve.log.
final class ServeProcess: @unchecked Sendable {  // immutable after init; the process is only signalled
    let process: SpawnedProcess
    let port: Int
    let logFile: String
    /// `http://127.0.0.1:PORT`, or `https://` when started with a CA to trust.
    let base: String

    /// Starts the binary and waits until `/healthz` answers (over HTTPS trusting `caFile` when one is
    /// given: the config's `server.tls` is on).
    init(dir: String, port: Int, env: [String: String], caFile: String? = nil) throws {
        self.port = port
        base = "\(caFile == nil ? "http" : "https")://127.0.0.1:\(port)"
        logFile = dir + "/serve-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        process = try SpawnedProcess(
            [CLI.binary, "serve", "--config", dir + "/dagbridge.yaml"], environment: ProcessInfo.processInfo.environment.merging(env) { $1 },
            stderrFile: logFile)
        let base = self.base
        let process = self.process
        let trust = caFile.map { ["--cacert", $0] } ?? []
        guard try waitUntil(15, { try !process.isRunning || curl(trust + [base + "/healthz"]).0 == 200 }), process.isRunning else {
            process.terminate()
            throw BridgeError(.unavailable, "dagbridge serve did not start: \(log)")
        }
    }

    /// ``init(dir:port:env:caFile:)`` on a thread of its own (start-up waits up to 15 s), off the cooperative pool.
    static func start(dir: String, port: Int, env: [String: String], caFile: String? = nil) async throws -> ServeProcess {
        try await offPool { try ServeProcess(dir: dir, port: port, env: env, caFile: caFile) }
    }

    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// SIGTERM and wait; the exit status.
    @discardableResult
    func terminate() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// An admin API call with the bearer token; the status and the parsed JSON answer.
func adminCall(_ token: String, _ method: String, _ url: String, _ body: String? = nil) throws -> (Int, JSONValue?) {
    var args = ["-X", method, "-H", "Authorization: Bearer \(token)", url]
    if let body { args += ["-H", "Content-Type: application/json", "--data-binary", body] }
    let (status, text) = try curl(args, timeout: 30)
    return (status, try? JSONParser.parse(text))
}
