public import BridgeCore
public import Foundation
import Synchronization

/// One lane's admission against Airflow's own state (``AdmissionPolicy``): before a run is created,
/// is the DAG paused (`on_paused: hold`), and are `max_queued_runs` of its runs already queued?
///
/// Reads are cached per DAG for ``AdmissionPolicy/refresh``; between reads the gate counts the runs
/// it let through itself, so a burst cannot overshoot the limit by more than the calls in flight of
/// other replicas. A read that fails lets the job through: the trigger then says what is wrong.
public final class AdmissionGate: Sendable {
    /// Why a DAG's jobs are held.
    public enum HoldReason: String, Sendable, Equatable, CaseIterable {
        case queuedRuns = "queued_runs"
        case paused
    }

    /// What to do with one job.
    public enum Decision: Sendable, Equatable {
        case admit
        /// Hold it (and the DAG's other pending jobs) until `until`; `detail` says why, for the log.
        case hold(HoldReason, until: Date, detail: String)
    }

    /// A DAG whose jobs are held now.
    public struct Held: Sendable, Equatable {
        public var dagId: String
        public var reason: HoldReason
        /// Jobs pushed back at the last hold.
        public var jobs: Int
        public var until: Date
        /// Queued runs at the last read (nil when not read).
        public var queuedRuns: Int?
    }

    struct Entry {
        var state: DAGState?
        var readAt = Date.distantPast
        var reading = false
        var createdSinceRead = 0
        var admittedInFlight = 0
        var held: Held?
    }

    public let policy: AdmissionPolicy
    let reader: any DAGStateReader
    private let entries = Mutex<[String: Entry]>([:])

    public init(policy: AdmissionPolicy, reader: any DAGStateReader) {
        self.policy = policy
        self.reader = reader
    }

    /// Decides for one job of `dagId`, reading the DAG's state when the cached one is older than the refresh.
    public func admit(dagId: String, now: Date) async -> Decision {
        let limit = policy.maxQueuedRuns(dagId: dagId)
        guard policy.holdPaused || limit != nil else { return .admit }
        let mustRead = entries.withLock { e -> Bool in
            var entry = e[dagId] ?? Entry()
            let stale = now.timeIntervalSince(entry.readAt) >= policy.refresh
            // One read at a time per DAG; others use the last answer while it is under way.
            let read = stale && !(entry.reading && entry.state != nil)
            if read { entry.reading = true }
            e[dagId] = entry
            return read
        }
        if mustRead {
            let state = try? await reader.dagState(dagId, paused: policy.holdPaused, queuedRuns: limit != nil)
            entries.withLock { e in
                e[dagId, default: Entry()].reading = false
                if let state {
                    e[dagId, default: Entry()].state = state
                    e[dagId, default: Entry()].readAt = now
                    e[dagId, default: Entry()].createdSinceRead = 0
                }
            }
        }
        return entries.withLock { e -> Decision in
            var entry = e[dagId] ?? Entry()
            defer { e[dagId] = entry }
            let until = max(entry.readAt.addingTimeInterval(policy.refresh), now.addingTimeInterval(0.1))
            if policy.holdPaused, entry.state?.paused == true {
                return .hold(.paused, until: until, detail: "DAG '\(dagId)' is paused (on_paused: hold)")
            }
            if let limit, let queued = entry.state?.queuedRuns {
                let estimate = queued + entry.createdSinceRead + entry.admittedInFlight
                if estimate >= limit {
                    return .hold(
                        .queuedRuns, until: until,
                        detail: "DAG '\(dagId)' has \(queued) queued runs (+\(entry.createdSinceRead + entry.admittedInFlight) just sent), max_queued_runs \(limit)")
                }
            }
            entry.admittedInFlight += 1
            return .admit
        }
    }

    /// An admitted call ended; `created` when it made a run.
    public func finished(dagId: String, created: Bool) {
        entries.withLock { e in
            guard var entry = e[dagId] else { return }
            entry.admittedInFlight = max(0, entry.admittedInFlight - 1)
            if created { entry.createdSinceRead += 1 }
            e[dagId] = entry
        }
    }

    /// Records that `jobs` jobs of `dagId` were pushed back; returns true when the DAG was not held before (for the log).
    @discardableResult
    public func held(dagId: String, reason: HoldReason, jobs: Int, until: Date) -> Bool {
        entries.withLock { e in
            var entry = e[dagId] ?? Entry()
            let new = entry.held?.reason != reason
            entry.held = Held(dagId: dagId, reason: reason, jobs: jobs, until: until, queuedRuns: entry.state?.queuedRuns)
            e[dagId] = entry
            return new
        }
    }

    /// A job of `dagId` was let through: the DAG is no longer held. Returns what the hold was, for the log.
    @discardableResult
    public func released(dagId: String) -> Held? {
        entries.withLock { e in
            guard let held = e[dagId]?.held else { return nil }
            e[dagId]?.held = nil
            return held
        }
    }

    /// The DAGs held now, by DAG id. A hold no job came back to for a while (another replica took
    /// the jobs, or they were purged) is left out.
    public var heldDAGs: [Held] {
        let stale = Date().addingTimeInterval(-(2 * policy.refresh + 10))
        return entries.withLock { e in e.values.compactMap(\.held).filter { $0.until > stale }.sorted { $0.dagId < $1.dagId } }
    }

    /// Held jobs by reason (every reason present, 0 when none) of `held` (``heldDAGs``).
    public static func jobs(_ held: [Held]) -> [HoldReason: Int] {
        var out = Dictionary(uniqueKeysWithValues: HoldReason.allCases.map { ($0, 0) })
        for h in held { out[h.reason, default: 0] += h.jobs }
        return out
    }
}
