@_spi(Testing) import BridgeStore
import BridgeCore
import Foundation
import Testing

@Suite("Journal on a real SQLite file")
struct JournalTests {
    @Test("an enqueued event and its jobs survive closing and reopening the file", arguments: StoreConfig.Durability.allCases)
    func durableAcrossReopen(durability: StoreConfig.Durability) async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var ids: [Int64] = []
        do {
            let journal = try Journal(path: dir.store, durability: durability)
            ids = try await journal.enqueue(
                event: makeEvent("d-1"),
                jobs: [makeJob("build__d-1"), makeJob("deploy__d-1", rule: "deploy", retry: RetryOverrides(maxAttempts: 3))])
            #expect(ids.count == 2)
        }
        let reopened = try Journal(path: dir.store)
        let first = try #require(try await reopened.job(id: ids[0]))
        #expect(first.state == .pending)
        #expect(first.job == makeJob("build__d-1"))
        let second = try #require(try await reopened.job(id: ids[1]))
        #expect(second.job.retry == RetryOverrides(maxAttempts: 3))
        let event = try #require(try await reopened.event(rowID: first.eventRef))
        #expect(event.eventID == "d-1")
        #expect(event.source == "github")
        #expect(event.rawBody == Array(#"{"ref":"main"}"#.utf8))
        #expect(event.envelope["headers"]?["x-github-event"] == "push")
        #expect(event.event.body["ref"] == "main")
        #expect(reopened.queueDepth == 2)
    }

    @Test("the writer connection commits with the configured synchronous level (GRDB's WAL setup must not lower FULL to NORMAL)",
        arguments: StoreConfig.Durability.allCases)
    func writerSynchronousLevel(durability: StoreConfig.Durability) async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store, durability: durability)
        #expect(try await journal.writerSynchronous() == (durability == .full ? 2 : 1))
        _ = try await journal.enqueue(event: makeEvent("s-1"), jobs: [makeJob("build__s-1")])
        #expect(try await journal.writerSynchronous() == (durability == .full ? 2 : 1))
    }

    @Test("a body that is the parsed raw body is stored once (as the raw bytes) and comes back whole, in its place; other bodies are stored as they are")
    func bodyStoredOnceWhenItIsTheRawBody() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let receivedAt = Date(timeIntervalSince1970: 1_700_000_000)
        let cases: [(String, Event, Bool)] = [
            // Parsed by Event itself: JSON, text that is not JSON, an empty body.
            ("json", Event(id: "b-1", source: "gh", receivedAt: receivedAt, headers: ["X-A": "1"], rawBody: Array(#"{"ref":"main","n":[1,2.5,null]}"#.utf8)), false),
            ("text", Event(id: "b-2", source: "gh", receivedAt: receivedAt, rawBody: Array("not json at all ✓".utf8)), false),
            ("empty", Event(id: "b-3", source: "gh", receivedAt: receivedAt, rawBody: []), false),
            // Parsed whole by the caller, who says so.
            ("caller", Event(id: "b-4", source: "gh", receivedAt: receivedAt, rawBody: Array(#"[1, {"k": "v"}]"#.utf8), body: [1, ["k": "v"]], bodyIsParsedRawBody: true), false),
            // A Kafka message: `kafka` follows `body` in the envelope, so the body must come back before it.
            ("kafka", Event(id: "b-8", source: "k", receivedAt: receivedAt, rawBody: Array(#"{"order":7}"#.utf8), body: ["order": 7],
                            bodyIsParsedRawBody: true, kafka: .init(topic: "orders", partition: 3, offset: 41, key: "k7")), false),
            // A body that is not the raw body (a form, a CloudEvent's data): stored in the envelope.
            ("form", Event(id: "b-5", source: "gh", receivedAt: receivedAt, rawBody: Array("a=1&b=x".utf8), body: ["a": "1", "b": "x"]), true),
            ("cloudevent", Event(id: "b-6", source: "gh", receivedAt: receivedAt, rawBody: Array(#"{"data":{"x":1}}"#.utf8), body: ["x": 1], cloudEvent: JSONObject(uniqueKeys: ["id"], values: ["c-1"])), true),
        ]
        for (name, event, bodyInColumn) in cases {
            let ids = try await journal.enqueue(event: event, jobs: [makeJob("build__\(event.id)")])
            let job = try #require(try await journal.job(id: ids[0]))
            let text = try #require(try await journal.storedEnvelopeText(rowID: job.eventRef))
            let stored = try JSONParser.parse(text)
            #expect((stored["body"] != nil) == bodyInColumn, "\(name): \(text)")
            #expect(stored["headers"] != nil, "\(name)")
            let back = try #require(try await journal.event(rowID: job.eventRef))
            // The same envelope, members in the same order, and the same event for re-rendering.
            #expect(JSONWriter.string(back.envelope) == JSONWriter.string(event.envelope), "\(name)")
            #expect(back.event.body == event.body, "\(name)")
            #expect(back.rawBody == event.rawBody, "\(name)")
        }
        // A row written whole by an earlier version reads back as it was.
        let old = Event(id: "b-7", source: "gh", receivedAt: receivedAt, rawBody: Array(#"{"v":1}"#.utf8))
        try Journal.execute(
            path: dir.store,
            sql: "INSERT INTO events (source, event_id, received_at, envelope, raw_body) VALUES ('gh', 'b-7', 0, '\(JSONWriter.string(old.envelope))', x'7b2276223a317d')")
        let oldRow = try #require(try await journal.events(eventID: "b-7").first)
        #expect(JSONWriter.string(oldRow.envelope) == JSONWriter.string(old.envelope))
    }

    @Test("256 concurrent producers are group-committed: every row is there, transactions carry many events")
    func groupCommit() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let producers = 256, perProducer = 8
        let all = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for p in 0..<producers {
                group.addTask {
                    var ids: [Int64] = []
                    for i in 0..<perProducer {
                        let id = "p\(p)-\(i)"
                        ids += try await journal.enqueue(event: makeEvent(id), jobs: [makeJob("build__\(id)")])
                    }
                    return ids
                }
            }
            var out: [Int64] = []
            for try await ids in group { out += ids }
            return out
        }
        #expect(all.count == producers * perProducer)
        #expect(Set(all).count == all.count)
        let counts = try await journal.counts()
        #expect(counts.pending == producers * perProducer)
        let stats = journal.writerStats
        #expect(stats.operations == producers * perProducer)
        #expect(stats.largestBatch > 1)
        #expect(stats.batches < stats.operations)
    }

    @Test("redelivering an event (same source and id) creates no new jobs and returns the first ids")
    func idempotentRedelivery() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let first = try await journal.enqueue(event: makeEvent("e-1"), jobs: [makeJob("a__e-1"), makeJob("b__e-1")])
        let again = try await journal.enqueue(event: makeEvent("e-1"), jobs: [makeJob("a__e-1"), makeJob("b__e-1")])
        #expect(again == first)
        // Concurrent redeliveries of one new event: one set of jobs.
        let concurrent = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for _ in 0..<20 { group.addTask { try await journal.enqueue(event: makeEvent("e-2"), jobs: [makeJob("a__e-2")]) } }
            var out: [[Int64]] = []
            for try await ids in group { out.append(ids) }
            return out
        }
        #expect(Set(concurrent.map { $0[0] }).count == 1)
        // Same id from another source is another event.
        let other = try await journal.enqueue(event: makeEvent("e-1", source: "stripe"), jobs: [makeJob("a__e-1")])
        #expect(other != [first[0]])
        #expect(try await journal.counts().pending == 4)
        #expect(journal.queueDepth == 4)
        #expect(try await journal.enqueue(event: makeEvent("e-3"), jobs: []) == [])
    }

    @Test("a batch is one transaction: every event and dead letter durable after one call, redeliveries skipped")
    func batch() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var journal: Journal? = try Journal(path: dir.store)
        _ = try await journal!.enqueue(event: makeEvent("e-0"), jobs: [makeJob("a__e-0")])
        let before = journal!.writerStats.batches
        var entries = (0..<500).map { i in JobStoreEntry(event: makeEvent("e-\(i)"), jobs: [makeJob("a__e-\(i)")], failures: []) }
        entries.append(JobStoreEntry(event: makeEvent("poison"), jobs: [], failures: [RenderFailure(rule: "kafka", target: "", reason: "not JSON")]))
        entries.append(JobStoreEntry(event: makeEvent("nothing"), jobs: [], failures: []))
        entries.append(entries[1])  // the same event twice in one batch
        try await journal!.enqueueBatch(entries)
        #expect(journal!.writerStats.batches == before + 1)
        #expect(journal!.queueDepth == 500)
        journal = nil
        let reopened = try Journal(path: dir.store)
        let counts = try await reopened.counts()
        #expect(counts.pending == 500)
        #expect(counts.dead == 1)
        #expect(try await reopened.events(eventID: "nothing").isEmpty)
        #expect(try await reopened.jobs(matching: JobFilter()).first?.lastReason == "render error: not JSON")
    }

    @Test("retention prunes old delivered and duplicate jobs and their events; dead jobs stay")
    func retention() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(config: StoreConfig(path: dir.store, retention: 7 * 86400))
        let a = try await journal.enqueue(event: makeEvent("r-1"), jobs: [makeJob("x__r-1")])[0]
        let b = try await journal.enqueue(event: makeEvent("r-2"), jobs: [makeJob("x__r-2"), makeJob("y__r-2")])
        let dead = try await makeDeadJob(journal, "r-3")
        _ = try await journal.claimDue(target: "prod", limit: 10)
        try await journal.complete(jobID: a, attempt: attempt("delivered", status: 200), transition: .delivered)
        try await journal.complete(jobID: b[0], attempt: attempt("duplicate", status: 409), transition: .duplicate)
        try await journal.complete(jobID: b[1], attempt: attempt("retry"), transition: .retry(at: Date()))

        #expect(try await journal.prune(now: Date().addingTimeInterval(86400)) == PruneResult())
        let r = try await journal.prune(now: Date().addingTimeInterval(8 * 86400))
        #expect(r.jobs == 2)
        #expect(r.events == 1)  // r-2 still has its pending job
        #expect(try await journal.job(id: a) == nil)
        #expect(try await journal.job(id: b[0]) == nil)
        #expect(try await journal.job(id: b[1])?.state == .pending)
        #expect(try await journal.job(id: dead)?.state == .dead)
        #expect(try await journal.attempts(jobID: a).isEmpty)
        // The pruned event may arrive again later; it then makes new jobs.
        let again = try await journal.enqueue(event: makeEvent("r-1"), jobs: [makeJob("x__r-1")])
        #expect(again != [a])
    }

    @Test("a file created by an older schema is migrated and keeps its rows")
    func migratesOldFile() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let names = Journal.migrationNames
        #expect(names.count >= 2)
        try Journal.createSchema(path: dir.store, upTo: names[0])
        try Journal.execute(
            path: dir.store,
            sql: """
                INSERT INTO events (id, source, event_id, received_at, envelope, raw_body) VALUES (1, 'github', 'old-1', 0, '{}', x'');
                INSERT INTO jobs (event_ref, seq, rule, target, dag_id, conf, dag_run_id, state, attempts, next_attempt_at,
                  age_from, created_at, updated_at, last_reason)
                VALUES (1, 0, 'build', 'prod', 'build_dag', '{"a":1}', 'build__old-1', 'dead', 3, 0, 0, 0, 0, 'boom');
                """)
        let journal = try Journal(path: dir.store)
        #expect(try journal.appliedMigrations() == names)
        let dead = try await journal.jobs(matching: JobFilter())
        #expect(dead.count == 1)
        #expect(dead[0].replays == 0)
        #expect(dead[0].job.conf == ["a": 1])
        let replayed = try await journal.replay(ids: [dead[0].id], actor: "test", filters: "ids 1")
        #expect(replayed[0].ok)
        #expect(try await journal.audit(jobID: dead[0].id).count == 1)
    }

    @Test("jobs in flight when the process stopped are due again after recovery")
    func inFlightReset() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        do {
            let journal = try Journal(path: dir.store)
            for i in 0..<3 { _ = try await journal.enqueue(event: makeEvent("f-\(i)"), jobs: [makeJob("x__f-\(i)")]) }
            let claimed = try await journal.claimDue(target: "prod", limit: 2)
            #expect(claimed.count == 2)
            #expect(claimed.allSatisfy { $0.state == .inFlight })
        }
        let journal = try Journal(path: dir.store)
        #expect(try await journal.counts().inFlight == 2)  // opening alone changes nothing (the CLI opens too)
        #expect(try await journal.recoverInFlight() == 2)
        #expect(try await journal.claimDue(target: "prod", limit: 10).count == 3)
        #expect(try await journal.claimDue(target: "other", limit: 10).isEmpty)
    }

    @Test("due jobs are claimed in next_attempt_at order, per target")
    func claimOrder() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let ids = try await journal.enqueue(
            event: makeEvent("o-1"), jobs: [makeJob("a"), makeJob("b"), makeJob("c"), makeJob("d", target: "dev")])
        let all = try await journal.claimDue(target: "prod", limit: 10)
        #expect(all.map(\.id) == Array(ids[0..<3]))
        let now = Date()
        try await journal.complete(jobID: ids[0], attempt: attempt("retry"), transition: .retry(at: now.addingTimeInterval(-1)))
        try await journal.complete(jobID: ids[1], attempt: attempt("retry"), transition: .retry(at: now.addingTimeInterval(-2)))
        try await journal.complete(jobID: ids[2], attempt: attempt("retry"), transition: .retry(at: now.addingTimeInterval(60)))
        let due = try await journal.claimDue(target: "prod", limit: 10, now: now)
        #expect(due.map(\.id) == [ids[1], ids[0]])
        #expect(due.allSatisfy { $0.attempts == 1 })
        #expect(try await journal.nextDue(target: "prod") == Date(timeIntervalSince1970: (now.timeIntervalSince1970 + 60)))
        #expect(try await journal.claimDue(target: "dev", limit: 10).map(\.id) == [ids[3]])
    }

    @Test("backpressure turns on above high water and off only below low water")
    func backpressure() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(config: StoreConfig(path: dir.store, highWater: 5, lowWater: 2))
        var ids: [Int64] = []
        for i in 0..<5 { ids += try await journal.enqueue(event: makeEvent("b-\(i)"), jobs: [makeJob("x__b-\(i)")]) }
        #expect(!journal.isBackpressured)
        ids += try await journal.enqueue(event: makeEvent("b-5"), jobs: [makeJob("x__b-5")])
        #expect(journal.isBackpressured)
        _ = try await journal.claimDue(target: "prod", limit: 100)
        for id in ids[0..<3] { try await journal.complete(jobID: id, attempt: attempt("delivered", status: 200), transition: .delivered) }
        #expect(journal.queueDepth == 3)
        #expect(journal.isBackpressured)  // between the marks: unchanged
        try await journal.complete(jobID: ids[3], attempt: attempt("retry"), transition: .retry(at: Date()))
        #expect(journal.isBackpressured)  // a retrying job still counts
        try await journal.complete(jobID: ids[4], attempt: attempt("dead"), transition: .dead(reason: "x"))
        #expect(journal.queueDepth == 2)
        #expect(journal.isBackpressured)
        try await journal.complete(jobID: ids[5], attempt: attempt("delivered", status: 200), transition: .delivered)
        #expect(journal.queueDepth == 1)
        #expect(!journal.isBackpressured)
        // A reopened journal counts from the file.
        let reopened = try Journal(config: StoreConfig(path: dir.store, highWater: 0 + 1, lowWater: 0))
        #expect(reopened.queueDepth == 1)
        #expect(!reopened.isBackpressured)
    }

    @Test("the enqueue listener fires after commit")
    func listener() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let counter = Counter()
        journal.onNewJobs { counter.bump() }
        _ = try await journal.enqueue(event: makeEvent("l-1"), jobs: [makeJob("x")])
        _ = try await journal.enqueue(event: makeEvent("l-1"), jobs: [makeJob("x")])  // redelivery: no new jobs
        #expect(counter.value == 1)
    }
}

final class Counter: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var n = 0
    func bump() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
