import BridgeCore
import BridgeDispatch
import BridgeStore
import Foundation
import Testing

/// The lane's decisions without a clock, a socket or a journal: times are given, answers are made up.
@Suite struct LaneStateTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func job(_ id: Int64, attempts: Int = 0, ageFrom: Date? = nil, retry: RetryOverrides? = nil) -> StoredJob {
        StoredJob(
            id: id, eventRef: 1, job: TriggerJob(rule: "r", target: "prod", dagId: "d", conf: [:], dagRunId: "run-\(id)", retry: retry),
            state: .inFlight, attempts: attempts, nextAttemptAt: t0, ageFrom: ageFrom ?? t0, createdAt: t0, updatedAt: t0, lastStatus: nil,
            lastReason: nil, replays: 0)
    }

    static let failure = TriggerResult(outcome: .retry(retryAfter: nil), reason: "HTTP 503", httpStatus: 503)
    static let success = TriggerResult(outcome: .delivered(run: nil), reason: "created", httpStatus: 200)

    @Test("plan: max_in_flight caps the claim; finished calls free their slots")
    func inFlightCap() {
        var s = LaneState(policy: DispatchPolicy(maxInFlight: 3, concurrency: .fixed))
        #expect(s.plan(now: t0) == .claim(limit: 3, probe: false))
        s.started([1, 2], now: t0, probe: false)
        #expect(s.plan(now: t0) == .claim(limit: 1, probe: false))
        s.started([3], now: t0, probe: false)
        #expect(s.plan(now: t0) == .wait(nil))
        s.finished(2)
        #expect(s.plan(now: t0) == .claim(limit: 1, probe: false))
    }

    @Test("plan: the rate limit waits for the next token")
    func rateLimit() {
        var s = LaneState(policy: DispatchPolicy(maxInFlight: 100, rateLimit: 2, concurrency: .fixed))
        guard case .claim(let n, false) = s.plan(now: t0) else { Issue.record("no claim"); return }
        s.started(Array(1...Int64(n)), now: t0, probe: false)
        guard case .wait(let until?) = s.plan(now: t0) else { Issue.record("no wait for a token"); return }
        #expect(until > t0 && until <= t0.addingTimeInterval(0.5))
    }

    @Test("attempts: delivered counts, retries are scheduled within the backoff cap, the last attempt dies")
    func transitions() {
        let policy = DispatchPolicy(retry: RetryPolicy(maxAttempts: 3, initialBackoff: 1, maxBackoff: 4, breakerThreshold: 0))
        var s = LaneState(policy: policy)
        var rng = SystemRandomNumberGenerator()
        #expect(s.attemptFinished(job(1), result: Self.success, now: t0, using: &rng) == .record(.delivered, breakerOpenedUntil: nil))
        guard case .record(.retry(let at), nil) = s.attemptFinished(job(2, attempts: 1), result: Self.failure, now: t0, using: &rng) else {
            Issue.record("expected a retry")
            return
        }
        #expect(at >= t0 && at <= t0.addingTimeInterval(2))
        guard case .record(.dead(let reason), nil) = s.attemptFinished(job(3, attempts: 2), result: Self.failure, now: t0, using: &rng) else {
            Issue.record("expected dead after max_attempts")
            return
        }
        #expect(reason.contains("max_attempts (3)") && reason.contains("HTTP 503"))
        // A rule's override wins over the target's policy.
        guard case .record(.dead, nil) = s.attemptFinished(job(4, retry: RetryOverrides(maxAttempts: 1)), result: Self.failure, now: t0, using: &rng)
        else {
            Issue.record("the rule's max_attempts was not applied")
            return
        }
        s.recorded(.delivered, reason: "created", now: t0)
        s.recorded(.dead(reason: reason), reason: "HTTP 503", now: t0)
        #expect(s.delivered == 1 && s.dead == 1 && s.lastError == reason && s.lastErrorAt == t0)
    }

    @Test("breaker: the failure that opens it postpones the job past the cool-down; one probe then closes it")
    func breaker() {
        let policy = DispatchPolicy(
            retry: RetryPolicy(maxAttempts: 100, initialBackoff: 1, maxBackoff: 1, breakerThreshold: 2, breakerCooldown: 30), concurrency: .fixed)
        var s = LaneState(policy: policy)
        var rng = SystemRandomNumberGenerator()
        s.started([1, 2], now: t0, probe: false)
        guard case .record(.retry, nil) = s.attemptFinished(job(1), result: Self.failure, now: t0, using: &rng) else {
            Issue.record("first failure")
            return
        }
        let opened = s.attemptFinished(job(2), result: Self.failure, now: t0, using: &rng)
        guard case .record(.retry(let at), let until?) = opened else {
            Issue.record("second failure should open the breaker: \(opened)")
            return
        }
        #expect(until == t0.addingTimeInterval(30) && at >= until)
        #expect(s.breaker.phase == .open)
        #expect(s.plan(now: t0.addingTimeInterval(1)) == .wait(until))
        #expect(s.plan(now: until) == .claim(limit: 1, probe: true))
        s.started([3], now: until, probe: true)
        #expect(s.plan(now: until) == .wait(nil))
        _ = s.attemptFinished(job(3), result: Self.success, now: until, using: &rng)
        #expect(s.breaker.phase == .closed)
    }

    static let overload = TriggerResult(outcome: .retry(retryAfter: nil), reason: "HTTP 500 database is locked", httpStatus: 500, duration: 4.7)
    static let refused = TriggerResult(outcome: .retry(retryAfter: nil), reason: "connection refused", duration: 0.001, reachedTarget: false)

    /// Runs calls one round at a time at the lane's current limit; `answer` gives each call's result.
    func rounds(_ s: inout LaneState, _ n: Int, from first: Int64 = 1, answer: (Int64) -> TriggerResult) -> Int64 {
        var rng = SystemRandomNumberGenerator()
        var id = first
        for _ in 0..<n {
            guard case .claim(let limit, _) = s.plan(now: t0) else { return id }
            let ids = (0..<Int64(limit)).map { id + $0 }
            id += Int64(limit)
            s.started(ids, now: t0, probe: false)
            for i in ids {
                _ = s.attemptFinished(job(i), result: answer(i), now: t0, using: &rng)
                s.finished(i)
            }
        }
        return id
    }

    @Test("adaptive: overload above one call in flight slows the lane and leaves the breaker closed; at one call it counts")
    func overloadIsNotAnOutage() {
        var s = LaneState(policy: DispatchPolicy(retry: RetryPolicy(breakerThreshold: 3), maxInFlight: 8))
        var next = rounds(&s, 6) { _ in TriggerResult(outcome: .delivered(run: nil), reason: "created", httpStatus: 200, duration: 0.02) }
        #expect(s.concurrency.current == 8)
        // Half the calls of every round fail with 500: the limit shrinks, the breaker never opens.
        next = rounds(&s, 3, from: next) { $0 % 2 == 0 ? Self.overload : Self.success }
        #expect(s.breaker.phase == .closed)
        #expect(s.concurrency.current < 8)
        #expect(s.takeLimitChange()?.reason == "overload")
        // Every call failing: the limit goes down to 1, then failures at one call in flight open it.
        next = rounds(&s, 12, from: next) { _ in Self.overload }
        #expect(s.concurrency.current == 1)
        #expect(s.breaker.phase == .open)
    }

    @Test("adaptive: an unreachable target counts towards the breaker at any concurrency")
    func unreachableOpensTheBreaker() {
        var s = LaneState(policy: DispatchPolicy(retry: RetryPolicy(breakerThreshold: 3), maxInFlight: 8))
        let next = rounds(&s, 6) { _ in TriggerResult(outcome: .delivered(run: nil), reason: "created", httpStatus: 200, duration: 0.02) }
        #expect(s.concurrency.current == 8)
        var rng = SystemRandomNumberGenerator()
        let ids = (0..<Int64(3)).map { next + $0 }
        s.started(ids, now: t0, probe: false)
        var opened: Date?
        for i in ids {
            if case .record(_, let until?) = s.attemptFinished(job(i), result: Self.refused, now: t0, using: &rng) { opened = until }
        }
        #expect(opened != nil && s.breaker.phase == .open)
    }

    @Test("the breaker's probe fails on an overload answer even above one call in flight")
    func probeFailsOnOverload() {
        var b = CircuitBreaker(threshold: 1, cooldown: 10)
        b.record(.failure, now: t0)
        #expect(b.permission(now: t0.addingTimeInterval(10)) == .probe)
        b.probeStarted()
        #expect(b.record(.neutral, now: t0.addingTimeInterval(11)) != nil)
        #expect(b.phase == .open)
        var closed = CircuitBreaker(threshold: 2, cooldown: 10)
        closed.record(.failure, now: t0)
        closed.record(.neutral, now: t0)
        #expect(closed.state == .closed(failures: 1))
    }

    @Test("shutdown: a released call's late answer is discarded")
    func released() {
        var s = LaneState(policy: DispatchPolicy())
        var rng = SystemRandomNumberGenerator()
        s.started([7, 8], now: t0, probe: false)
        #expect(Set(s.releaseInFlight()) == [7, 8])
        #expect(s.attemptFinished(job(7), result: Self.success, now: t0, using: &rng) == .discard)
    }
}
