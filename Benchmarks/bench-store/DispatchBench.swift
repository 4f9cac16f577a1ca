import BridgeAirflow
import BridgeCore
import BridgeDispatch
import BridgeHTTP
import BridgeStore
import Foundation

/// A target that answers "created" at once.
struct InstantClient: TriggerClient {
    func trigger(_ job: TriggerJob) async -> TriggerResult {
        TriggerResult(outcome: .delivered(run: nil), reason: "created", httpStatus: 200)
    }
}

/// Jobs already in a SQLite journal delivered through the dispatcher; jobs/s.
func benchDispatch(jobs: Int, durability: StoreConfig.Durability, maxInFlight: Int, client: (any TriggerClient)? = nil) async throws -> Double {
    try await BenchJournal.with(.sqlite, durability: durability, pool: 1, cluster: nil, label: "dispatch") { j in
        let journal = j.journal
        try await withThrowingTaskGroup(of: Void.self) { group in
            for p in 0..<64 {
                group.addTask {
                    var i = p
                    while i < jobs {
                        _ = try await journal.enqueue(event: event("d\(i)"), jobs: [job("d\(i)")])
                        i += 64
                    }
                }
            }
            try await group.waitForAll()
        }
        let dispatcher = Dispatcher(
            journal: journal,
            targets: [DispatchTarget(name: "prod", client: client ?? InstantClient(), policy: DispatchPolicy(maxInFlight: maxInFlight))],
            options: Dispatcher.Options(idlePoll: .milliseconds(50)))
        let start = Date()
        let task = Task { try await dispatcher.run() }
        while try await journal.counts().delivered < jobs { try await Task.sleep(for: .milliseconds(5)) }
        let elapsed = Date().timeIntervalSince(start)
        dispatcher.stop()
        try await task.value
        return Double(jobs) / elapsed
    }
}

/// The dispatcher delivering to an instant client (`full` and `normal`), then through the real
/// Airflow client and libcurl to scripts/recording-target.py (a Python stub: it is the limit).
func runDispatchSection() async throws {
    say(pad("dispatch, SQLite (instant in-process client)", 46) + pad("jobs", 8) + pad("jobs/s", 10))
    for (durability, inFlight) in [(StoreConfig.Durability.full, 64), (.normal, 64)] {
        let n = 20_000
        let rate = try await benchDispatch(jobs: n, durability: durability, maxInFlight: inFlight)
        say(pad("\(durability.rawValue), max_in_flight \(inFlight)", 46) + pad("\(n)", 8) + pad(fmt(rate), 10))
    }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/recording-target.py").path
    guard FileManager.default.fileExists(atPath: script) else { return }
    let dir = NSTemporaryDirectory() + "bench-store-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let stub = Process()
    stub.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    stub.arguments = ["python3", script, "--port", "0", "--log", dir + "/created.txt"]
    let out = Pipe()
    stub.standardOutput = out
    try stub.run()
    defer {
        stub.terminate()
        stub.waitUntilExit()
    }
    var line = Data()
    while true {
        let b = out.fileHandleForReading.readData(ofLength: 1)
        if b.isEmpty || b == Data([10]) { break }
        line.append(b)
    }
    guard let port = Int(String(decoding: line, as: UTF8.self).dropFirst(6)) else { return }
    let http = try HTTPClient()
    let client = try AirflowClient(config: TargetConfig(name: "prod", url: "http://127.0.0.1:\(port)"), transport: http)
    let n = 5_000
    do {
        let rate = try await benchDispatch(jobs: n, durability: .full, maxInFlight: 16, client: client)
        say(pad("full, HTTP stub, max_in_flight 16", 46) + pad("\(n)", 8) + pad(fmt(rate), 10))
    } catch {
        await http.shutdownAndWait()
        throw error
    }
    await http.shutdownAndWait()
}
