import BridgeCore
import BridgeStore
import Foundation

/// A GitHub push body (~300 bytes), the same for every event.
let body = Array(
    #"{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","repository":{"id":1296269,"full_name":"octo/hello","private":false},"pusher":{"name":"octocat"},"commits":[{"id":"59b20b8d","message":"Fix all the bugs"}]}"#
        .utf8)

func event(_ id: String) -> Event {
    Event(id: id, source: "github", headers: ["X-GitHub-Event": "push", "X-GitHub-Delivery": id], rawBody: body)
}

func job(_ id: String) -> TriggerJob {
    TriggerJob(rule: "build", target: "prod", dagId: "build_dag", conf: ["ref": "refs/heads/main", "delivery": .string(id)], dagRunId: "build__\(id)")
}

/// The attempt a target that answered "created" leaves.
func deliveredAttempt() -> AttemptRecord {
    AttemptRecord(at: Date(), duration: 0.001, httpStatus: 200, outcome: "delivered", reason: "created", answer: "")
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// One line on standard output, written at once (rows appear as cases finish, also into a pipe).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fmt(_ v: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", v) }
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }

/// A right-aligned table printed row by row (cases take seconds each, so rows appear as they finish).
struct Table {
    let columns: [(title: String, width: Int)]

    func header() {
        say(columns.map { " " + pad($0.title, $0.width - 1) }.joined())
    }

    func row(_ cells: [String]) {
        say(zip(columns, cells).map { " " + pad($1, $0.width - 1) }.joined())
    }
}
