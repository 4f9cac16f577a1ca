import BridgeCore
import BridgeStore
import Foundation
import Logging
import Synchronization

extension Dispatcher {
    /// One target's loop: the decisions are ``LaneState``'s (under a lock), the I/O is here.
    final class Lane: Sendable {
        let target: DispatchTarget
        let journal: any JournalStore
        let options: Options
        let logger: Logger
        let wake = Wakeup()
        private let state: Mutex<LaneState>
        /// Admission against Airflow's state, when the target's policy asks for it and its client can read DAGs.
        let admission: AdmissionGate?
        /// When the last "slowing down" line was logged, and how many changes were not logged since.
        private let slowLog = Mutex<(at: Date, quiet: Int)>((.distantPast, 0))

        init(target: DispatchTarget, journal: any JournalStore, options: Options, logger: Logger) {
            self.target = target
            self.journal = journal
            self.options = options
            var l = logger
            l[metadataKey: "target"] = "\(target.name)"
            self.logger = l
            state = Mutex(LaneState(policy: target.policy))
            if target.policy.admission.isActive {
                if let reader = target.client as? any DAGStateReader {
                    admission = AdmissionGate(policy: target.policy.admission, reader: reader)
                } else {
                    admission = nil
                    l.warning("max_queued_runs / on_paused are ignored: this target's client cannot read DAGs")
                }
            } else {
                admission = nil
            }
        }

        var isStopping: Bool { state.withLock { $0.stopping } }

        /// The target's limits as the whole fleet must hold them (a shared journal caps claims with them).
        var fleetLimits: FleetLimits {
            let p = target.policy
            return FleetLimits(maxInFlight: p.maxInFlight, rate: p.rateLimit, burst: max(1, p.rateLimit ?? 1))
        }

        func stop() {
            state.withLock { $0.stopping = true }
            wake.signal()
        }

        var status: TargetStatus {
            let heldDAGs = admission?.heldDAGs ?? []
            let held = AdmissionGate.jobs(heldDAGs)
            return state.withLock { s in
                TargetStatus(
                    target: target.name, inFlight: s.inFlight.count, breaker: s.breaker.phase, delivered: s.delivered,
                    duplicates: s.duplicates, retries: s.retries, dead: s.dead, lastError: s.lastError, lastErrorAt: s.lastErrorAt,
                    concurrency: s.concurrency.current, maxInFlight: s.concurrency.maximum, concurrencyMode: target.policy.concurrency,
                    latency: s.concurrency.latency > 0 ? s.concurrency.latency : nil, baselineLatency: s.concurrency.baseline,
                    held: held, heldDAGs: heldDAGs)
            }
        }

        func run() async {
            await withDiscardingTaskGroup { calls in
                while !Task.isCancelled, !isStopping {
                    let now = Date()
                    switch state.withLock({ $0.plan(now: now) }) {
                    case .wait(let until):
                        await wake.wait(until: until ?? now.addingTimeInterval(options.idlePoll.timeInterval))
                    case .claim(let limit, let probe):
                        let jobs: [StoredJob]
                        do {
                            jobs = try await journal.claimDue(target: target.name, limit: limit, fleet: fleetLimits, now: now)
                        } catch {
                            logger.error("cannot take due jobs from the store", metadata: ["error": "\(error)"])
                            await wake.wait(until: now.addingTimeInterval(options.idlePoll.timeInterval))
                            continue
                        }
                        if jobs.isEmpty {
                            let next = (try? await journal.nextDue(target: target.name)) ?? nil
                            let poll = now.addingTimeInterval(options.idlePoll.timeInterval)
                            // Due jobs but none claimed: other replicas hold the fleet's share of the
                            // target's limits (or claimed them first); ask again shortly.
                            let retry = now.addingTimeInterval(min(options.idlePoll.timeInterval, 0.1))
                            await wake.wait(until: next.map { $0 <= now ? retry : min($0, poll) } ?? poll)
                            continue
                        }
                        state.withLock { $0.started(jobs.map(\.id), now: now, probe: probe) }
                        for job in jobs { calls.addTask { await self.deliver(job) } }
                    }
                }
                await drain(calls: &calls)
            }
        }

        /// After the loop: wait for calls in flight up to the deadline, then hand the rest back.
        private func drain(calls: inout DiscardingTaskGroup) async {
            let deadline = Date().addingTimeInterval(options.shutdownDeadline.timeInterval)
            while !Task.isCancelled, Date() < deadline, state.withLock({ !$0.inFlight.isEmpty }) {
                await wake.wait(until: deadline)
            }
            let left = state.withLock { $0.releaseInFlight() }
            guard !left.isEmpty else { return }
            logger.notice("leaving calls in flight due for the next start", metadata: ["jobs": "\(left.count)"])
            do {
                try await journal.release(jobIDs: left)
            } catch {
                logger.error("cannot hand in-flight jobs back; they are due at the next start", metadata: ["error": "\(error)"])
            }
            calls.cancelAll()
        }

        /// One call: trigger, decide (``LaneState/attemptFinished(_:result:now:using:)``), record, report.
        private func deliver(_ job: StoredJob) async {
            if let gate = admission {
                switch await gate.admit(dagId: job.job.dagId, now: Date()) {
                case .hold(let reason, let until, let detail):
                    await hold(job, gate: gate, reason: reason, until: until, detail: detail)
                    finish(job.id)
                    return
                case .admit:
                    if let was = gate.released(dagId: job.job.dagId) {
                        logger.notice("jobs of a held DAG flow again", metadata: ["dag_id": "\(job.job.dagId)", "held_for": "\(was.reason.rawValue)"])
                    }
                }
            }
            let started = Date()
            let result = await target.client.trigger(job.job)
            let now = Date()
            if let gate = admission {
                var created = false
                if case .delivered = result.outcome { created = true }
                gate.finished(dagId: job.job.dagId, created: created)
            }
            var rng = SystemRandomNumberGenerator()
            let (action, change) = state.withLock { s in (s.attemptFinished(job, result: result, now: now, using: &rng), s.takeLimitChange()) }
            if let change { logLimit(change, now: now) }
            guard case .record(let transition, let openedUntil) = action else {
                finish(job.id)
                return
            }
            // The call is over: its slot is free for the next claim while this attempt is written (at one
            // call in flight, the journal's commit would otherwise sit between every two calls).
            finish(job.id)
            let recorded = await record(job, attempt: AttemptRecord(at: started, result: result), transition: transition, now: now)
            if let until = openedUntil {
                logger.warning("circuit breaker open", metadata: ["until": "\(ISO8601.format(until))", "last_error": "\(result.reason)"])
                _ = try? await journal.postpone(target: target.name, until: until)
            }
            let outcome = DispatchOutcome(transition)
            if recorded {
                state.withLock { $0.recorded(transition, reason: result.reason, now: now) }
                options.onAttempt?(target.name, outcome, now.timeIntervalSince(started))
            }
            log(job, transition: transition, outcome: outcome, reason: result.reason)
        }

        /// Writes the attempt, retrying a failing store a few times; false when it never got in
        /// (the job stays in flight: due again after a restart, or on a shared journal when its lease runs out).
        private func record(_ job: StoredJob, attempt: AttemptRecord, transition: JobTransition, now: Date) async -> Bool {
            for delay in [0.0, 0.05, 0.2, 1, 2] {
                if delay > 0 { try? await Task.sleep(for: .seconds(delay)) }
                do {
                    try await journal.complete(jobID: job.id, attempt: attempt, transition: transition, now: now)
                    return true
                } catch {
                    logger.error("cannot record an attempt", metadata: ["job": "\(job.id)", "error": "\(error)"])
                }
            }
            // Given up: the job stays in flight in the journal; a shared journal lets its lease run
            // out so any replica sends it again (the same run id: Airflow answers 409 if it got through).
            journal.abandon(jobIDs: [job.id])
            return false
        }

        /// Holds a job and its DAG's other pending jobs until `until`, without an attempt.
        private func hold(_ job: StoredJob, gate: AdmissionGate, reason: AdmissionGate.HoldReason, until: Date, detail: String) async {
            do {
                try await journal.release(jobIDs: [job.id], dueAt: until)
                let others = try await journal.postpone(target: target.name, dagId: job.job.dagId, until: until)
                if gate.held(dagId: job.job.dagId, reason: reason, jobs: others + 1, until: until) {
                    logger.notice(
                        "holding a DAG's jobs", metadata: ["dag_id": "\(job.job.dagId)", "reason": "\(detail)", "jobs": "\(others + 1)"])
                }
            } catch {
                logger.error("cannot hold a job; it is due again later", metadata: ["job": "\(job.id)", "error": "\(error)"])
                journal.abandon(jobIDs: [job.id])
            }
        }

        /// One line when the lane slows down (at most one per 10 s, counting the others) or is back at its maximum.
        private func logLimit(_ change: ConcurrencyLimit.Change, now: Date) {
            let meta: Logger.Metadata = ["from": "\(change.from)", "to": "\(change.to)", "reason": "\(change.reason)"]
            if change.to > change.from {
                logger.notice("target keeps up again: concurrency back at max_in_flight", metadata: meta)
                return
            }
            let quiet = slowLog.withLock { s -> Int? in
                guard now.timeIntervalSince(s.at) >= 10 else {
                    s.quiet += 1
                    return nil
                }
                defer { s = (now, 0) }
                return s.quiet
            }
            guard let quiet else { return }
            var m = meta
            if quiet > 0 { m["changes_not_logged"] = "\(quiet)" }
            logger.notice("target slow or overloaded: fewer calls in flight", metadata: m)
        }

        private func log(_ job: StoredJob, transition: JobTransition, outcome: DispatchOutcome, reason: String) {
            // The metadata is built only for a line the log level lets through.
            func meta(_ reason: String? = nil) -> Logger.Metadata {
                var m: Logger.Metadata = [
                    "job": "\(job.id)", "rule": "\(job.job.rule)", "dag_id": "\(job.job.dagId)", "dag_run_id": "\(job.job.dagRunId)",
                    "outcome": "\(outcome.rawValue)",
                ]
                if let reason { m["reason"] = "\(reason)" }
                return m
            }
            switch transition {
            case .dead(let deadReason):
                logger.warning("job moved to the dead-letter queue", metadata: meta(deadReason))
            case .retry:
                logger.info("trigger failed; will retry", metadata: meta(reason))
            case .delivered, .duplicate:
                logger.debug("trigger answered", metadata: meta())
            }
        }

        private func finish(_ id: Int64) {
            state.withLock { $0.finished(id) }
            wake.signal()
        }
    }
}
