import BridgeCore
import BridgeDispatch
import BridgeStore
import Foundation
import Testing

/// The adaptive limit against a simulated target: a lane that always has work keeps `current` calls
/// in flight; the target serves `workers` calls at once (latency grows with the calls beyond them)
/// and fails every call that finds more than `capacity` in flight after `failAfter` seconds.
struct SimulatedTarget {
    var service = 0.03
    var workers = 2
    var capacity = 4
    var failAfter = 5.0
    /// No call reaches it (connection refused) while true.
    var down = false

    func answer(inFlight k: Int) -> (ConcurrencyLimit.Signal, Double) {
        if down { return (.unreachable, 0.001) }
        if k > capacity { return (.overloaded(latency: failAfter), failAfter) }
        return (.answered(latency: service * max(1, Double(k) / Double(workers))), service * max(1, Double(k) / Double(workers)))
    }
}

/// Runs the lane against `target` for `calls` completed calls; returns the limit seen at each completion.
struct Simulation {
    var limit: ConcurrencyLimit
    var clock = Date(timeIntervalSince1970: 1_800_000_000)
    var inFlight: [(end: Date, ticket: ConcurrencyLimit.Ticket, signal: ConcurrencyLimit.Signal)] = []
    var failures = 0
    var delivered = 0
    var maxSeen = 0

    init(max: Int, adaptive: Bool = true) { limit = ConcurrencyLimit(maximum: max, adaptive: adaptive) }

    @discardableResult
    mutating func run(_ target: SimulatedTarget, calls: Int) -> [Int] {
        var seen: [Int] = []
        for _ in 0..<calls {
            while inFlight.count < limit.current {
                let ticket = limit.started(inFlight: inFlight.count)
                let (signal, seconds) = target.answer(inFlight: inFlight.count + 1)
                inFlight.append((clock.addingTimeInterval(seconds), ticket, signal))
                maxSeen = max(maxSeen, inFlight.count)
            }
            let i = inFlight.indices.min { inFlight[$0].end < inFlight[$1].end }!
            let call = inFlight.remove(at: i)
            clock = max(clock, call.end)
            if case .answered = call.signal { delivered += 1 } else { failures += 1 }
            _ = limit.finished(call.ticket, call.signal, now: clock)
            seen.append(limit.current)
        }
        return seen
    }
}

@Suite struct ConcurrencyLimitTests {
    @Test("converges near the target's capacity and never exceeds max_in_flight")
    func convergesNearCapacity() {
        var sim = Simulation(max: 16)
        let seen = sim.run(SimulatedTarget(workers: 2, capacity: 6), calls: 5000)
        let tail = seen.suffix(2000)
        let mean = Double(tail.reduce(0, +)) / Double(tail.count)
        #expect(sim.maxSeen <= 16 && seen.allSatisfy { $0 >= 1 && $0 <= 16 })
        // Two workers: two calls are served, more only queue; past 6 every call fails.
        #expect(mean >= 2 && mean <= 5, "mean limit \(mean)")
        #expect(Double(sim.failures) / 5000 < 0.01, "\(sim.failures) overload failures")
    }

    @Test("a fast target with room gets max_in_flight")
    func growsToMaximum() {
        var sim = Simulation(max: 8)
        let seen = sim.run(SimulatedTarget(workers: 64, capacity: 100), calls: 500)
        #expect(seen.last == 8)
        #expect(sim.maxSeen == 8 && sim.failures == 0)
    }

    @Test("an Airflow on SQLite (one call at a time, a second one fails after 5 s): stays at 1, probing 2 rarely")
    func sqliteLikeTarget() {
        var sim = Simulation(max: 16)
        let target = SimulatedTarget(service: 0.03, workers: 1, capacity: 1, failAfter: 5)
        let start = sim.clock
        sim.run(target, calls: 30_000)
        let seconds = sim.clock.timeIntervalSince(start)
        // Each failed probe costs ~5 s; blocked levels back off (30 s doubling to 10 min), so over
        // ~15 minutes only a handful of probes may fail.
        #expect(sim.failures <= 12, "\(sim.failures) failures in \(Int(seconds)) s")
        let rate = Double(sim.delivered) / seconds
        #expect(rate >= 0.8 / 0.03, "\(rate) calls/s; one call at a time would do \(1 / 0.03)")
    }

    @Test("recovers after an outage: down to 1 while unreachable, back up once the target answers")
    func recoversAfterOutage() {
        var sim = Simulation(max: 8)
        sim.run(SimulatedTarget(workers: 64, capacity: 100), calls: 300)
        #expect(sim.limit.current == 8)
        sim.run(SimulatedTarget(down: true), calls: 50)
        #expect(sim.limit.current == 1)
        let after = sim.run(SimulatedTarget(workers: 64, capacity: 100), calls: 200)
        #expect(after.last == 8, "limit after recovery \(after.last ?? 0)")
        // An outage does not block a level: the climb back is slow start, not a 30 s wait.
        #expect(after.firstIndex(of: 8).map { $0 < 60 } == true)
    }

    @Test("overload halves the limit once per round; the overloaded level is blocked for a while")
    func overloadCutsOncePerRound() {
        var l = ConcurrencyLimit(maximum: 16, adaptive: true)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        // Slow start to 8.
        var tickets: [ConcurrencyLimit.Ticket] = []
        while l.current < 8 {
            let t = l.started(inFlight: l.current - 1)
            _ = l.finished(t, .answered(latency: 0.01), now: t0)
        }
        #expect(l.current == 8)
        for i in 0..<8 { tickets.append(l.started(inFlight: i)) }
        let change = l.finished(tickets[0], .overloaded(latency: 0.5), now: t0)
        #expect(change == ConcurrencyLimit.Change(from: 8, to: 4, reason: "overload"))
        // The other calls of that round fail too: no further cut.
        for t in tickets.dropFirst() { #expect(l.finished(t, .overloaded(latency: 0.5), now: t0) == nil) }
        #expect(l.current == 4)
        // Fast answers do not grow it past the level it was cut to before the block ends.
        for i in 0..<400 {
            let t = l.started(inFlight: l.current - 1)
            _ = l.finished(t, .answered(latency: 0.01), now: t0.addingTimeInterval(Double(i) * 0.01))
        }
        #expect(l.current == 4)
        // A milder cut between two overload answers of one round: the overload still halves the level it saw.
        var m = ConcurrencyLimit(maximum: 16, adaptive: true)
        while m.current < 4 { _ = m.finished(m.started(inFlight: m.current - 1), .answered(latency: 0.01), now: t0) }
        let round = (0..<4).map { m.started(inFlight: $0) }
        _ = m.finished(round[0], .answered(latency: 5), now: t0)  // a success that waited behind a lock: latency
        #expect(m.current < 4)
        #expect(m.finished(round[1], .overloaded(latency: 5), now: t0)?.to == 2)
        #expect(m.finished(round[2], .overloaded(latency: 5), now: t0) == nil)
        let late = t0.addingTimeInterval(ConcurrencyLimit.firstBlock + 1)
        for _ in 0..<50 {
            let t = l.started(inFlight: l.current - 1)
            _ = l.finished(t, .answered(latency: 0.01), now: late)
        }
        #expect(l.current >= 8)
    }

    @Test("fixed concurrency is always max_in_flight")
    func fixed() {
        var sim = Simulation(max: 4, adaptive: false)
        let seen = sim.run(SimulatedTarget(workers: 1, capacity: 2), calls: 200)
        #expect(seen.allSatisfy { $0 == 4 })
        #expect(sim.failures > 0)
    }

    @Test("an idle lane does not grow its limit: only answers to a used limit count")
    func idleDoesNotGrow() {
        var l = ConcurrencyLimit(maximum: 16, adaptive: true)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        for i in 0..<3 {
            let t = l.started(inFlight: 0)
            _ = l.finished(t, .answered(latency: 0.01), now: t0.addingTimeInterval(Double(i)))
        }
        // Each call was alone and the limit 1 was used; grows to 2, then 2 is never used.
        #expect(l.current == 2)
        for i in 0..<100 {
            let t = l.started(inFlight: 0)
            _ = l.finished(t, .answered(latency: 0.01), now: t0.addingTimeInterval(Double(10 + i)))
        }
        #expect(l.current == 2)
    }
}
