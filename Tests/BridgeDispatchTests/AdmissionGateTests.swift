import BridgeCore
import BridgeDispatch
import Foundation
import Synchronization
import Testing

/// A DAG state reader whose answers the test sets, counting the reads.
final class ScriptedDAGs: DAGStateReader {
    struct State {
        var queued: [String: Int] = [:]
        var paused: Set<String> = []
        var failing = false
        var reads = 0
    }
    let state = Mutex(State())

    struct ReadFailed: Error {}

    func dagState(_ dagId: String, paused: Bool, queuedRuns: Bool) async throws -> DAGState {
        try state.withLock { s in
            s.reads += 1
            if s.failing { throw ReadFailed() }
            return DAGState(paused: paused ? s.paused.contains(dagId) : nil, queuedRuns: queuedRuns ? s.queued[dagId, default: 0] : nil)
        }
    }
}

@Suite struct AdmissionGateTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("max_queued_runs: admits up to the limit counting its own calls, then holds until the next read")
    func queuedRunsLimit() async {
        let dags = ScriptedDAGs()
        dags.state.withLock { $0.queued["etl"] = 3 }
        let gate = AdmissionGate(policy: AdmissionPolicy(maxQueuedRuns: 5, refresh: 2), reader: dags)
        #expect(await gate.admit(dagId: "etl", now: t0) == .admit)
        gate.finished(dagId: "etl", created: true)
        #expect(await gate.admit(dagId: "etl", now: t0) == .admit)  // 3 queued + 1 created + this one
        guard case .hold(.queuedRuns, let until, let detail) = await gate.admit(dagId: "etl", now: t0) else {
            Issue.record("the third job should be held (3 queued + 1 created + 1 in flight = 5)")
            return
        }
        #expect(until == t0.addingTimeInterval(2) && detail.contains("max_queued_runs 5"), "\(detail)")
        #expect(dags.state.withLock { $0.reads } == 1, "reads are cached for the refresh")
        // The scheduler took the queued runs: the next read admits again.
        dags.state.withLock { $0.queued["etl"] = 0 }
        gate.finished(dagId: "etl", created: true)
        #expect(await gate.admit(dagId: "etl", now: t0.addingTimeInterval(2)) == .admit)
        #expect(dags.state.withLock { $0.reads } == 2)
        // Per-DAG limits win; DAGs without a limit are not read.
        let perDAG = AdmissionGate(policy: AdmissionPolicy(maxQueuedRunsByDAG: ["etl": 1]), reader: dags)
        #expect(await perDAG.admit(dagId: "other", now: t0) == .admit)
        #expect(dags.state.withLock { $0.reads } == 2)
    }

    @Test("on_paused: hold holds a paused DAG's jobs and admits them once it is unpaused")
    func pausedDAG() async {
        let dags = ScriptedDAGs()
        dags.state.withLock { $0.paused = ["etl"] }
        let gate = AdmissionGate(policy: AdmissionPolicy(holdPaused: true, refresh: 1), reader: dags)
        guard case .hold(.paused, _, _) = await gate.admit(dagId: "etl", now: t0) else {
            Issue.record("a paused DAG's job should be held")
            return
        }
        #expect(gate.held(dagId: "etl", reason: .paused, jobs: 7, until: t0.addingTimeInterval(1)))
        #expect(!gate.held(dagId: "etl", reason: .paused, jobs: 7, until: t0.addingTimeInterval(1)), "the hold is logged once")
        dags.state.withLock { $0.paused = [] }
        #expect(await gate.admit(dagId: "etl", now: t0.addingTimeInterval(1)) == .admit)
        #expect(gate.released(dagId: "etl")?.jobs == 7)
        #expect(gate.released(dagId: "etl") == nil)
    }

    @Test("a read that fails lets the job through")
    func failingReadAdmits() async {
        let dags = ScriptedDAGs()
        dags.state.withLock { $0.failing = true }
        let gate = AdmissionGate(policy: AdmissionPolicy(maxQueuedRuns: 1, holdPaused: true), reader: dags)
        #expect(await gate.admit(dagId: "etl", now: t0) == .admit)
        #expect(await gate.admit(dagId: "etl", now: t0) == .admit)
    }
}
