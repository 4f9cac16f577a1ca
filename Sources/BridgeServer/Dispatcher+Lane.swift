import BridgeAirflow
import BridgeCore
import BridgeStore
import Foundation
import Logging
import Synchronization

extension Dispatcher {
    /// One target's loop, limits and breaker.
    final class Lane: Sendable {
        let target: DispatchTarget
        let journal: Journal
        let options: Options
        let logger: Logger
        let wake = Wakeup()

        private struct State {
            var inFlight: Set<Int64> = []
            /// Jobs handed back to the journal at shutdown: their late results are not recorded.
            var released: Set<Int64> = []
            var breaker: CircuitBreaker
            var limiter: RateLimiter?
            var stopping = false
            var delivered = 0, duplicates = 0, retries = 0, dead = 0
            var lastError: String?
            var lastErrorAt: Date?
        }
        private let state: Mutex<State>

        private enum Plan {
            case wait(Date?)
            case claim(limit: Int, probe: Bool)
        }

        init(target: DispatchTarget, journal: Journal, options: Options, logger: Logger) {
            self.target = target
            self.journal = journal
            self.options = options
            var l = logger
            l[metadataKey: "target"] = "\(target.name)"
            self.logger = l
            let p = target.policy
            state = Mutex(
                State(
                    breaker: CircuitBreaker(threshold: p.breakerThreshold, cooldown: p.breakerCooldown),
                    limiter: p.rateLimit.map { RateLimiter(rate: $0) }))
        }

        var isStopping: Bool { state.withLock { $0.stopping } }

        func stop() {
            state.withLock { $0.stopping = true }
            wake.signal()
        }

        var status: TargetStatus {
            state.withLock { s in
                TargetStatus(
                    target: target.name, inFlight: s.inFlight.count, breaker: s.breaker.stateName, delivered: s.delivered,
                    duplicates: s.duplicates, retries: s.retries, dead: s.dead, lastError: s.lastError, lastErrorAt: s.lastErrorAt)
            }
        }

        func run() async {
            await withDiscardingTaskGroup { calls in
                while !Task.isCancelled, !isStopping {
                    let now = Date()
                    switch plan(now) {
                    case .wait(let until):
                        await wake.wait(until: until ?? now.addingTimeInterval(options.idlePoll))
                    case .claim(let limit, let probe):
                        let jobs: [StoredJob]
                        do {
                            jobs = try await journal.claimDue(target: target.name, limit: limit, now: now)
                        } catch {
                            logger.error("cannot take due jobs from the store", metadata: ["error": "\(error)"])
                            await wake.wait(until: now.addingTimeInterval(options.idlePoll))
                            continue
                        }
                        if jobs.isEmpty {
                            let next = (try? await journal.nextDue(target: target.name)) ?? nil
                            let poll = now.addingTimeInterval(options.idlePoll)
                            await wake.wait(until: next.map { min($0, poll) } ?? poll)
                            continue
                        }
                        state.withLock { s in
                            for j in jobs {
                                s.inFlight.insert(j.id)
                                s.limiter?.take(now: now)
                            }
                            if probe { s.breaker.probeStarted() }
                        }
                        for job in jobs { calls.addTask { await self.deliver(job) } }
                    }
                }
                await drain(calls: &calls)
            }
        }

        private func plan(_ now: Date) -> Plan {
            state.withLock { s in
                var limit = target.policy.maxInFlight - s.inFlight.count
                var probe = false
                switch s.breaker.permission(now: now) {
                case .allowed: break
                case .probe:
                    limit = min(limit, 1)
                    probe = true
                case .wait(let until):
                    return .wait(until)
                }
                if limit <= 0 { return .wait(nil) }
                if var rl = s.limiter {
                    let available = rl.available(now: now)
                    if available == 0 {
                        let t = rl.nextToken(now: now)
                        s.limiter = rl
                        return .wait(t)
                    }
                    limit = min(limit, available)
                    s.limiter = rl
                }
                return .claim(limit: limit, probe: probe)
            }
        }

        /// After the loop: wait for calls in flight up to the deadline, then hand the rest back.
        private func drain(calls: inout DiscardingTaskGroup) async {
            let deadline = Date().addingTimeInterval(options.shutdownDeadline)
            while !Task.isCancelled, Date() < deadline, state.withLock({ !$0.inFlight.isEmpty }) {
                await wake.wait(until: deadline)
            }
            let left = state.withLock { s -> [Int64] in
                let l = Array(s.inFlight)
                s.released.formUnion(l)
                return l
            }
            guard !left.isEmpty else { return }
            logger.notice("leaving calls in flight due for the next start", metadata: ["jobs": "\(left.count)"])
            do {
                try await journal.release(jobIDs: left)
            } catch {
                logger.error("cannot hand in-flight jobs back; they are due at the next start", metadata: ["error": "\(error)"])
            }
            calls.cancelAll()
        }

        private func deliver(_ job: StoredJob) async {
            let started = Date()
            let result = await target.client.trigger(job.job)
            let now = Date()
            if state.withLock({ $0.released.contains(job.id) }) {
                finish(job.id)
                return
            }
            var rng = SystemRandomNumberGenerator()
            var transition = Backoff.transition(
                for: result, attemptsBefore: job.attempts, ageFrom: job.ageFrom, now: now,
                policy: target.policy.applying(job.job.retry), using: &rng)
            var failure = false
            if case .retry = result.outcome { failure = true }
            let (openedUntil, openUntil) = state.withLock { s -> (Date?, Date?) in
                let opened = s.breaker.record(failure: failure, now: now)
                if case .open(let until) = s.breaker.state { return (opened, until) }
                return (opened, nil)
            }
            // While the breaker is open the job waits for it; its own backoff starts after the
            // cool-down, so the next probe is likely another job.
            if case .retry(let at) = transition, let until = openUntil {
                transition = .retry(at: until.addingTimeInterval(max(0, at.timeIntervalSince(now))))
            }
            let attempt = AttemptRecord(at: started, result: result)
            var recorded = false
            for delay in [0.0, 0.05, 0.2, 1, 2] {
                if delay > 0 { try? await Task.sleep(for: .seconds(delay)) }
                do {
                    try await journal.complete(jobID: job.id, attempt: attempt, transition: transition, now: now)
                    recorded = true
                    break
                } catch {
                    logger.error("cannot record an attempt", metadata: ["job": "\(job.id)", "error": "\(error)"])
                }
            }
            if let until = openedUntil {
                logger.warning(
                    "circuit breaker open", metadata: ["until": "\(ISO8601.format(until))", "last_error": "\(result.reason)"])
                _ = try? await journal.postpone(target: target.name, until: until)
            }
            let outcome: String = state.withLock { s in
                let outcome: String
                switch transition {
                case .delivered: outcome = "delivered"
                case .duplicate: outcome = "duplicate"
                case .retry: outcome = "retry"
                case .dead: outcome = "dead"
                }
                guard recorded else { return outcome }
                switch transition {
                case .delivered: s.delivered += 1
                case .duplicate: s.duplicates += 1
                case .retry:
                    s.retries += 1
                    s.lastError = result.reason
                    s.lastErrorAt = now
                case .dead(let reason):
                    s.dead += 1
                    s.lastError = reason
                    s.lastErrorAt = now
                }
                return outcome
            }
            if recorded { options.onAttempt?(target.name, outcome, now.timeIntervalSince(started)) }
            // The metadata is built only for a line the log level lets through.
            func meta(_ reason: String? = nil) -> Logger.Metadata {
                var m: Logger.Metadata = [
                    "job": "\(job.id)", "rule": "\(job.job.rule)", "dag_id": "\(job.job.dagId)", "dag_run_id": "\(job.job.dagRunId)",
                    "outcome": "\(outcome)",
                ]
                if let reason { m["reason"] = "\(reason)" }
                return m
            }
            switch transition {
            case .dead(let reason):
                logger.warning("job moved to the dead-letter queue", metadata: meta(reason))
            case .retry:
                logger.info("trigger failed; will retry", metadata: meta(result.reason))
            case .delivered, .duplicate:
                logger.debug("trigger answered", metadata: meta())
            }
            finish(job.id)
        }

        private func finish(_ id: Int64) {
            state.withLock { _ = $0.inFlight.remove(id) }
            wake.signal()
        }
    }
}
