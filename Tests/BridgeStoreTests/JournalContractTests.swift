import BridgeCore
import BridgeStore
import BridgeStoreTesting
import Foundation
import Testing

/// Enqueues one event with one job, claims it and lets it die with `reason`.
func deadJob(_ journal: any JournalStore, _ id: String, target: String = "prod", rule: String = "build", reason: String = "DAG 'build_dag' not found")
    async throws -> Int64
{
    let ids = try await journal.enqueue(event: makeEvent(id), jobs: [makeJob("\(rule)__\(id)", rule: rule, target: target)])
    let claimed = try await journal.claimDue(target: target, limit: 1000)
    #expect(claimed.contains { $0.id == ids[0] })
    let others = claimed.map(\.id).filter { $0 != ids[0] }
    if !others.isEmpty { try await journal.release(jobIDs: others) }
    try await journal.complete(jobID: ids[0], attempt: attempt("permanent", status: 404, reason: reason), transition: .dead(reason: reason))
    return ids[0]
}

/// The journal contract, the same tests against the SQLite file and the shared PostgreSQL database.
@Suite("Journal contract (SQLite and PostgreSQL)")
struct JournalContractTests {
    @Test("enqueue is idempotent per source and event id, also for concurrent redeliveries", arguments: Backend.allCases)
    func dedupe(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        let first = try await j.enqueue(event: makeEvent("e-1"), jobs: [makeJob("a__e-1"), makeJob("b__e-1")])
        #expect(first.count == 2)
        #expect(try await j.enqueue(event: makeEvent("e-1"), jobs: [makeJob("a__e-1"), makeJob("b__e-1")]) == first)
        let concurrent = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for _ in 0..<20 { group.addTask { try await j.enqueue(event: makeEvent("e-2"), jobs: [makeJob("a__e-2")]) } }
            var out: [[Int64]] = []
            for try await ids in group { out.append(ids) }
            return out
        }
        #expect(Set(concurrent.map { $0[0] }).count == 1)
        // Another handle (another replica) sees the same event: no new jobs, the first ids.
        let other = try await t.second()
        #expect(try await other.enqueue(event: makeEvent("e-1"), jobs: [makeJob("a__e-1"), makeJob("b__e-1")]) == first)
        #expect(try await j.enqueue(event: makeEvent("e-1", source: "stripe"), jobs: [makeJob("a__e-1")]).count == 1)
        #expect(try await j.counts().pending == 4)
        #expect(j.queueDepth == 4)
        #expect(try await j.enqueue(event: makeEvent("e-3"), jobs: []) == [])
        if let pg = other as? PostgresJournal { await pg.close() }
    }

    @Test("a batch stores every event and dead letter; events repeated in it or stored before are skipped", arguments: Backend.allCases)
    func batch(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        _ = try await j.enqueue(event: makeEvent("e-0"), jobs: [makeJob("a__e-0")])
        var entries = (0..<300).map { i in JobStoreEntry(event: makeEvent("e-\(i)"), jobs: [makeJob("a__e-\(i)")], failures: []) }
        entries.append(JobStoreEntry(event: makeEvent("poison"), jobs: [], failures: [RenderFailure(rule: "kafka", target: "", reason: "not JSON")]))
        entries.append(JobStoreEntry(event: makeEvent("nothing"), jobs: [], failures: []))
        entries.append(entries[1])
        try await j.enqueueBatch(entries)
        let counts = try await j.counts()
        #expect(counts.pending == 300)
        #expect(counts.dead == 1)
        #expect(try await j.events(eventID: "nothing").isEmpty)
        let dead = try #require(try await j.jobs(matching: JobFilter()).first)
        #expect(dead.lastReason == "render error: not JSON")
        #expect(dead.job.dagRunId == "kafka__poison")
    }

    @Test("the stored event comes back whole: headers, raw bytes (also binary and NUL), parsed body", arguments: Backend.allCases)
    func eventRoundTrip(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        let binary: [UInt8] = [0, 1, 2, 0xff, 0xfe, 0]
        let e1 = Event(id: "bin", source: "kafka", headers: ["k": "v"], rawBody: binary)
        let e2 = makeEvent("json", body: #"{"ref":"main","n":[1,2]}"#)
        let id1 = try await j.enqueue(event: e1, jobs: [makeJob("r__bin")])[0]
        let id2 = try await j.enqueue(event: e2, jobs: [makeJob("r__json")])[0]
        let job1 = try #require(try await j.job(id: id1))
        let job2 = try #require(try await j.job(id: id2))
        let s1 = try #require(try await j.event(rowID: job1.eventRef))
        let s2 = try #require(try await j.event(rowID: job2.eventRef))
        #expect(s1.rawBody == binary)
        #expect(s1.event.envelope == e1.envelope)
        #expect(s2.event.envelope == e2.envelope)
        #expect(s2.envelope["body"]?["n"] == [1, 2])
        let job = try #require(try await j.job(id: id2))
        #expect(job.job == makeJob("r__json"))
        #expect(job.state == .pending && job.attempts == 0 && job.replays == 0)
    }

    @Test("claims take due jobs per target in order; attempts move them to delivered, duplicate, retry or dead", arguments: Backend.allCases)
    func dispatchLifecycle(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        var ids: [Int64] = []
        for i in 0..<4 { ids += try await j.enqueue(event: makeEvent("e-\(i)"), jobs: [makeJob("r__e-\(i)")]) }
        _ = try await j.enqueue(event: makeEvent("other"), jobs: [makeJob("r__other", target: "staging")])
        #expect(Set(try await j.targetsWithPendingJobs()) == ["prod", "staging"])
        let claimed = try await j.claimDue(target: "prod", limit: 3)
        #expect(claimed.map(\.id) == Array(ids.prefix(3)))
        #expect(claimed.allSatisfy { $0.state == .inFlight })
        #expect(try await j.claimDue(target: "prod", limit: 10).map(\.id) == [ids[3]])
        #expect(try await j.claimDue(target: "prod", limit: 10).isEmpty)
        let now = Date()
        try await j.complete(jobID: ids[0], attempt: attempt("delivered", status: 200), transition: .delivered, now: now)
        try await j.complete(jobID: ids[1], attempt: attempt("duplicate", status: 409), transition: .duplicate, now: now)
        let later = now.addingTimeInterval(30)
        try await j.complete(jobID: ids[2], attempt: attempt("retry", status: 503, reason: "busy"), transition: .retry(at: later), now: now)
        try await j.complete(jobID: ids[3], attempt: attempt("permanent", status: 404), transition: .dead(reason: "DAG gone"), now: now)
        let c = try await j.counts()
        #expect(c.delivered == 1 && c.duplicate == 1 && c.pending == 2 && c.dead == 1 && c.inFlight == 0)
        let retried = try #require(try await j.job(id: ids[2]))
        #expect(retried.state == .pending && retried.attempts == 1 && retried.lastStatus == 503 && retried.lastReason == "busy")
        #expect(abs(retried.nextAttemptAt.timeIntervalSince(later)) < 0.01)
        #expect(try await j.claimDue(target: "prod", limit: 10, now: now).isEmpty)
        #expect(try await j.claimDue(target: "prod", limit: 10, now: later.addingTimeInterval(1)).map(\.id) == [ids[2]])
        let dead = try #require(try await j.job(id: ids[3]))
        #expect(dead.state == .dead && dead.lastReason == "DAG gone")
        let attempts = try await j.attempts(jobID: ids[3])
        #expect(attempts.count == 1 && attempts[0].httpStatus == 404 && attempts[0].outcome == "permanent")
        #expect(try await j.attempts(jobID: ids[0]).first?.answer == "{\"detail\":\"x\"}")
    }

    @Test("release hands jobs back without an attempt; postpone pushes due jobs; nextDue says when", arguments: Backend.allCases)
    func releasePostpone(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        let ids = try await j.enqueue(event: makeEvent("e"), jobs: [makeJob("a__e"), makeJob("b__e")])
        let claimed = try await j.claimDue(target: "prod", limit: 1)
        try await j.release(jobIDs: claimed.map(\.id))
        let back = try #require(try await j.job(id: claimed[0].id))
        #expect(back.state == .pending && back.attempts == 0)
        let until = Date().addingTimeInterval(60)
        #expect(try await j.postpone(target: "prod", until: until) == 2)
        let next = try #require(try await j.nextDue(target: "prod"))
        #expect(abs(next.timeIntervalSince(until)) < 0.01)
        #expect(try await j.claimDue(target: "prod", limit: 5).isEmpty)
        #expect(try await j.nextDue(target: "nobody") == nil)
        _ = ids
    }

    @Test("postpone by DAG pushes only that DAG's pending jobs (admission holds), without attempts", arguments: Backend.allCases)
    func postponeOneDAG(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        var other = makeJob("c__e")
        other.dagId = "other_dag"
        _ = try await j.enqueue(event: makeEvent("e"), jobs: [makeJob("a__e"), makeJob("b__e"), other])
        let until = Date().addingTimeInterval(60)
        #expect(try await j.postpone(target: "prod", dagId: "build_dag", until: until) == 2)
        #expect(try await j.postpone(target: "prod", dagId: "build_dag", until: until) == 0, "already pushed")
        #expect(try await j.postpone(target: "elsewhere", dagId: "other_dag", until: until) == 0)
        let due = try await j.claimDue(target: "prod", limit: 5)
        #expect(due.map(\.job.dagId) == ["other_dag"])
        #expect(due.allSatisfy { $0.attempts == 0 })
    }

    @Test("dead-letter listing filters by rule, target, reason text, time and limit", arguments: Backend.allCases)
    func filters(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        let a = try await deadJob(j, "a", rule: "build", reason: "DAG 'build_dag' not found")
        let b = try await deadJob(j, "b", target: "staging", rule: "deploy", reason: "conf rejected: bad ref")
        let c = try await deadJob(j, "c", rule: "build", reason: "Paused DAG")
        #expect(try await j.jobs(matching: JobFilter()).map(\.id) == [a, b, c])
        #expect(try await j.jobs(matching: JobFilter(rule: "build")).map(\.id) == [a, c])
        #expect(try await j.jobs(matching: JobFilter(target: "staging")).map(\.id) == [b])
        #expect(try await j.jobs(matching: JobFilter(reason: "paused dag")).map(\.id) == [c])
        #expect(try await j.jobs(matching: JobFilter(limit: 2)).map(\.id) == [a, b])
        #expect(try await j.jobs(matching: JobFilter(since: Date().addingTimeInterval(60))).isEmpty)
        #expect(try await j.jobs(matching: JobFilter(until: Date().addingTimeInterval(60))).count == 3)
        #expect(try await j.jobs(matching: JobFilter(state: .pending)).isEmpty)
        let detail = try #require(try await j.jobDetail(id: a))
        #expect(detail["job"]?["state"] == "dead")
        #expect(detail["attempts"]?.arrayValue?.count == 1)
        #expect(detail["event"]?["id"] == "a")
        let ev = try await j.eventDetail(eventID: "b")
        #expect(ev.count == 1 && ev[0]["runs"]?[0]?["state"] == "dead" && ev[0]["rules_matched"] == ["deploy"])
    }

    @Test("replay: same run id or a new one, only finished jobs, audited; two operators at once replay a job once", arguments: Backend.allCases)
    func replay(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        let a = try await deadJob(j, "a")
        let b = try await deadJob(j, "b")
        let live = try await j.enqueue(event: makeEvent("live"), jobs: [makeJob("build__live")])[0]
        let dry = try await j.replay(ids: [a], actor: "ops@host", filters: "--id", options: ReplayOptions(dryRun: true))
        #expect(dry[0].ok && dry[0].message.hasPrefix("would replay"))
        #expect(try await j.job(id: a)?.state == .dead)
        let r = try await j.replay(ids: [a, live, 999_999], actor: "ops@host", filters: "--id a", options: ReplayOptions(rate: 1000))
        #expect(r.map(\.ok) == [true, false, false])
        #expect(r[1].message.contains("only finished jobs"))
        #expect(r[2].message.contains("no job"))
        let replayed = try #require(try await j.job(id: a))
        #expect(replayed.state == .pending && replayed.attempts == 0 && replayed.replays == 1 && replayed.job.dagRunId == "build__a")
        #expect(try await j.audit(jobID: a).first?.actor == "ops@host")
        let n = try await j.replay(ids: [b], actor: "ops", filters: "", options: ReplayOptions(newRunID: true))
        #expect(n[0].newRunID == "build__b__r1")
        #expect(try await j.job(id: b)?.job.dagRunId == "build__b__r1")
        // Two handles replay the same dead job at the same moment: exactly one applies.
        let c = try await deadJob(j, "c")
        let other = try await t.second()
        async let first = j.replay(ids: [c], actor: "one", filters: "", options: ReplayOptions(newRunID: true))
        async let second = other.replay(ids: [c], actor: "two", filters: "", options: ReplayOptions(newRunID: true))
        let both = try await [first[0], second[0]]
        #expect(both.filter(\.ok).count == 1, "\(both)")
        #expect(try await j.job(id: c)?.replays == 1)
        #expect(try await j.auditLog(limit: 10).count >= 3)
        if let pg = other as? PostgresJournal { await pg.close() }
    }

    @Test("purge deletes only dead jobs, their attempts and orphaned events, audited", arguments: Backend.allCases)
    func purge(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        let a = try await deadJob(j, "a")
        let live = try await j.enqueue(event: makeEvent("live"), jobs: [makeJob("build__live")])[0]
        let r = try await j.purge(ids: [a, live], actor: "ops", filters: "--all")
        #expect(r.map(\.ok) == [true, false])
        #expect(try await j.job(id: a) == nil)
        #expect(try await j.attempts(jobID: a).isEmpty)
        #expect(try await j.events(eventID: "a").isEmpty)
        #expect(try await j.job(id: live) != nil)
        #expect(try await j.auditLog(limit: 1).first?.action == "purge")
    }

    @Test("retention prunes old delivered and duplicate jobs and their events; dead and recent jobs stay", arguments: Backend.allCases)
    func retention(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend) { $0.retention = 3600 }
        defer { Task { await t.cleanup() } }
        let j = t.journal
        var ids: [Int64] = []
        for i in 0..<5 { ids += try await j.enqueue(event: makeEvent("e-\(i)"), jobs: [makeJob("r__e-\(i)")]) }
        _ = try await j.claimDue(target: "prod", limit: 10)
        for id in ids.prefix(4) { try await j.complete(jobID: id, attempt: attempt("delivered", status: 200), transition: .delivered) }
        try await j.complete(jobID: ids[4], attempt: attempt("permanent", status: 404), transition: .dead(reason: "gone"))
        #expect(try await j.prune(now: Date()).jobs == 0)
        let r = try await j.prune(now: Date().addingTimeInterval(7200), chunk: 3)
        #expect(r.jobs == 4 && r.events == 4)
        #expect(try await j.counts().dead == 1)
        #expect(try await j.events(eventID: "e-4").count == 1)
    }

    @Test("backpressure turns on above high water and off only below low water", arguments: Backend.allCases)
    func backpressure(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend) {
            $0.highWater = 5
            $0.lowWater = 2
        }
        defer { Task { await t.cleanup() } }
        let j = t.journal
        for i in 0..<6 { _ = try await j.enqueue(event: makeEvent("e-\(i)"), jobs: [makeJob("r__e-\(i)")]) }
        #expect(j.isBackpressured)
        let claimed = try await j.claimDue(target: "prod", limit: 10)
        for c in claimed.prefix(3) { try await j.complete(jobID: c.id, attempt: attempt("delivered", status: 200), transition: .delivered) }
        #expect(j.isBackpressured)
        for c in claimed.dropFirst(3).prefix(2) { try await j.complete(jobID: c.id, attempt: attempt("delivered", status: 200), transition: .delivered) }
        #expect(!j.isBackpressured)
        try await j.refreshCounters()
        #expect(j.queueDepth == 1)
    }

    @Test("new jobs wake listeners after they are committed (on a shared journal, another replica's too)", arguments: Backend.allCases)
    func wakeUps(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        let woke = WakeCounter()
        j.onNewJobs { woke.add() }
        _ = try await j.enqueue(event: makeEvent("e"), jobs: [makeJob("r__e")])
        if backend == .postgres {
            // Another replica's commit reaches this one through LISTEN/NOTIFY.
            let other = try await t.second()
            try await Task.sleep(for: .milliseconds(300))
            let before = woke.value
            _ = try await other.enqueue(event: makeEvent("f"), jobs: [makeJob("r__f")])
            var waited = 0
            while woke.value == before, waited < 50 {
                try await Task.sleep(for: .milliseconds(100))
                waited += 1
            }
            #expect(woke.value > before, "a commit on another handle did not wake this one")
            if let pg = other as? PostgresJournal { await pg.close() }
        } else {
            #expect(woke.value >= 1)
        }
    }

    @Test("256 concurrent producers are group-committed: every job is there, flushes carry many events", arguments: Backend.allCases)
    func groupCommit(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        let all = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for p in 0..<256 {
                group.addTask {
                    var ids: [Int64] = []
                    for i in 0..<4 { ids += try await j.enqueue(event: makeEvent("p\(p)-\(i)"), jobs: [makeJob("b__p\(p)-\(i)")]) }
                    return ids
                }
            }
            var out: [Int64] = []
            for try await ids in group { out += ids }
            return out
        }
        #expect(all.count == 1024 && Set(all).count == 1024)
        #expect(try await j.counts().pending == 1024)
        let stats: WriterStats =
            switch j {
            case let s as Journal: s.writerStats
            case let p as PostgresJournal: p.writerStats
            default: WriterStats()
            }
        #expect(stats.largestBatch > 1 && stats.batches < stats.operations, "\(stats)")
    }
}

/// A thread-safe counter for callbacks.
final class WakeCounter: @unchecked Sendable {  // guarded by its lock
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
