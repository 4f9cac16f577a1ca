import BridgeCore
import BridgeStore
import Foundation
import Testing

@Suite("Dead-letter queue: list, replay, purge, audit")
struct DeadLetterTests {
    @Test("filters by rule, target, reason, time and limit")
    func filters() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let a = try await makeDeadJob(journal, "f-1", target: "prod", rule: "build", reason: "DAG 'x' not found")
        let b = try await makeDeadJob(journal, "f-2", target: "dev", rule: "build", reason: "bad conf (422)")
        let c = try await makeDeadJob(journal, "f-3", target: "prod", rule: "deploy", reason: "gave up: max_attempts (10)")
        _ = try await journal.enqueue(event: makeEvent("live"), jobs: [makeJob("live")])
        #expect(try await journal.jobs(matching: JobFilter()).map(\.id) == [a, b, c])
        #expect(try await journal.jobs(matching: JobFilter(target: "prod")).map(\.id) == [a, c])
        #expect(try await journal.jobs(matching: JobFilter(rule: "build")).map(\.id) == [a, b])
        #expect(try await journal.jobs(matching: JobFilter(reason: "NOT FOUND")).map(\.id) == [a])
        #expect(try await journal.jobs(matching: JobFilter(limit: 2)).map(\.id) == [a, b])
        #expect(try await journal.jobs(matching: JobFilter(since: Date().addingTimeInterval(60))).isEmpty)
        #expect(try await journal.jobs(matching: JobFilter(until: Date().addingTimeInterval(-60))).isEmpty)
        #expect(try await journal.jobs(matching: JobFilter(since: Date().addingTimeInterval(-60))).count == 3)
        #expect(try await journal.jobs(matching: JobFilter(state: .pending)).count == 1)
        #expect(try await journal.counts().dead == 3)
    }

    @Test("a dead job keeps the event, the request, every attempt and the final reason")
    func keepsHistory() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let id = try await journal.enqueue(event: makeEvent("h-1"), jobs: [makeJob("build__h-1")])[0]
        for i in 0..<3 {
            _ = try await journal.claimDue(target: "prod", limit: 1)
            let last = i == 2
            try await journal.complete(
                jobID: id, attempt: attempt("retry", status: 503, reason: "HTTP 503 try \(i)"),
                transition: last ? .dead(reason: "gave up: max_attempts (3) reached; last error: HTTP 503 try 2") : .retry(at: Date()))
        }
        let job = try #require(try await journal.job(id: id))
        #expect(job.state == .dead)
        #expect(job.attempts == 3)
        #expect(job.lastStatus == 503)
        #expect(job.lastReason == "gave up: max_attempts (3) reached; last error: HTTP 503 try 2")
        #expect(job.job == makeJob("build__h-1"))
        let attempts = try await journal.attempts(jobID: id)
        #expect(attempts.map(\.reason) == ["HTTP 503 try 0", "HTTP 503 try 1", "HTTP 503 try 2"])
        #expect(attempts.allSatisfy { $0.httpStatus == 503 && $0.answer == "{\"detail\":\"x\"}" })
        #expect(try await journal.event(rowID: job.eventRef)?.eventID == "h-1")
    }

    @Test("replay keeps the run id, resets attempts, spreads due times by rate and is audited")
    func replaySameRunID() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        var ids: [Int64] = []
        for i in 0..<4 { ids.append(try await makeDeadJob(journal, "p-\(i)")) }
        let now = Date()
        let dry = try await journal.replay(ids: ids, actor: "ops@box", filters: "--all", options: ReplayOptions(dryRun: true), now: now)
        #expect(dry.allSatisfy { $0.ok })
        #expect(try await journal.counts().dead == 4)
        let results = try await journal.replay(
            ids: ids + [999], actor: "ops@box", filters: "--all", options: ReplayOptions(rate: 2), now: now)
        #expect(results.map(\.ok) == [true, true, true, true, false])
        #expect(results[4].message.contains("no job 999"))
        #expect(results[0].newRunID == "build__p-0")
        let due = results.prefix(4).compactMap { $0.dueAt?.timeIntervalSince(now) }
        #expect(due.map { ($0 * 10).rounded() / 10 } == [0, 0.5, 1, 1.5])
        let job = try #require(try await journal.job(id: ids[1]))
        #expect(job.state == .pending)
        #expect(job.attempts == 0)
        #expect(job.replays == 1)
        #expect(job.job.dagRunId == "build__p-1")
        #expect(job.ageFrom.timeIntervalSince1970 == now.timeIntervalSince1970)
        #expect(try await journal.attempts(jobID: ids[1]).count == 1)  // history kept
        let audit = try await journal.audit(jobID: ids[1])
        #expect(audit.count == 1)
        #expect(audit[0].actor == "ops@box")
        #expect(audit[0].action == "replay")
        #expect(audit[0].jobCount == 4)
        #expect(journal.queueDepth == 4)
        // Pending again: a second replay refuses until the job has finished.
        let again = try await journal.replay(ids: [ids[0]], actor: "ops@box", filters: "ids")
        #expect(!again[0].ok)
        #expect(again[0].message.contains("is pending: only finished jobs"))
        _ = try await journal.claimDue(target: "prod", limit: 10, now: now.addingTimeInterval(10))
        try await journal.complete(jobID: ids[0], attempt: attempt("delivered", status: 200), transition: .delivered)
        let delivered = try await journal.replay(ids: [ids[0]], actor: "ops@box", filters: "ids")
        #expect(delivered[0].ok)
        #expect(try await journal.job(id: ids[0])?.state == .pending)
    }

    @Test("replay with a new run id appends __r<n>, replacing an earlier suffix")
    func replayNewRunID() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let id = try await makeDeadJob(journal, "n-1")
        let r1 = try await journal.replay(ids: [id], actor: "a", filters: "", options: ReplayOptions(newRunID: true))
        #expect(r1[0].newRunID == "build__n-1__r1")
        _ = try await journal.claimDue(target: "prod", limit: 10)
        try await journal.complete(jobID: id, attempt: attempt("permanent", status: 404), transition: .dead(reason: "x"))
        let r2 = try await journal.replay(ids: [id], actor: "a", filters: "", options: ReplayOptions(newRunID: true, note: "rerender"))
        #expect(r2[0].newRunID == "build__n-1__r2")
        let audit = try await journal.audit(jobID: id)
        #expect(audit.count == 2)
        #expect(audit[1].options.contains("new-run-id"))
        #expect(audit[1].options.contains("rerender"))
        #expect(audit[1].detail == "run id build__n-1__r2")
    }

    @Test("a replay transform re-renders, skips or fails per job")
    func replayTransform() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let a = try await makeDeadJob(journal, "t-1")
        let b = try await makeDeadJob(journal, "t-2")
        let c = try await makeDeadJob(journal, "t-3")
        struct RenderError: Error, CustomStringConvertible { var description: String { "template failed" } }
        let results = try await journal.replay(ids: [a, b, c], actor: "a", filters: "") { job, event in
            switch event.eventID {
            case "t-1":
                var j = job.job
                j.conf = ["rendered": .string(event.eventID)]
                return j
            case "t-2": return nil
            default: throw RenderError()
            }
        }
        #expect(results.map(\.ok) == [true, false, false])
        #expect(results[1].message.contains("produce no job"))
        #expect(results[2].message.contains("template failed"))
        #expect(try await journal.job(id: a)?.job.conf == ["rendered": "t-1"])
        #expect(try await journal.job(id: b)?.state == .dead)
    }

    @Test("purge deletes only dead jobs, their attempts and orphaned events, and is audited")
    func purge() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let dead = try await makeDeadJob(journal, "x-1")
        let live = try await journal.enqueue(event: makeEvent("x-2"), jobs: [makeJob("live")])[0]
        let dry = try await journal.purge(ids: [dead], actor: "ops", filters: "ids", dryRun: true)
        #expect(dry[0].ok && dry[0].message == "would purge")
        #expect(try await journal.job(id: dead) != nil)
        let results = try await journal.purge(ids: [dead, live, 12345], actor: "ops", filters: "ids")
        #expect(results.map(\.ok) == [true, false, false])
        #expect(results[1].message.contains("pending, not dead"))
        #expect(try await journal.job(id: dead) == nil)
        #expect(try await journal.attempts(jobID: dead).isEmpty)
        #expect(try await journal.job(id: live) != nil)
        let log = try await journal.auditLog()
        #expect(log.count == 1)
        #expect(log[0].action == "purge")
        #expect(log[0].jobCount == 1)
        // The purged event can come again as new.
        let again = try await journal.enqueue(event: makeEvent("x-1"), jobs: [makeJob("build__x-1")])
        #expect(again[0] != dead)
    }

    @Test(
        "replay run ids stay within Airflow's alphabet and length",
        arguments: [
            ("build__e1", 1, "build__e1__r1"),
            ("build__e1__r1", 2, "build__e1__r2"),
            ("build__e1__rx", 3, "build__e1__rx__r3"),
            (String(repeating: "a", count: 250), 12, String(repeating: "a", count: 245) + "__r12"),
        ])
    func replayRunIDs(input: String, replay: Int, expected: String) {
        let id = Journal.replayRunID(input, replay: replay)
        #expect(id == expected)
        #expect(RunID.isValid(id))
    }
}
