import BridgeAirflow
import BridgeCore
import BridgeServer
import BridgeDispatch
import BridgeIntake
import BridgeWebhooks
import BridgeStore
import Foundation
import Synchronization
import Testing

@Suite("Dispatcher against an in-process target", .serialized)
struct DispatcherTests {
    static let fast = DispatchPolicy(
        retry: RetryPolicy(maxAttempts: 60, initialBackoff: 0.001, maxBackoff: 0.02, breakerThreshold: 0), maxInFlight: 8)

    @Test("under random failures every job ends delivered or duplicate and no run id is created twice", arguments: [1, 2, 3] as [UInt64])
    func randomFailures(seed: UInt64) async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let airflow = SimulatedAirflow(seed: seed, failRate: 0.4)
        let ids = try await enqueueJobs(journal, count: 300)
        let d = RunningDispatcher(Dispatcher(journal: journal, targets: [DispatchTarget(name: "prod", client: airflow, policy: Self.fast)]))
        #expect(try await eventually { try await terminalCount(journal) == 300 })
        try await d.stop()
        let counts = try await journal.counts()
        #expect(counts.delivered + counts.duplicate == 300)
        #expect(counts.dead == 0)
        let s = airflow.state.withLock { $0 }
        #expect(s.created.count == 300)
        #expect(s.created.values.allSatisfy { $0 == 1 })
        // Every call is recorded as an attempt.
        for id in ids.prefix(50) {
            let job = try #require(try await journal.job(id: id))
            #expect(job.attempts == s.calls[job.job.dagRunId])
            #expect(try await journal.attempts(jobID: id).count == job.attempts)
        }
        #expect(s.maxConcurrent <= 8)
    }

    @Test("an outage longer than the breaker threshold: jobs wait, then all are delivered without exhausting attempts")
    func outage() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let airflow = SimulatedAirflow()
        airflow.down = true
        let policy = DispatchPolicy(
            retry: RetryPolicy(maxAttempts: 6, initialBackoff: 0.01, maxBackoff: 0.05, breakerThreshold: 3, breakerCooldown: 0.25),
            maxInFlight: 4)
        let dispatcher = Dispatcher(journal: journal, targets: [DispatchTarget(name: "prod", client: airflow, policy: policy)])
        let d = RunningDispatcher(dispatcher)
        _ = try await enqueueJobs(journal, count: 40)
        #expect(await eventually(timeout: 30) { dispatcher.breakerState(target: "prod") == .open })
        try await Task.sleep(for: .seconds(2))  // eight cool-downs: without the breaker every job would be dead
        let callsDuringOutage = airflow.state.withLock { $0.calls.values.reduce(0, +) }
        #expect(callsDuringOutage < 40)
        #expect(try await journal.counts().dead == 0)
        airflow.down = false
        #expect(try await eventually { try await journal.counts().delivered == 40 })
        try await d.stop()
        let jobs = try await journal.jobs(matching: JobFilter(state: .delivered))
        #expect(jobs.allSatisfy { $0.attempts <= 3 }, "probes rotate over jobs: \(jobs.map(\.attempts))")
        #expect(dispatcher.breakerState(target: "prod") == .closed)
    }

    @Test("a hung target does not delay another; shutdown leaves its calls due, not in flight")
    func isolationAndShutdownDeadline() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        // The slow target's calls hang for 10 minutes. The fast target's 200 deliveries must all
        // complete while both slow calls are still hanging: shown by the slow target's live call
        // count, not by a wall-clock bound (on a loaded CI machine the journal's fsyncs alone can
        // take tens of seconds for 200 jobs).
        let slow = SimulatedAirflow(delay: 600)
        let fast = SimulatedAirflow()
        let dispatcher = Dispatcher(
            journal: journal,
            targets: [
                DispatchTarget(name: "slow", client: slow, policy: DispatchPolicy(maxInFlight: 2, concurrency: .fixed)),
                DispatchTarget(name: "fast", client: fast, policy: DispatchPolicy(maxInFlight: 4, concurrency: .fixed)),
            ],
            options: Dispatcher.Options(shutdownDeadline: .milliseconds(300)))
        let d = RunningDispatcher(dispatcher)
        _ = try await enqueueJobs(journal, count: 10, target: "slow", prefix: "s")
        #expect(await eventually(timeout: 30) { slow.state.withLock { $0.concurrent } == 2 })
        _ = try await enqueueJobs(journal, count: 200, target: "fast", prefix: "f")
        #expect(try await eventually(timeout: 120) { try await journal.counts().delivered == 200 })
        #expect(slow.state.withLock { $0.concurrent } == 2, "the slow calls were still hanging throughout")
        #expect(slow.state.withLock { $0.maxConcurrent } == 2)
        let stopStart = Date()
        try await d.stop()
        // The 0.3 s shutdown deadline, not the slow target's 10-minute calls (room for a loaded machine).
        #expect(Date().timeIntervalSince(stopStart) < 15)
        let c = try await journal.counts()
        #expect(c.inFlight == 0)
        #expect(c.pending == 10)
        #expect(try await journal.jobs(matching: JobFilter(state: .pending, target: "slow")).allSatisfy { $0.attempts == 0 })
    }

    @Test("graceful shutdown waits for calls in flight and records them")
    func gracefulShutdownWaits() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let airflow = SimulatedAirflow(delay: 0.4)
        let dispatcher = Dispatcher(
            journal: journal, targets: [DispatchTarget(name: "prod", client: airflow, policy: DispatchPolicy(maxInFlight: 4, concurrency: .fixed))])
        let d = RunningDispatcher(dispatcher)
        _ = try await enqueueJobs(journal, count: 12)
        #expect(await eventually { airflow.state.withLock { $0.concurrent } == 4 })
        try await d.stop()
        let c = try await journal.counts()
        #expect(c.delivered == 4)
        #expect(c.pending == 8)
        #expect(c.inFlight == 0)
    }

    @Test("max_in_flight and rate_limit are respected")
    func limits() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let airflow = SimulatedAirflow(delay: 0.02)
        _ = try await enqueueJobs(journal, count: 40)
        let start = Date()
        let d = RunningDispatcher(
            Dispatcher(
                journal: journal,
                targets: [DispatchTarget(name: "prod", client: airflow, policy: DispatchPolicy(maxInFlight: 3, rateLimit: 20))]))
        #expect(try await eventually { try await journal.counts().delivered == 40 })
        let elapsed = Date().timeIntervalSince(start)
        try await d.stop()
        #expect(airflow.state.withLock { $0.maxConcurrent } == 3)
        #expect(elapsed >= 0.9, "40 calls at 20/s with a burst of 20 take at least a second")
        let times = airflow.state.withLock { $0.callTimes }.sorted()
        try #require(times.count == 40)
        // The rate itself: a bucket of 20 refilled at 20/s lets at most 20 + 20·t calls start within t seconds
        // of the first, so call 20 + k starts no earlier than k/20 s after it (50 ms of slack for scheduling);
        // without the limiter all 40 start within about 0.3 s.
        for i in 20..<40 {
            let earliest = Double(i - 19) / 20 - 0.05
            #expect(times[i].timeIntervalSince(times[0]) >= earliest, "call \(i + 1) came \(times[i].timeIntervalSince(times[0])) s after the first")
        }
    }

    @Test("permanent failures and unknown targets go to the dead-letter queue with the reason")
    func deadLetters() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let airflow = SimulatedAirflow()
        airflow.failPermanently("r__e-1")
        _ = try await enqueueJobs(journal, count: 3)
        _ = try await enqueueJobs(journal, count: 2, target: "nowhere", prefix: "n")
        let d = RunningDispatcher(Dispatcher(journal: journal, targets: [DispatchTarget(name: "prod", client: airflow)]))
        #expect(try await eventually { try await terminalCount(journal) == 5 })
        try await d.stop()
        let dead = try await journal.jobs(matching: JobFilter())
        #expect(dead.count == 3)
        let missing = try #require(dead.first { $0.job.dagRunId == "r__e-1" })
        #expect(missing.lastReason?.contains("permanent failure (attempt 1): DAG 'dag' not found") == true)
        #expect(missing.lastStatus == 404)
        #expect(dead.filter { $0.job.target == "nowhere" }.allSatisfy {
            $0.lastReason?.contains("target 'nowhere' is not configured (known targets: prod)") == true
        })
    }

    @Test("max_attempts: a job that always fails is dead after exactly that many attempts")
    func maxAttempts() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let airflow = SimulatedAirflow()
        airflow.down = true
        var policy = Self.fast
        policy.maxAttempts = 4
        let ids = try await enqueueJobs(journal, count: 5)
        let d = RunningDispatcher(Dispatcher(journal: journal, targets: [DispatchTarget(name: "prod", client: airflow, policy: policy)]))
        #expect(try await eventually { try await journal.counts().dead == 5 })
        try await d.stop()
        for id in ids {
            let job = try #require(try await journal.job(id: id))
            #expect(job.attempts == 4)
            #expect(job.lastReason == "gave up: max_attempts (4) reached; last error: connection refused")
        }
    }

    @Test("new jobs wake the dispatcher at once; jobs left in flight by a crash are delivered on start")
    func wakeAndRecover() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        _ = try await enqueueJobs(journal, count: 3, prefix: "old")
        #expect(try await journal.claimDue(target: "prod", limit: 3).count == 3)  // a "crashed" dispatcher's claims
        let airflow = SimulatedAirflow()
        let d = RunningDispatcher(
            Dispatcher(
                journal: journal, targets: [DispatchTarget(name: "prod", client: airflow)],
                options: Dispatcher.Options(idlePoll: .seconds(30))))
        #expect(try await eventually(timeout: 30) { try await journal.counts().delivered == 3 })
        try await Task.sleep(for: .milliseconds(100))
        let t0 = Date()
        _ = try await enqueueJobs(journal, count: 1, prefix: "new")
        #expect(try await eventually(timeout: 25) { try await journal.counts().delivered == 4 })
        #expect(Date().timeIntervalSince(t0) < 10, "woken by the enqueue, not by the 30 s poll")
        try await d.stop()
    }

    @Test("a dead job replayed after its cause is fixed is delivered, and its run is created once")
    func replayFlow() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let airflow = SimulatedAirflow()
        airflow.failPermanently("r__e-0")
        let ids = try await enqueueJobs(journal, count: 1)
        let dispatcher = Dispatcher(journal: journal, targets: [DispatchTarget(name: "prod", client: airflow)])
        let d = RunningDispatcher(dispatcher)
        #expect(try await eventually { try await journal.counts().dead == 1 })
        airflow.state.withLock { _ = $0.permanent.remove("r__e-0") }  // the DAG was added
        _ = try await journal.replay(ids: ids, actor: "ops", filters: "ids")
        #expect(try await eventually { try await journal.counts().delivered == 1 })
        try await d.stop()
        #expect(airflow.state.withLock { $0.created["r__e-0"] } == 1)
        #expect(dispatcher.status().first?.delivered == 1)
        #expect(dispatcher.status().first?.dead == 1)
    }
}

@Suite("Dispatcher edge cases")
struct DispatcherEdgeTests {
    @Test("with no targets configured, every pending job goes to the dead-letter queue and stop() returns")
    func noTargets() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        _ = try await enqueueJobs(journal, count: 3)
        let d = RunningDispatcher(Dispatcher(journal: journal, targets: []))
        #expect(try await eventually(timeout: 30) { try await journal.counts().dead == 3 })
        try await d.stop()
        #expect(d.dispatcher.status().isEmpty)
        #expect(try await d.dispatcher.deadLetterCount() == 3)
        #expect(d.dispatcher.queueDepth == 0)
    }
}
