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

        init(target: DispatchTarget, journal: any JournalStore, options: Options, logger: Logger) {
            self.target = target
            self.journal = journal
            self.options = options
            var l = logger
            l[metadataKey: "target"] = "\(target.name)"
            self.logger = l
            state = Mutex(LaneState(policy: target.policy))
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
            state.withLock { s in
                TargetStatus(
                    target: target.name, inFlight: s.inFlight.count, breaker: s.breaker.phase, delivered: s.delivered,
                    duplicates: s.duplicates, retries: s.retries, dead: s.dead, lastError: s.lastError, lastErrorAt: s.lastErrorAt)
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
            let started = Date()
            let result = await target.client.trigger(job.job)
            let now = Date()
            var rng = SystemRandomNumberGenerator()
            guard case .record(let transition, let openedUntil) = state.withLock({ $0.attemptFinished(job, result: result, now: now, using: &rng) })
            else {
                finish(job.id)
                return
            }
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
            finish(job.id)
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
