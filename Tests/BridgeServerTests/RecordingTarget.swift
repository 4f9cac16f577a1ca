import BridgeCore
import Foundation

/// The package root (for scripts and the built binary).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    return FileManager.default.currentDirectoryPath
}()

/// `scripts/recording-target.py` as a child process: an Airflow-like target on 127.0.0.1 that
/// records created run ids in a file and answers 409 for ids it has seen.
final class RecordingTarget: @unchecked Sendable {  // immutable after init; the process is only signalled
    let process = Process()
    let port: Int
    let log: String

    /// - Parameter options: extra arguments (`--fail-rate 0.1`, `--reset-rate 0.05`, …).
    init(dir: String, options: [String] = []) throws {
        log = dir + "/created-\(UUID().uuidString).txt"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", packageRoot + "/scripts/recording-target.py", "--port", "0", "--log", log] + options
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while true {
            let b = out.fileHandleForReading.readData(ofLength: 1)
            if b.isEmpty || b == Data([10]) { break }
            line.append(b)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("READY "), let p = Int(text.dropFirst(6)) else {
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "recording target did not start: \(text)"])
        }
        port = p
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Every created run id, in order, as recorded (a duplicate creation would show twice).
    func created() -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// With `--record-header NAME` options: for every trigger POST that reached the target, its run
    /// id and the named headers as received (a header that was absent is missing from the map).
    func recordedHeaders() -> [(runID: String, headers: [String: String])] {
        let text = (try? String(contentsOfFile: log + ".headers", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let json = try? JSONParser.parse(String(line)), let run = json["run_id"]?.stringValue else { return nil }
            var headers: [String: String] = [:]
            for (name, value) in json["headers"]?.objectValue?.members ?? JSONObject().members { headers[name] = value.stringValue }
            return (run, headers)
        }
    }

    /// Toggles the outage mode (every call answers 503).
    func toggleDown() { kill(process.processIdentifier, SIGUSR1) }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}
