public import BridgeCore
public import Foundation

/// Replay and purge as operators see them, the same on every backend: the backend loads the jobs
/// (``JournalStore/jobsWithEvents(ids:)``) and writes what was planned (``JournalStore/applyReplay(_:audit:)``,
/// ``JournalStore/applyPurge(_:audit:)``); what is planned, and what each job's answer says, is decided here.
extension JournalStore {
    /// Re-enqueues finished jobs (usually dead ones) with fresh attempts and a fresh `max_age` clock.
    ///
    /// By default each job is sent again exactly as before (same run id: a replay can never
    /// double-trigger; replaying a delivered job ends `duplicate`). `transform` may return a
    /// different request (re-rendered by the current rules) or nil to skip the job; what it throws
    /// is reported for that job. Replayed jobs become due `1/rate` seconds apart. The action is
    /// recorded in the audit log. A job another operator (or replica) replays at the same time is
    /// replayed once; the later one reports it changed meanwhile.
    /// - Parameters:
    ///   - ids: the jobs to replay (already filtered by the caller).
    ///   - actor: who asks (`user@host`).
    ///   - filters: what the operator typed, for the audit log.
    /// - Returns: one result per id, in order.
    public func replay(
        ids: [Int64], actor: String, filters: String, options: ReplayOptions = ReplayOptions(), now: Date = Date(),
        transform: (StoredJob, StoredEvent) throws -> TriggerJob? = Journal.storedRequest
    ) async throws -> [DLQActionResult] {
        let loaded = try await jobsWithEvents(ids: ids)
        var results: [DLQActionResult] = []
        var plans: [ReplayPlan] = []
        let step = options.rate > 0 ? 1 / options.rate : 0
        let t0 = now.timeIntervalSince1970
        for (id, stored, event) in loaded {
            guard let stored else {
                results.append(DLQActionResult(jobID: id, ok: false, message: "no job \(id) in the store"))
                continue
            }
            guard stored.state.isTerminal else {
                results.append(
                    DLQActionResult(
                        jobID: id, ok: false, oldRunID: stored.job.dagRunId,
                        message: "job \(id) is \(stored.state.rawValue): only finished jobs (dead, delivered, duplicate) are replayed"))
                continue
            }
            guard let event else {
                results.append(DLQActionResult(jobID: id, ok: false, message: "the event of job \(id) is missing from the store"))
                continue
            }
            var job: TriggerJob
            do {
                guard let j = try transform(stored, event) else {
                    results.append(
                        DLQActionResult(
                            jobID: id, ok: false, oldRunID: stored.job.dagRunId,
                            message: "the current rules produce no job for this event and target; skipped"))
                    continue
                }
                job = j
            } catch {
                results.append(
                    DLQActionResult(jobID: id, ok: false, oldRunID: stored.job.dagRunId, message: "cannot re-render: \(error)"))
                continue
            }
            let replays = stored.replays + 1
            if options.newRunID { job.dagRunId = Journal.replayRunID(job.dagRunId, replay: replays) }
            let due = t0 + Double(plans.count) * step
            plans.append(ReplayPlan(id: id, job: job, due: due, replays: replays))
            var what = job.dagRunId == stored.job.dagRunId ? "same run id" : "new run id"
            if job != stored.job, job.dagRunId == stored.job.dagRunId { what += ", re-rendered request" }
            results.append(
                DLQActionResult(
                    jobID: id, ok: true, oldRunID: stored.job.dagRunId, newRunID: job.dagRunId, dueAt: Journal.date(due),
                    message: (options.dryRun ? "would replay (" : "replayed (") + what + ")"))
        }
        if options.dryRun || plans.isEmpty { return results }
        var opts: [String] = []
        if options.newRunID { opts.append("new-run-id") }
        if !options.note.isEmpty { opts.append(options.note) }
        opts.append("rate=\(JSONWriter.formatDouble(options.rate))/s")
        let applied = try await applyReplay(plans, audit: AuditDraft(at: t0, actor: actor, filters: filters, options: opts.joined(separator: " ")))
        for i in results.indices where results[i].ok && !applied.contains(results[i].jobID) {
            results[i].ok = false
            results[i].message = "job \(results[i].jobID) changed state meanwhile; not replayed"
        }
        return results
    }

    /// Deletes dead jobs, their attempts, and their events once no job refers to them.
    /// Only dead jobs are purged; the action is recorded in the audit log.
    public func purge(ids: [Int64], actor: String, filters: String, dryRun: Bool = false, now: Date = Date()) async throws
        -> [DLQActionResult]
    {
        let loaded = try await jobsWithEvents(ids: ids)
        var results: [DLQActionResult] = []
        var toDelete: [Int64] = []
        for (id, stored, _) in loaded {
            guard let stored else {
                results.append(DLQActionResult(jobID: id, ok: false, message: "no job \(id) in the store"))
                continue
            }
            guard stored.state == .dead else {
                results.append(
                    DLQActionResult(
                        jobID: id, ok: false, oldRunID: stored.job.dagRunId,
                        message: "job \(id) is \(stored.state.rawValue), not dead: only dead jobs are purged"))
                continue
            }
            toDelete.append(id)
            results.append(DLQActionResult(jobID: id, ok: true, oldRunID: stored.job.dagRunId, message: dryRun ? "would purge" : "purged"))
        }
        if dryRun || toDelete.isEmpty { return results }
        let deleted = try await applyPurge(toDelete, audit: AuditDraft(at: now.timeIntervalSince1970, actor: actor, filters: filters, options: ""))
        for i in results.indices where results[i].ok && !deleted.contains(results[i].jobID) {
            results[i].ok = false
            results[i].message = "job \(results[i].jobID) changed state meanwhile; not purged"
        }
        return results
    }
}
