import BridgeAirflow
import BridgeCore
import BridgeServer
import BridgeDispatch
import BridgeIntake
import BridgeWebhooks
import BridgeStore
import Foundation
import Testing

/// A small seeded generator (SplitMix64) so every property test run is reproducible.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Retry state machine (seeded property tests)")
struct RetryStateMachineTests {
    static func randomResult(_ rng: inout SeededRandom) -> TriggerResult {
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<8: return TriggerResult(outcome: .delivered(run: nil), reason: "created", httpStatus: 200)
        case 8..<12: return TriggerResult(outcome: .duplicate, reason: "exists", httpStatus: 409)
        case 12..<15: return TriggerResult(outcome: .permanent, reason: "DAG 'd' not found", httpStatus: 404)
        case 15..<30:
            return TriggerResult(
                outcome: .retry(retryAfter: Double.random(in: 0...2000, using: &rng)), reason: "HTTP 429", httpStatus: 429)
        default: return TriggerResult(outcome: .retry(retryAfter: nil), reason: "HTTP 503", httpStatus: 503)
        }
    }

    @Test("every outcome sequence ends in exactly one terminal state within the limits", arguments: 0..<300)
    func sequences(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let policy = DispatchPolicy(
            retry: RetryPolicy(
                maxAttempts: Int.random(in: 1...15, using: &rng), maxAge: Double.random(in: 1...3600, using: &rng),
                initialBackoff: Double.random(in: 0.01...5, using: &rng), maxBackoff: Double.random(in: 1...300, using: &rng),
                maxRetryAfter: Double.random(in: 1...900, using: &rng)))
        let created = Date(timeIntervalSince1970: 1_000_000)
        var now = created
        var attempts = 0
        var terminal: JobTransition?
        var steps = 0
        while terminal == nil {
            steps += 1
            #expect(steps <= policy.maxAttempts, "more attempts than max_attempts")
            let result = Self.randomResult(&rng)
            let t = Backoff.transition(
                for: result, attemptsBefore: attempts, ageFrom: created, now: now, policy: policy, using: &rng)
            attempts += 1
            switch t {
            case .retry(let at):
                #expect(at >= now)
                #expect(at <= created.addingTimeInterval(policy.maxAge), "retry scheduled past max_age")
                let delay = at.timeIntervalSince(now)
                if case .retry(let ra?) = result.outcome {
                    #expect(delay <= min(ra, policy.maxRetryAfter) + 1e-6, "Retry-After cap")
                } else {
                    let cap = Backoff.ceiling(attempt: attempts, initial: policy.initialBackoff, max: policy.maxBackoff)
                    #expect(delay <= cap + 1e-6, "backoff above its ceiling")
                }
                #expect(attempts < policy.maxAttempts)
                now = at
            case .delivered:
                #expect(result.outcome == .delivered(run: nil))
                terminal = t
            case .duplicate:
                #expect(result.outcome == .duplicate)
                terminal = t
            case .dead(let reason):
                switch result.outcome {
                case .permanent:
                    #expect(reason.contains("DAG 'd' not found"))
                case .retry:
                    #expect(reason.contains("last error: \(result.reason)"))
                    if attempts >= policy.maxAttempts {
                        #expect(reason.contains("max_attempts (\(policy.maxAttempts))"))
                    } else {
                        #expect(reason.contains("max_age"))
                        #expect(now >= created.addingTimeInterval(policy.maxAge))
                    }
                default:
                    Issue.record("dead after a success")
                }
                terminal = t
            }
        }
        #expect(attempts == steps)
        #expect(attempts <= policy.maxAttempts)
    }

    @Test("full jitter stays within 0...min(max, initial*2^(n-1)) and spreads", arguments: [1, 2, 5, 9, 30, 200])
    func jitterBounds(attempt: Int) {
        var rng = SeededRandom(seed: UInt64(attempt))
        let cap = Backoff.ceiling(attempt: attempt, initial: 1, max: 300)
        #expect(cap == min(300, pow(2, Double(attempt - 1))))
        var seen: [Double] = []
        for _ in 0..<500 {
            let d = Backoff.fullJitter(attempt: attempt, initial: 1, max: 300, using: &rng)
            #expect(d >= 0 && d <= cap)
            seen.append(d)
        }
        #expect(seen.max()! > cap * 0.8)
        #expect(seen.min()! < cap * 0.2)
    }

    @Test("rule overrides replace only the fields they set")
    func overrides() {
        let p = DispatchPolicy().applying(RetryOverrides(maxAttempts: 3, maxBackoff: 10))
        #expect(p.maxAttempts == 3)
        #expect(p.maxBackoff == 10)
        #expect(p.maxAge == 86400)
        #expect(p.initialBackoff == 1)
    }

    @Test("circuit breaker: opens after N failures, waits the cool-down, one probe, closes on success", arguments: 0..<50)
    func breaker(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let threshold = Int.random(in: 1...6, using: &rng)
        var b = CircuitBreaker(threshold: threshold, cooldown: 10)
        var now = Date(timeIntervalSince1970: 0)
        var consecutive = 0
        for _ in 0..<200 {
            now = now.addingTimeInterval(Double.random(in: 0...4, using: &rng))
            let failure = Bool.random(using: &rng)
            switch b.permission(now: now) {
            case .allowed:
                let opened = b.record(failure: failure, now: now)
                consecutive = failure ? consecutive + 1 : 0
                if consecutive >= threshold {
                    #expect(opened == now.addingTimeInterval(10))
                    #expect(b.phase == .open)
                    consecutive = 0
                } else {
                    #expect(opened == nil)
                    #expect(b.phase == .closed)
                }
            case .wait(let until):
                let u = try! #require(until)
                #expect(u > now)
                #expect(b.phase == .open)
            case .probe:
                b.probeStarted()
                #expect(b.permission(now: now) == .wait(until: nil), "only one probe at a time")
                let opened = b.record(failure: failure, now: now)
                #expect(b.phase == (failure ? .open : .closed))
                #expect((opened != nil) == failure)
                consecutive = 0
            }
        }
    }

    @Test("token bucket allows the burst, then the rate")
    func rateLimiter() {
        let t0 = Date(timeIntervalSince1970: 0)
        var r = RateLimiter(rate: 10, burst: 3, now: t0)
        #expect(r.available(now: t0) == 3)
        for _ in 0..<3 { r.take(now: t0) }
        #expect(r.available(now: t0) == 0)
        #expect(abs(r.nextToken(now: t0).timeIntervalSince(t0) - 0.1) < 1e-6)
        #expect(r.available(now: t0.addingTimeInterval(0.25)) == 2)
        #expect(r.available(now: t0.addingTimeInterval(100)) == 3)
    }
}
