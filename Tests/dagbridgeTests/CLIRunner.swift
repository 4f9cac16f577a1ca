import BridgeCore
import Foundation

/// Runs the built `dagbridge` binary (real process, real files) for CLI tests.
enum CLI {
    /// The package root, derived from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The debug binary `swift build` produced.
    static var binary: URL {
        if let override = ProcessInfo.processInfo.environment["DAGBRIDGE_BIN"] { return URL(fileURLWithPath: override) }
        return root.appendingPathComponent(".build/debug/dagbridge")
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String

        /// stdout parsed as JSON.
        func json() throws -> JSONValue { try JSONParser.parse(stdout) }
    }

    /// Runs `dagbridge args…` in the package root and collects its output, on a thread of its own: a
    /// test running on the cooperative pool must not hold one of its threads for a child process's life.
    static func run(_ args: [String], stdin: String? = nil, cwd: URL? = nil, env: [String: String] = [:]) async throws -> Output {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Output, any Error>) in
            Thread { done.resume(with: Result { try runBlocking(args, stdin: stdin, cwd: cwd, env: env) }) }.start()
        }
    }

    static func runBlocking(_ args: [String], stdin: String? = nil, cwd: URL? = nil, env: [String: String] = [:]) throws -> Output {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        if !env.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new } }
        p.currentDirectoryURL = cwd ?? root
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// A fresh temporary folder.
    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dagbridge-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
