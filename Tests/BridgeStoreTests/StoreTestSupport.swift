import BridgeCore
import BridgeStore
import Foundation

/// A fresh temporary folder per test, removed by `cleanup()`.
struct TempDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "dagbridge-store-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var store: String { path + "/journal.sqlite" }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

func makeEvent(_ id: String, source: String = "github", body: String = #"{"ref":"main"}"#) -> Event {
    Event(id: id, source: source, headers: ["X-GitHub-Event": "push"], rawBody: Array(body.utf8))
}

func makeJob(_ runID: String, rule: String = "build", target: String = "prod", retry: RetryOverrides? = nil) -> TriggerJob {
    TriggerJob(
        rule: rule, target: target, dagId: "build_dag", conf: ["ref": "main", "n": 42], dagRunId: runID,
        logicalDate: nil, note: "from test", retry: retry)
}

func attempt(_ outcome: String, status: Int? = 500, reason: String = "server error") -> AttemptRecord {
    AttemptRecord(at: Date(), duration: 0.01, httpStatus: status, outcome: outcome, reason: reason, answer: "{\"detail\":\"x\"}")
}

/// Enqueues one event with one job, claims it and lets it die with `reason`.
func makeDeadJob(_ journal: Journal, _ id: String, target: String = "prod", rule: String = "build", reason: String = "DAG 'build_dag' not found")
    async throws -> Int64
{
    let ids = try await journal.enqueue(event: makeEvent(id), jobs: [makeJob("\(rule)__\(id)", rule: rule, target: target)])
    let claimed = try await journal.claimDue(target: target, limit: 1000)
    precondition(claimed.contains { $0.id == ids[0] })
    for c in claimed where c.id != ids[0] { try await journal.release(jobIDs: [c.id]) }
    try await journal.complete(jobID: ids[0], attempt: attempt("permanent", status: 404, reason: reason), transition: .dead(reason: reason))
    return ids[0]
}
