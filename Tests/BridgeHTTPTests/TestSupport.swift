import BridgeHTTP
import Foundation
import Logging
import Synchronization
import Testing

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `scripts/stub-server.py` running as a child process on 127.0.0.1, on a port it picks itself.
final class StubServer: Sendable {
    let port: Int
    let scheme: String
    private let process: Process
    private let stdin: Pipe

    /// Starts the server and waits (without blocking a thread) until it has written its port.
    static func start(tls: (cert: String, key: String)? = nil, clientCA: String? = nil) async throws -> StubServer {
        let dir = try TempDir()
        let portFile = dir.path("port")
        var arguments = [repositoryRoot.appendingPathComponent("scripts/stub-server.py").path, "--port-file", portFile, "--exit-on-stdin-eof"]
        if let tls { arguments += ["--cert", tls.cert, "--key", tls.key] }
        if let clientCA { arguments += ["--client-ca", clientCA] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        // Closing this pipe (this process ends) makes the server exit even if stop() never runs.
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                return StubServer(port: port, scheme: tls == nil ? "http" : "https", process: process, stdin: stdin)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw TestFailure("stub server did not start within 30s")
    }

    private init(port: Int, scheme: String, process: Process, stdin: Pipe) {
        self.port = port
        self.scheme = scheme
        self.process = process
        self.stdin = stdin
    }

    func url(_ path: String) -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }

    func stop() {
        process.terminate()
        try? stdin.fileHandleForWriting.close()
    }

    deinit { stop() }
}

/// One stub server shared by the tests that do not count connections.
enum SharedServer {
    private static let server = Mutex<StubServer?>(nil)
    private static let starting = Mutex(false)

    static func get() async throws -> StubServer {
        while true {
            if let existing = server.withLock({ $0 }) { return existing }
            let mine = starting.withLock { started in
                if started { return false }
                started = true
                return true
            }
            if mine {
                let fresh = try await StubServer.start()
                server.withLock { $0 = fresh }
                return fresh
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A temporary directory removed when the value goes away.
final class TempDir: Sendable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehttp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Runs a command to completion without blocking a cooperative thread.
@discardableResult
func run(_ arguments: [String], in directory: String? = nil) async throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    return try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch { continuation.resume(throwing: error) }
    }
}

/// A test CA with a server certificate for 127.0.0.1/localhost and a client certificate,
/// made with the openssl command line tool.
struct TestPKI: Sendable {
    let dir: TempDir
    var caCert: String { dir.path("ca.pem") }
    var serverCert: String { dir.path("server.pem") }
    var serverKey: String { dir.path("server.key") }
    var clientCert: String { dir.path("client.pem") }
    var clientKey: String { dir.path("client.key") }
    var clientKeyEncrypted: String { dir.path("client-enc.key") }
    static let keyPassword = "s3cret-pass"

    static func make() async throws -> TestPKI {
        let dir = try TempDir()
        let d = dir.url.path
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(toFile: dir.path("server.ext"), atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(toFile: dir.path("client.ext"), atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            ["openssl", "req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=dagbridge test CA",
                                                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["openssl", "req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "server.ext"],
            ["openssl", "req"] + ec + ["-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=dagbridge-client"],
            ["openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "client.pem", "-days", "2", "-extfile", "client.ext"],
            ["openssl", "pkey", "-in", "client.key", "-aes256", "-passout", "pass:\(keyPassword)", "-out", "client-enc.key"],
        ]
        for step in steps {
            let status = try await run(step, in: d)
            guard status == 0 else { throw TestFailure("\(step.joined(separator: " ")) exited with \(status)") }
        }
        return TestPKI(dir: dir)
    }
}

/// A port on 127.0.0.1 with nothing listening (bound, read, closed).
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw TestFailure("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs `body` and returns the HTTPClientError it throws (fails the test if it returns or throws something else).
func expectHTTPError(_ body: () async throws -> HTTPResponse, sourceLocation: SourceLocation = #_sourceLocation) async -> HTTPClientError? {
    do {
        let response = try await body()
        Issue.record("expected an error, got status \(response.status)", sourceLocation: sourceLocation)
        return nil
    } catch let error as HTTPClientError {
        return error
    } catch {
        Issue.record("expected HTTPClientError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Collects log messages, to check warnings.
final class LogBox: Sendable {
    let messages = Mutex<[(level: Logger.Level, message: String)]>([])
    var logger: Logger { Logger(label: "test") { _ in CollectingLogHandler(box: self) } }
    var all: [(level: Logger.Level, message: String)] { messages.withLock { $0 } }
}

struct CollectingLogHandler: LogHandler {
    let box: LogBox
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        box.messages.withLock { $0.append((event.level, event.message.description)) }
    }
}

extension HTTPResponse {
    /// The body parsed as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }
}
