import BridgeCore
import BridgeStore
import BridgeStoreTesting
import Foundation
import Testing

/// `dagbridge store copy` and `store migrate`: the built binary, a real SQLite file, and a throwaway
/// PostgreSQL cluster per test (skipped without PostgreSQL, failing under `CI=true`).
@Suite("dagbridge store copy / migrate (the built binary, SQLite → a real PostgreSQL)", .serialized, .onTestThreads, .timeLimit(.minutes(5)))
struct StoreCopyTests {
    static let skipReason = Comment(rawValue: "PostgreSQL testbed unavailable: \(PostgresServer.unavailableReason ?? "")")
    static let urlVariable = "STORE_COPY_TEST_DATABASE_URL"

    /// A folder with `sqlite.yaml` (the store file `journal.sqlite` beside it) and `postgres.yaml`
    /// (the database URL, password included, from the environment, never from the file).
    struct Site {
        let dir: TempDir
        let url: String
        var sqliteConfig: String { dir.path + "/sqlite.yaml" }
        var postgresConfig: String { dir.path + "/postgres.yaml" }

        init(url: String, connectTimeout: String = "3s") throws {
            dir = try TempDir()
            self.url = url
            try "store: { path: journal.sqlite }\n".write(toFile: sqliteConfig, atomically: true, encoding: .utf8)
            try "store: { backend: postgres, url: \"${env:\(StoreCopyTests.urlVariable)}\", connect_timeout: \(connectTimeout) }\n"
                .write(toFile: postgresConfig, atomically: true, encoding: .utf8)
        }

        /// The binary with the database URL in its environment.
        func cli(_ args: [String]) async throws -> CLI.Result {
            let env = ProcessInfo.processInfo.environment.merging([StoreCopyTests.urlVariable: url]) { $1 }
            let r = try await offPool { try runCommand([CLI.binary] + args, environment: env, timeout: 120) }
            return CLI.Result(status: r.status, out: r.out, err: r.err)
        }

        /// The store settings of `postgres.yaml`, for opening the journal in the test.
        func postgresStore() throws -> StoreConfig {
            var c = StoreConfig()
            c.backend = .postgres
            c.postgres = try PostgresSettings.parse(url: Secret(url))
            c.connectTimeout = 3
            return c
        }
    }

    /// A new cluster (its database `dagbridge` is the target), or the reason it cannot start.
    static func startServer() throws -> PostgresServer {
        if let reason = PostgresServer.unavailableReason {
            Issue.record("PostgreSQL is required here (CI=true): \(reason)")
            throw BridgeError(.unavailable, reason)
        }
        return try PostgresServer.start()
    }

    /// The source journal's jobs, by role.
    struct Fixture {
        var pending, inFlight, delivered, duplicate, dead, replayed, purged, renderFailure: Int64
        var all: [Int64] { [pending, inFlight, delivered, duplicate, dead, replayed, renderFailure] }
    }

    /// A journal with a job in every state: pending (with logical date, note and retry overrides),
    /// in flight, delivered after a retry, duplicate, dead (binary body with a NUL), dead then
    /// replayed, dead then purged (its event stays for a render failure of the same event).
    static func makeSource(_ path: String) async throws -> Fixture {
        let journal = try Journal(path: path)
        func enqueue(_ id: String, _ target: String, body: [UInt8] = Array("{\"n\":1}".utf8), failures: [RenderFailure] = [], job: ((inout TriggerJob) -> Void)? = nil)
            async throws -> Int64
        {
            var j = TriggerJob(rule: "build", target: target, dagId: "build_dag", conf: ["id": .string(id), "n": 1], dagRunId: "build__\(id)")
            job?(&j)
            let event = Event(id: id, source: "github", headers: ["X-GitHub-Event": "push", "X-Request-ID": id], rawBody: body)
            return try await journal.enqueue(event: event, jobs: [j], failures: failures)[0]
        }
        func attempt(_ status: Int?, _ outcome: String, _ reason: String) -> AttemptRecord {
            AttemptRecord(at: Date(), duration: 0.042, httpStatus: status, outcome: outcome, reason: reason, answer: "{\"detail\":\"\(reason)\"}")
        }
        func claimOne(_ target: String, _ id: Int64) async throws {
            #expect(try await journal.claimDue(target: target, limit: 10).map(\.id) == [id])
        }

        let pending = try await enqueue("ev-pending", "t-pending") {
            $0.logicalDate = "2026-05-01T00:00:00Z"
            $0.note = "from a push"
            $0.retry = RetryOverrides(maxAttempts: 3, maxAge: 3600)
        }
        let inFlight = try await enqueue("ev-flight", "t-flight")
        try await claimOne("t-flight", inFlight)

        let delivered = try await enqueue("ev-ok", "t-ok")
        try await claimOne("t-ok", delivered)
        try await journal.complete(jobID: delivered, attempt: attempt(503, "retry", "HTTP 503"), transition: .retry(at: Date()))
        try await claimOne("t-ok", delivered)
        try await journal.complete(jobID: delivered, attempt: attempt(200, "delivered", "created"), transition: .delivered)

        let duplicate = try await enqueue("ev-dup", "t-dup")
        try await claimOne("t-dup", duplicate)
        try await journal.complete(jobID: duplicate, attempt: attempt(409, "duplicate", "already exists"), transition: .duplicate)

        let dead = try await enqueue("ev-dead", "t-dead", body: [0x00, 0xFF, 0xFE, 0x7B, 0x00, 0x41])
        try await claimOne("t-dead", dead)
        try await journal.complete(jobID: dead, attempt: attempt(404, "permanent", "DAG not found"), transition: .dead(reason: "DAG not found"))

        let replayed = try await enqueue("ev-replay", "t-replay")
        try await claimOne("t-replay", replayed)
        try await journal.complete(jobID: replayed, attempt: attempt(nil, "transport", "timeout"), transition: .dead(reason: "gave up"))
        let replay = try await journal.replay(ids: [replayed], actor: "tester", filters: "ids=\(replayed)")
        #expect(replay.map(\.ok) == [true])

        let purged = try await enqueue(
            "ev-purge", "t-purge", failures: [RenderFailure(rule: "deploy", target: "t-purge", reason: "unknown filter 'nope'")])
        try await claimOne("t-purge", purged)
        try await journal.complete(jobID: purged, attempt: attempt(400, "permanent", "bad conf"), transition: .dead(reason: "bad conf"))
        let purge = try await journal.purge(ids: [purged], actor: "tester", filters: "ids=\(purged)")
        #expect(purge.map(\.ok) == [true])
        let purgeEvent = try #require(try await journal.events(eventID: "ev-purge").first)
        let renderFailure = try await journal.jobs(eventRef: purgeEvent.rowID).first?.id
        return Fixture(
            pending: pending, inFlight: inFlight, delivered: delivered, duplicate: duplicate, dead: dead, replayed: replayed, purged: purged,
            renderFailure: try #require(renderFailure))
    }

    /// `dlq show --json` without the fields an in-flight job changes when copied.
    static func stable(_ detail: JSONValue?, dropTimes: Bool) -> JSONValue? {
        guard dropTimes, var o = detail?.objectValue, var job = o["job"]?.objectValue else { return detail }
        for k in ["state", "next_attempt_at", "updated_at"] { job[k] = nil }
        o["job"] = .object(job)
        return .object(o)
    }

    @Test(
        "copy keeps every job's state, attempts, reason and run id, the events, attempts and audit log, and the ids; a second copy is refused",
        .enabled(if: PostgresServer.testsRun, skipReason))
    func copyKeepsEverything() async throws {
        let server = try Self.startServer()
        defer { server.stop() }
        let site = try Site(url: server.url + "?sslmode=disable")
        defer { site.dir.cleanup() }
        let f = try await Self.makeSource(site.dir.store)

        // The source as the SQLite journal and `dlq show` read it.
        let source = try Journal(path: site.dir.store)
        var jobs: [Int64: StoredJob] = [:], events: [Int64: StoredEvent] = [:], attempts: [Int64: [AttemptRecord]] = [:]
        var audits: [Int64: [AuditEntry]] = [:], shown: [Int64: JSONValue] = [:]
        for id in f.all {
            let job = try #require(try await source.job(id: id))
            jobs[id] = job
            events[id] = try await source.event(rowID: job.eventRef)
            attempts[id] = try await source.attempts(jobID: id)
            audits[id] = try await source.audit(jobID: id)
            let show = try await site.cli(["dlq", "show", "\(id)", "--store", site.dir.store, "--json"])
            #expect(show.status == 0, "\(show.err)")
            shown[id] = show.json
        }
        let auditLog = try await source.auditLog()
        let deadList = try await site.cli(["dlq", "list", "--store", site.dir.store, "--json"]).json
        #expect(jobs[f.inFlight]?.state == .inFlight)
        #expect(attempts[f.delivered]?.count == 2)
        #expect(auditLog.count == 2)

        let copy = try await site.cli(["store", "copy", "--from-config", site.sqliteConfig, "--to-config", site.postgresConfig, "--chunk", "2"])
        #expect(copy.status == 0, "\(copy.out)\(copy.err)")
        #expect(
            copy.out.contains(
                "copied 7 events, 7 jobs (2 pending, 1 in flight, copied as pending, 1 delivered, 1 duplicate, 2 dead), 5 attempts, "
                    + "2 audit entries (2 job links)"), "\(copy.out)")
        #expect(copy.err.contains("jobs: 4 of 7"), "\(copy.err)")
        #expect(copy.err.contains("events: 7 of 7"), "\(copy.err)")
        #expect(!(copy.out + copy.err).contains(server.password))

        let target = try await PostgresJournal.open(config: try site.postgresStore(), migrate: false)
        for id in f.all {
            let want = try #require(jobs[id])
            let got = try #require(try await target.job(id: id), "job \(id) was not copied")
            if id == f.inFlight {
                // Nobody holds it after the copy: pending, due now, attempts unchanged.
                #expect(got.state == .pending)
                #expect(got.nextAttemptAt <= Date())
                #expect(got.nextAttemptAt > Date().addingTimeInterval(-120))
                var adjusted = want
                adjusted.state = .pending
                adjusted.nextAttemptAt = got.nextAttemptAt
                adjusted.updatedAt = got.updatedAt
                #expect(got == adjusted)
            } else {
                #expect(got == want)
            }
            #expect(try await target.event(rowID: got.eventRef) == events[id])
            #expect(try await target.attempts(jobID: id) == attempts[id])
            #expect(try await target.audit(jobID: id) == audits[id])

            let show = try await site.cli(["dlq", "show", "\(id)", "--config", site.postgresConfig, "--json"])
            #expect(show.status == 0, "\(show.err)")
            #expect(Self.stable(show.json, dropTimes: id == f.inFlight) == Self.stable(shown[id], dropTimes: id == f.inFlight))
            if id == f.inFlight { #expect(show.json?["job"]?["state"] == "pending") }
        }
        #expect(try await target.event(rowID: try #require(jobs[f.dead]).eventRef)?.rawBody == [0x00, 0xFF, 0xFE, 0x7B, 0x00, 0x41])
        #expect(try await target.job(id: f.purged) == nil)
        #expect(try await target.auditLog() == auditLog)
        #expect(try await target.audit(jobID: f.purged).map(\.detail) == ["purged"])
        #expect(try await site.cli(["dlq", "list", "--config", site.postgresConfig, "--json"]).json == deadList)
        let gone = try await site.cli(["dlq", "show", "\(f.purged)", "--config", site.postgresConfig])
        #expect(gone.status == 1)
        #expect(gone.err.contains("no job \(f.purged)"))

        // New rows get ids above the copied ones: jobs and events, attempts (a completion), audit (a replay).
        let maxJob = f.all.max() ?? 0, maxEvent = events.values.map(\.rowID).max() ?? 0
        let newIDs = try await target.enqueue(
            event: Event(id: "after-copy", source: "github", rawBody: []),
            jobs: [TriggerJob(rule: "build", target: "t-new", dagId: "build_dag", conf: [:], dagRunId: "build__after-copy")])
        #expect(newIDs.count == 1 && newIDs[0] > maxJob, "\(newIDs) after \(maxJob)")
        #expect(try await target.events(eventID: "after-copy").first.map(\.rowID).map { $0 > maxEvent } == true)
        let claimed = try await target.claimDue(target: "t-flight", limit: 10)
        #expect(claimed.map(\.id) == [f.inFlight])
        try await target.complete(
            jobID: f.inFlight, attempt: AttemptRecord(at: Date(), duration: 0.01, httpStatus: 200, outcome: "delivered", reason: "created", answer: "{}"),
            transition: .delivered)
        #expect(try server.psql("SELECT job_id FROM dagbridge.attempts ORDER BY id DESC LIMIT 1") == "\(f.inFlight)")
        let replay = try await site.cli(["dlq", "replay", "\(f.dead)", "--config", site.postgresConfig, "--by", "after-copy"])
        #expect(replay.status == 0, "\(replay.out)\(replay.err)")
        let newAudit = try await target.audit(jobID: f.dead)
        #expect(newAudit.map(\.actor) == ["after-copy"])
        #expect((newAudit.first?.id ?? 0) > (auditLog.map(\.id).max() ?? 0))
        await target.close()

        // The target now holds a journal: refused, nothing written.
        let again = try await site.cli(["store", "copy", "--from-store", site.dir.store, "--to-config", site.postgresConfig])
        #expect(again.status == 1)
        #expect(again.err.contains("is not empty (8 events, 8 jobs, 6 attempts, 3 audit entries)"), "\(again.err)")
        #expect(again.err.contains("DROP SCHEMA dagbridge CASCADE"), "\(again.err)")
        #expect(!(again.out + again.err).contains(server.password))
        #expect(try server.psql("SELECT count(*) FROM dagbridge.jobs") == "8")

        // Dropped, the same copy goes through again.
        try server.psql("DROP SCHEMA dagbridge CASCADE")
        let fresh = try await site.cli(["store", "copy", "--from-store", site.dir.store, "--to-config", site.postgresConfig])
        #expect(fresh.status == 0, "\(fresh.err)")
        #expect(try server.psql("SELECT count(*) FROM dagbridge.jobs") == "7")
    }

    @Test("copy refuses other backends, a missing file and missing options", .enabled(if: PostgresServer.testsRun, skipReason))
    func copyRefusesOtherCombinations() async throws {
        let server = try Self.startServer()
        defer { server.stop() }
        let site = try Site(url: server.url + "?sslmode=disable")
        defer { site.dir.cleanup() }

        let missing = try await site.cli(["store", "copy", "--from-config", site.sqliteConfig, "--to-config", site.postgresConfig])
        #expect(missing.status == 1)
        #expect(missing.err.contains("no store at '\(site.dir.store)'"), "\(missing.err)")
        #expect(!FileManager.default.fileExists(atPath: site.dir.store))

        _ = try Journal(path: site.dir.store)
        let fromPostgres = try await site.cli(["store", "copy", "--from-config", site.postgresConfig, "--to-config", site.postgresConfig])
        #expect(fromPostgres.status == 1)
        #expect(fromPostgres.err.contains("store copy reads a SQLite journal"), "\(fromPostgres.err)")
        #expect(fromPostgres.err.contains("postgres://dagbridge:<redacted>@127.0.0.1"), "\(fromPostgres.err)")
        #expect(!fromPostgres.err.contains(server.password))
        let toSQLite = try await site.cli(["store", "copy", "--from-store", site.dir.store, "--to-config", site.sqliteConfig])
        #expect(toSQLite.status == 1)
        #expect(toSQLite.err.contains("store copy writes into a PostgreSQL journal"), "\(toSQLite.err)")

        #expect(try await site.cli(["store", "copy", "--to-config", site.postgresConfig]).status == 2)
        #expect(try await site.cli(["store", "copy", "--from-store", site.dir.store, "--from-config", site.sqliteConfig, "--to-config", site.postgresConfig]).status == 2)
        #expect(try await site.cli(["store", "copy", "--from-store", site.dir.store]).status == 2)
        let help = try await site.cli(["store", "copy", "--help"])
        #expect(help.out.contains("with the service stopped"), "\(help.out)")

        // An empty source makes an empty target journal (schema created).
        let empty = try await site.cli(["store", "copy", "--from-store", site.dir.store, "--to-config", site.postgresConfig])
        #expect(empty.status == 0, "\(empty.err)")
        #expect(empty.out.contains("copied 0 events, 0 jobs"), "\(empty.out)")
        #expect(try server.psql("SELECT max(version) FROM dagbridge.schema_version") == "1")
    }

    @Test("migrate: a fresh database to version 1, then already there; a newer schema is refused by migrate and dlq", .enabled(if: PostgresServer.testsRun, skipReason))
    func migrate() async throws {
        let server = try Self.startServer()
        defer { server.stop() }
        let site = try Site(url: server.url + "?sslmode=disable")
        defer { site.dir.cleanup() }

        let before = try await site.cli(["dlq", "list", "--config", site.postgresConfig])
        #expect(before.status == 1)
        #expect(before.err.contains("run dagbridge store migrate"), "\(before.err)")

        let first = try await site.cli(["store", "migrate", "--config", site.postgresConfig])
        #expect(first.status == 0, "\(first.err)")
        #expect(first.out.contains("journal schema at version 1 (was 0)"), "\(first.out)")
        #expect(first.out.contains("postgres://dagbridge:<redacted>@127.0.0.1"), "\(first.out)")
        let second = try await site.cli(["store", "migrate", "--config", site.postgresConfig])
        #expect(second.status == 0, "\(second.err)")
        #expect(second.out.contains("journal schema already at version 1"), "\(second.out)")
        #expect(!(first.out + first.err + second.out + second.err).contains(server.password))
        #expect(try await site.cli(["dlq", "list", "--config", site.postgresConfig, "--json"]).json == [])

        _ = try Journal(path: site.dir.store)
        let sqlite = try await site.cli(["store", "migrate", "--config", site.sqliteConfig])
        #expect(sqlite.status == 0, "\(sqlite.err)")
        #expect(sqlite.out.contains("the SQLite store at \(site.dir.store) is at the latest schema"), "\(sqlite.out)")
        #expect(try await site.cli(["store", "migrate", "--server", "http://127.0.0.1:1"]).status == 2)

        try server.psql("INSERT INTO dagbridge.schema_version (version, name) VALUES (999, 'from the future')")
        for args in [["store", "migrate"], ["dlq", "list"], ["store", "copy", "--from-store", site.dir.store, "--to-config"]] {
            let r = try await site.cli(args + (args[0] == "store" && args[1] == "copy" ? [site.postgresConfig] : ["--config", site.postgresConfig]))
            #expect(r.status == 1, "\(args): \(r.out)")
            #expect(r.err.contains("the journal's schema is version 999, newer than this dagbridge knows (1)"), "\(args): \(r.err)")
        }
        #expect(try server.psql("SELECT max(version) FROM dagbridge.schema_version") == "999")
    }

    @Test("a bad database URL fails every command with the config error and never shows the password")
    func badURL() async throws {
        let secret = "S3cr3t-Pa55word"
        let site = try Site(url: "postgres://dagbridge:\(secret)@127.0.0.1:5432/dagbridge?sslmode=bogus")
        defer { site.dir.cleanup() }
        _ = try Journal(path: site.dir.store)
        for args in [
            ["store", "migrate", "--config", site.postgresConfig],
            ["store", "copy", "--from-store", site.dir.store, "--to-config", site.postgresConfig],
            ["store", "copy", "--from-config", site.postgresConfig, "--to-config", site.postgresConfig],
            ["dlq", "list", "--config", site.postgresConfig],
        ] {
            let r = try await site.cli(args)
            #expect(r.status == 1, "\(args): \(r.out)\(r.err)")
            #expect(r.err.contains("sslmode 'bogus' is not one of disable, prefer, require, verify-ca, verify-full"), "\(args): \(r.err)")
            #expect(r.err.contains("postgres.yaml:1:"), "\(args): \(r.err)")
            #expect(!(r.out + r.err).contains(secret), "\(args)")
        }

        // A well-formed URL to a port nobody listens on: the connection error, still no password.
        let closed = try Site(
            url: "postgres://dagbridge:\(secret)@127.0.0.1:\(freePort(56_000..<56_500))/dagbridge?sslmode=disable", connectTimeout: "1s")
        defer { closed.dir.cleanup() }
        _ = try Journal(path: closed.dir.store)
        for args in [
            ["store", "migrate", "--config", closed.postgresConfig],
            ["store", "copy", "--from-store", closed.dir.store, "--to-config", closed.postgresConfig],
        ] {
            let r = try await closed.cli(args)
            #expect(r.status == 1, "\(args): \(r.out)\(r.err)")
            #expect(r.err.contains("postgres://dagbridge:<redacted>@127.0.0.1"), "\(args): \(r.err)")
            #expect(!(r.out + r.err).contains(secret), "\(args)")
        }
    }
}
