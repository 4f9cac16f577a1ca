// bench-store: durable enqueue throughput/latency of the journal and dispatch throughput.
//
//   swift run -c release bench-store [seconds-per-case]
//
// Enqueue: N producers each enqueue events (one job each) back to back for a fixed time, on a
// fresh store file in a temporary folder, with durability full and normal. Dispatch: jobs already
// in the journal delivered through the dispatcher against an instant in-process client.
import BridgeAirflow
import BridgeCore
import BridgeHTTP
import BridgeDispatch
import BridgeStore
import Foundation
import Synchronization

let seconds = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 3

func tempStore() -> (String, String) {
    let dir = NSTemporaryDirectory() + "bench-store-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return (dir, dir + "/journal.sqlite")
}

let body = Array(
    #"{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","repository":{"id":1296269,"full_name":"octo/hello","private":false},"pusher":{"name":"octocat"},"commits":[{"id":"59b20b8d","message":"Fix all the bugs"}]}"#
        .utf8)

func event(_ id: String) -> Event {
    Event(id: id, source: "github", headers: ["X-GitHub-Event": "push", "X-GitHub-Delivery": id], rawBody: body)
}

func job(_ id: String) -> TriggerJob {
    TriggerJob(rule: "build", target: "prod", dagId: "build_dag", conf: ["ref": "refs/heads/main", "delivery": .string(id)], dagRunId: "build__\(id)")
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

struct EnqueueResult {
    var durability: String
    var producers: Int
    var events: Int
    var perSecond: Double
    var p50: Double
    var p99: Double
    var avgBatch: Double
}

func benchEnqueue(durability: StoreConfig.Durability, producers: Int) async throws -> EnqueueResult {
    let (dir, path) = tempStore()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let journal = try Journal(config: StoreConfig(path: path, durability: durability, highWater: Int(Int32.max), lowWater: 0))
    let start = Date()
    let end = start.addingTimeInterval(seconds)
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for p in 0..<producers {
            group.addTask {
                var lat: [Double] = []
                var i = 0
                while Date() < end {
                    let id = "\(p)-\(i)"
                    let t0 = ContinuousClock.now
                    _ = try await journal.enqueue(event: event(id), jobs: [job(id)])
                    let d = ContinuousClock.now - t0
                    lat.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
                    i += 1
                }
                return lat
            }
        }
        var all: [Double] = []
        for try await l in group { all += l }
        return all.sorted()
    }
    let elapsed = Date().timeIntervalSince(start)
    let stats = journal.writerStats
    return EnqueueResult(
        durability: durability.rawValue, producers: producers, events: latencies.count,
        perSecond: Double(latencies.count) / elapsed, p50: percentile(latencies, 0.5) * 1000, p99: percentile(latencies, 0.99) * 1000,
        avgBatch: Double(stats.operations) / Double(max(1, stats.batches)))
}

/// A target that answers "created" at once.
struct InstantClient: TriggerClient {
    func trigger(_ job: TriggerJob) async -> TriggerResult {
        TriggerResult(outcome: .delivered(run: nil), reason: "created", httpStatus: 200)
    }
}

func benchDispatch(jobs: Int, durability: StoreConfig.Durability, maxInFlight: Int, client: (any TriggerClient)? = nil) async throws -> Double {
    let (dir, path) = tempStore()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let journal = try Journal(config: StoreConfig(path: path, durability: durability, highWater: Int(Int32.max), lowWater: 0))
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

func fmt(_ v: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", v) }
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }

print("bench-store: \(fmt(seconds, 1)) s per enqueue case, one job per event, \(body.count)-byte body")
print("")
print(pad("durability", 10) + pad("producers", 11) + pad("events", 9) + pad("events/s", 11) + pad("p50 ms", 9) + pad("p99 ms", 9) + pad("avg batch", 11))
for durability in StoreConfig.Durability.allCases {
    for producers in [1, 16, 256] {
        let r = try await benchEnqueue(durability: durability, producers: producers)
        print(
            pad(r.durability, 10) + pad("\(r.producers)", 11) + pad("\(r.events)", 9) + pad(fmt(r.perSecond), 11) + pad(fmt(r.p50, 2), 9)
                + pad(fmt(r.p99, 2), 9) + pad(fmt(r.avgBatch, 1), 11))
    }
}
print("")
print(pad("dispatch (instant in-process client)", 38) + pad("jobs", 8) + pad("jobs/s", 10))
for (durability, inFlight) in [(StoreConfig.Durability.full, 64), (.normal, 64)] {
    let n = 20_000
    let rate = try await benchDispatch(jobs: n, durability: durability, maxInFlight: inFlight)
    print(pad("\(durability.rawValue), max_in_flight \(inFlight)", 38) + pad("\(n)", 8) + pad(fmt(rate), 10))
}

// Through the real Airflow client and libcurl to scripts/recording-target.py (a Python stub: it is the limit).
let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("scripts/recording-target.py").path
if FileManager.default.fileExists(atPath: script) {
    let (dir, _) = tempStore()
    let stub = Process()
    stub.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    stub.arguments = ["python3", script, "--port", "0", "--log", dir + "/created.txt"]
    let out = Pipe()
    stub.standardOutput = out
    try stub.run()
    var line = Data()
    while true {
        let b = out.fileHandleForReading.readData(ofLength: 1)
        if b.isEmpty || b == Data([10]) { break }
        line.append(b)
    }
    if let port = Int(String(decoding: line, as: UTF8.self).dropFirst(6)) {
        let http = try HTTPClient()
        let client = try AirflowClient(config: TargetConfig(name: "prod", url: "http://127.0.0.1:\(port)"), transport: http)
        let n = 5_000
        let rate = try await benchDispatch(jobs: n, durability: .full, maxInFlight: 16, client: client)
        print(pad("full, HTTP stub, max_in_flight 16", 38) + pad("\(n)", 8) + pad(fmt(rate), 10))
        await http.shutdownAndWait()
    }
    stub.terminate()
    stub.waitUntilExit()
    try? FileManager.default.removeItem(atPath: dir)
}
