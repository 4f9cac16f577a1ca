@testable import BridgeAirflow
import BridgeDispatch
import BridgeConfig
import BridgeCore
import BridgeHTTP
import Foundation
import Testing

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A temporary directory removed when the value is released.
final class TempDir: Sendable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("dagbridge-airflow-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func write(_ name: String, _ text: String) throws -> String {
        let p = path(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Runs a command and returns its standard output; throws when it exits non-zero.
@discardableResult
func run(_ args: [String], stdin: String? = nil) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try? input.fileHandleForWriting.close()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw TestFailure("\(args.joined(separator: " ")) failed (\(p.terminationStatus)): \(String(decoding: errData, as: UTF8.self))")
    }
    return String(decoding: data, as: UTF8.self)
}

/// `scripts/fake-airflow-server.py` as a child process on 127.0.0.1 (port chosen by the OS).
final class FakeServer: Sendable {
    let port: Int
    private let process: Process
    private let stdin: Pipe
    private let dir: TempDir

    static func start(pubkey: String? = nil) async throws -> FakeServer {
        let dir = try TempDir()
        let portFile = dir.path("port")
        var args = ["python3", repositoryRoot.appendingPathComponent("scripts/fake-airflow-server.py").path, "--port-file", portFile, "--exit-on-stdin-eof"]
        if let pubkey { args += ["--pubkey", pubkey] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let stdin = Pipe()
        p.standardInput = stdin
        // Never hand the test's own stdout/stderr to a child: `swift test` would wait on them.
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            // Checked once more after the deadline: a task resumed late must not give up on a server that started.
            let late = ContinuousClock.now >= deadline
            if let t = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(t) {
                return FakeServer(port: port, process: p, stdin: stdin, dir: dir)
            }
            if late || !p.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        p.terminate()
        throw TestFailure("fake server did not start")
    }

    private init(port: Int, process: Process, stdin: Pipe, dir: TempDir) {
        self.port = port
        self.process = process
        self.stdin = stdin
        self.dir = dir
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Changes the server's settings (`expect_auth`, `expires_in`, `audience`, `iss`, `reset_log`…).
    func control(_ settings: JSONValue, using client: HTTPClient) async throws {
        let r = try await client.execute(HTTPRequest(method: .post, url: base + "/_control", headers: [("Content-Type", "application/json")], body: JSONWriter.bytes(settings)))
        guard r.status == 200 else { throw TestFailure("control answered \(r.status)") }
    }

    /// What the server received (`requests`, `token_fetches`, `sigv4_checked`).
    func log(using client: HTTPClient) async throws -> JSONValue {
        try JSONParser.parse(try await client.execute(HTTPRequest(url: base + "/_log")).body)
    }

    func stop() {
        process.terminate()
        try? stdin.fileHandleForWriting.close()
    }

    deinit { stop() }
}

/// A libcurl client for tests.
func makeClient(timeout: Double = 30) throws -> HTTPClient {
    try HTTPClient(configuration: HTTPClientConfiguration(connectTimeout: 5, timeout: timeout))
}

/// Parses a `dagbridge.yaml` text's targets.
func parseTargets(_ yaml: String, env: [String: String] = [:], file: String = "dagbridge.yaml") -> ([String: TargetConfig], [Diagnostic]) {
    let (t, _, d) = parseTargetsAndPolicies(yaml, env: env, file: file)
    return (t, d)
}

/// Parses a `dagbridge.yaml` text's targets with the dispatcher's keys of each (as `serve` does).
func parseTargetsAndPolicies(
    _ yaml: String, env: [String: String] = [:], file: String = "dagbridge.yaml"
) -> ([String: TargetConfig], [String: DispatchPolicy], [Diagnostic]) {
    let (root, yd) = YAMLLoader.parse(yaml, file: file)
    var d = Diagnostics()
    d.append(contentsOf: yd)
    guard let root else { return ([:], [:], d.items) }
    var policies: [String: DispatchPolicy] = [:]
    let t = TargetsConfig.parseRoot(root, resolver: SecretResolver(environment: env), diagnostics: &d) { name, section, d in
        policies[name] = DispatchPolicy.parse(&section, &d)
    }
    return (t, policies, d.items)
}

func job(_ dag: String, run: String = "r-\(UInt32.random(in: 0...UInt32.max))", conf: JSONValue = ["k": "v"], target: String = "t") -> TriggerJob {
    TriggerJob(rule: "test", target: target, dagId: dag, conf: conf, dagRunId: run)
}
