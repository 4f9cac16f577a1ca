import BridgeCore
import BridgeServer
import BridgeDispatch
import BridgeIntake
import BridgeWebhooks
import BridgeStore
import Foundation
import Synchronization

struct TempDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "dagbridge-dispatch-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var store: String { path + "/journal.sqlite" }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// An in-process stand-in for Airflow: creates each run id once, answers duplicate afterwards,
/// and fails on demand (down, random 500s, ambiguous failures where the run was created but the
/// answer was lost, slow calls). Counts how often each run id was created.
final class SimulatedAirflow: TriggerClient, Sendable {
    struct State {
        var created: [String: Int] = [:]
        var calls: [String: Int] = [:]
        var concurrent = 0
        var maxConcurrent = 0
        var down = false
        var permanent: Set<String> = []
        var rng: SeededRandom
        var callTimes: [Date] = []
    }
    let state: Mutex<State>
    let failRate: Double
    let delay: Double

    init(seed: UInt64 = 1, failRate: Double = 0, delay: Double = 0) {
        state = Mutex(State(rng: SeededRandom(seed: seed)))
        self.failRate = failRate
        self.delay = delay
    }

    var down: Bool {
        get { state.withLock { $0.down } }
        set { state.withLock { $0.down = newValue } }
    }

    func failPermanently(_ runID: String) { state.withLock { _ = $0.permanent.insert(runID) } }

    func trigger(_ job: TriggerJob) async -> TriggerResult {
        state.withLock { s in
            s.concurrent += 1
            s.maxConcurrent = max(s.maxConcurrent, s.concurrent)
            s.calls[job.dagRunId, default: 0] += 1
            s.callTimes.append(Date())
        }
        defer { state.withLock { $0.concurrent -= 1 } }
        if delay > 0 {
            do { try await Task.sleep(for: .seconds(delay)) } catch {
                return TriggerResult(outcome: .retry(retryAfter: nil), reason: "cancelled")
            }
        }
        return state.withLock { s in
            if s.down { return TriggerResult(outcome: .retry(retryAfter: nil), reason: "connection refused") }
            if s.permanent.contains(job.dagRunId) {
                return TriggerResult(outcome: .permanent, reason: "DAG '\(job.dagId)' not found", httpStatus: 404)
            }
            let roll = Double.random(in: 0..<1, using: &s.rng)
            if roll < failRate / 2 { return TriggerResult(outcome: .retry(retryAfter: nil), reason: "HTTP 500", httpStatus: 500) }
            if s.created[job.dagRunId] != nil { return TriggerResult(outcome: .duplicate, reason: "exists", httpStatus: 409) }
            s.created[job.dagRunId, default: 0] += 1
            if roll < failRate {
                // Created, but the answer was lost (timeout after send).
                return TriggerResult(outcome: .retry(retryAfter: nil), reason: "timeout after send")
            }
            return TriggerResult(outcome: .delivered(run: nil), reason: "created", httpStatus: 200)
        }
    }
}

/// Runs a dispatcher in the background; `stop()` shuts it down gracefully and waits.
struct RunningDispatcher {
    let dispatcher: Dispatcher
    let task: Task<Void, any Error>

    init(_ dispatcher: Dispatcher) {
        self.dispatcher = dispatcher
        task = Task { try await dispatcher.run() }
    }

    func stop() async throws {
        dispatcher.stop()
        try await task.value
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
/// Polls until `condition` holds or `timeout` seconds pass. The default is generous because the
/// whole suite runs in parallel (Airflow, nginx, crash tests) on 2 cores with fsync'd journals;
/// a healthy run returns as soon as the condition holds.
func eventually(timeout: Double = 90, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

func enqueueJobs(_ journal: Journal, count: Int, target: String = "prod", prefix: String = "e") async throws -> [Int64] {
    try await withThrowingTaskGroup(of: [Int64].self) { group in
        for i in 0..<count {
            group.addTask {
                let id = "\(prefix)-\(i)"
                return try await journal.enqueue(
                    event: Event(id: id, source: "test", rawBody: Array("{\"i\":\(i)}".utf8)),
                    jobs: [TriggerJob(rule: "r", target: target, dagId: "dag", conf: ["i": .int(Int64(i))], dagRunId: "r__\(id)")])
            }
        }
        var all: [Int64] = []
        for try await ids in group { all += ids }
        return all
    }
}

func terminalCount(_ journal: Journal) async throws -> Int {
    let c = try await journal.counts()
    return c.delivered + c.duplicate + c.dead
}
