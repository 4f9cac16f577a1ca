import BridgeConfig
import BridgeCore
import BridgeStore
import BridgeStoreTesting
import Foundation
import Testing

/// What only a shared journal does: leases, fleet-wide limits, migrations under a lock, outages.
@Suite("PostgreSQL journal: leases, fleet limits, migrations, outages", .enabled(if: PostgresServer.testsRun, "\(PostgresServer.unavailableReason ?? "")"))
struct PostgresJournalTests {
    /// Two replicas on one new database.
    func pair(lease: Double = 120) async throws -> (PostgresJournal, PostgresJournal, StoreConfig) {
        let db = try SharedPostgres.newDatabase()
        let c = try postgresConfig(url: db.url, lease: lease)
        let a = try await PostgresJournal.open(config: c)
        let b = try await PostgresJournal.open(config: c)
        return (a, b, c)
    }

    @Test("a dead replica's claims are due again on the others when the lease runs out; its late completion is ignored")
    func leases() async throws {
        let (a, b, _) = try await pair(lease: 30)
        defer { Task { await a.close(); await b.close() } }
        let ids = try await a.enqueue(event: makeEvent("e"), jobs: [makeJob("r__e")])
        let now = Date()
        let claimed = try await a.claimDue(target: "prod", limit: 10, now: now)
        #expect(claimed.map(\.id) == ids)
        // B sees it in flight under A's lease: nothing to take, and when it will be.
        #expect(try await b.claimDue(target: "prod", limit: 10, now: now.addingTimeInterval(5)).isEmpty)
        let next = try #require(try await b.nextDue(target: "prod"))
        #expect(abs(next.timeIntervalSince(now.addingTimeInterval(30))) < 1)
        // A renews (a long call): still A's after the first lease would have ended.
        #expect(try await a.renewLeases(now: now.addingTimeInterval(20)) == 1)
        #expect(try await b.claimDue(target: "prod", limit: 10, now: now.addingTimeInterval(35)).isEmpty)
        // A stops renewing (killed): after the lease B takes the job, attempts unchanged.
        let taken = try await b.claimDue(target: "prod", limit: 10, now: now.addingTimeInterval(51))
        #expect(taken.map(\.id) == ids)
        #expect(taken.first?.attempts == 0)
        // A's late answer does not overwrite B's claim; B's does.
        try await a.complete(jobID: ids[0], attempt: attempt("delivered", status: 200), transition: .delivered)
        #expect(try await b.job(id: ids[0])?.state == .inFlight)
        try await b.complete(jobID: ids[0], attempt: attempt("duplicate", status: 409), transition: .duplicate)
        #expect(try await b.job(id: ids[0])?.state == .duplicate)
        #expect(try await b.attempts(jobID: ids[0]).map(\.outcome) == ["duplicate"])
        // A replica never hands back another's claim.
        let more = try await a.enqueue(event: makeEvent("f"), jobs: [makeJob("r__f")])
        _ = try await b.claimDue(target: "prod", limit: 10)
        try await a.release(jobIDs: more)
        #expect(try await a.job(id: more[0])?.state == .inFlight)
    }

    @Test("only claims a replica still holds are renewed: one whose attempt it gave up recording runs out and is taken over")
    func abandonedClaimsExpire() async throws {
        let (a, b, _) = try await pair(lease: 30)
        defer { Task { await a.close(); await b.close() } }
        let ids = try await a.enqueue(event: makeEvent("x"), jobs: [makeJob("r__x"), makeJob("s__x")])
        let now = Date()
        #expect(try await a.claimDue(target: "prod", limit: 10, now: now).count == 2)
        #expect(try await a.renewLeases(now: now) == 2)
        a.abandon(jobIDs: [ids[0]])
        #expect(try await a.renewLeases(now: now.addingTimeInterval(20)) == 1)
        // The abandoned one's lease ended at now + 30; the other was renewed to now + 50.
        let taken = try await b.claimDue(target: "prod", limit: 10, now: now.addingTimeInterval(35))
        #expect(taken.map(\.id) == [ids[0]])
        // A finished claim is no longer renewed either.
        try await a.complete(jobID: ids[1], attempt: attempt("delivered", status: 200), transition: .delivered)
        #expect(try await a.renewLeases(now: now.addingTimeInterval(40)) == 0)
    }

    @Test("an enqueue is answered only after its commit: an error at commit time fails it and nothing is stored")
    func answeredAfterCommit() async throws {
        let db = try SharedPostgres.newDatabase()
        let j = try await PostgresJournal.open(config: try postgresConfig(url: db.url))
        defer { Task { await j.close() } }
        // A deferred constraint trigger fails the transaction at COMMIT, after the INSERT statement completed.
        _ = try db.server.psql(
            """
            CREATE FUNCTION dagbridge.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.event_id LIKE 'fail-%' THEN RAISE EXCEPTION 'refused at commit'; END IF; RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON dagbridge.events DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION dagbridge.refuse();
            """, database: db.name)
        await #expect(throws: BridgeError.self) { _ = try await j.enqueue(event: makeEvent("fail-1"), jobs: [makeJob("r__fail-1")]) }
        #expect(try await j.events(eventID: "fail-1").isEmpty)
        // Others are not affected, and the database is not taken for unreachable.
        #expect(try await j.enqueue(event: makeEvent("ok-1"), jobs: [makeJob("r__ok-1")]).count == 1)
    }

    @Test("max_in_flight holds for the fleet: two replicas claiming at once never exceed it")
    func fleetMaxInFlight() async throws {
        let (a, b, _) = try await pair()
        defer { Task { await a.close(); await b.close() } }
        for i in 0..<40 { _ = try await a.enqueue(event: makeEvent("e-\(i)"), jobs: [makeJob("r__e-\(i)")]) }
        let limits = FleetLimits(maxInFlight: 5)
        async let x = a.claimDue(target: "prod", limit: 5, fleet: limits, now: Date())
        async let y = b.claimDue(target: "prod", limit: 5, fleet: limits, now: Date())
        let (ca, cb) = try await (x, y)
        #expect(ca.count + cb.count == 5, "\(ca.count) + \(cb.count)")
        #expect(Set(ca.map(\.id)).isDisjoint(with: cb.map(\.id)))
        #expect(try await b.claimDue(target: "prod", limit: 5, fleet: limits, now: Date()).isEmpty)
        // One finishes: one more may start, on either replica.
        let done = (ca + cb)[0]
        let mine = ca.contains(done) ? a : b
        try await mine.complete(jobID: done.id, attempt: attempt("delivered", status: 200), transition: .delivered)
        #expect(try await b.claimDue(target: "prod", limit: 5, fleet: limits, now: Date()).count == 1)
        // Another target has its own limit.
        _ = try await a.enqueue(event: makeEvent("s"), jobs: [makeJob("r__s", target: "staging")])
        #expect(try await a.claimDue(target: "staging", limit: 5, fleet: limits, now: Date()).count == 1)
    }

    @Test("rate_limit holds for the fleet: one token bucket per target across replicas")
    func fleetRate() async throws {
        let (a, b, _) = try await pair()
        defer { Task { await a.close(); await b.close() } }
        for i in 0..<40 { _ = try await a.enqueue(event: makeEvent("e-\(i)"), jobs: [makeJob("r__e-\(i)")]) }
        let limits = FleetLimits(maxInFlight: 100, rate: 2, burst: 2)
        let t0 = Date()
        let first = try await a.claimDue(target: "prod", limit: 10, fleet: limits, now: t0).count
        let second = try await b.claimDue(target: "prod", limit: 10, fleet: limits, now: t0).count
        #expect(first + second == 2, "burst 2: \(first) + \(second)")
        // One second later two more tokens, shared by both.
        let t1 = t0.addingTimeInterval(1)
        let third = try await b.claimDue(target: "prod", limit: 10, fleet: limits, now: t1).count
        let fourth = try await a.claimDue(target: "prod", limit: 10, fleet: limits, now: t1).count
        #expect(third + fourth == 2, "\(third) + \(fourth)")
        // Ten seconds idle: still at most the burst.
        #expect(try await a.claimDue(target: "prod", limit: 10, fleet: limits, now: t1.addingTimeInterval(10)).count == 2)
    }

    @Test("replicas starting together migrate once; a newer schema and an unmigrated one are refused with what to do")
    func migrations() async throws {
        let db = try SharedPostgres.newDatabase()
        let c = try postgresConfig(url: db.url)
        let opened = try await withThrowingTaskGroup(of: PostgresJournal.self) { g in
            for _ in 0..<4 { g.addTask { try await PostgresJournal.open(config: c) } }
            var out: [PostgresJournal] = []
            for try await j in g { out.append(j) }
            return out
        }
        #expect(try await opened[0].appliedMigrations() == [1])
        for j in opened { await j.close() }
        // Without migrate, a database with no journal yet is refused.
        let empty = try SharedPostgres.newDatabase()
        await #expect(throws: BridgeError.self) { try await PostgresJournal.open(config: try postgresConfig(url: empty.url), migrate: false) }
        do {
            _ = try await PostgresJournal.open(config: try postgresConfig(url: empty.url), migrate: false)
        } catch let e as BridgeError {
            #expect(e.message.contains("store migrate"), "\(e.message)")
        }
        // A schema from a newer dagbridge.
        _ = try db.server.psql("INSERT INTO dagbridge.schema_version (version, name) VALUES (999, 'from the future')", database: db.name)
        do {
            _ = try await PostgresJournal.open(config: c)
            Issue.record("a newer schema was accepted")
        } catch let e as BridgeError {
            #expect(e.message.contains("999") && e.message.contains("newer"), "\(e.message)")
        }
    }

    @Test("database down: operations fail fast as unavailable, the password is in no message; back up: the journal resumes by itself")
    func outage() async throws {
        // A cluster of its own: this test stops it.
        let server = try PostgresServer.start()
        defer { server.stop() }
        var c = try postgresConfig(url: server.url + "?sslmode=disable")
        c.connectTimeout = 2
        let j = try await PostgresJournal.open(config: c)
        defer { Task { await j.close() } }
        _ = try await j.enqueue(event: makeEvent("before"), jobs: [makeJob("r__before")])
        try server.kill()
        let started = Date()
        var failures: [String] = []
        for i in 0..<5 {
            do {
                _ = try await j.enqueue(event: makeEvent("down-\(i)"), jobs: [makeJob("r__down-\(i)")])
                Issue.record("an enqueue succeeded while the database was down")
            } catch let e as BridgeError {
                #expect(e.code == .unavailable, "\(e)")
                failures.append(e.message)
            }
        }
        #expect(Date().timeIntervalSince(started) < 12, "five failed enqueues took \(Date().timeIntervalSince(started)) s")
        await #expect(throws: BridgeError.self) { try await j.ping() }
        for f in failures { #expect(!f.contains(server.password)) }
        try server.startAgain()
        var back = false
        for _ in 0..<100 {
            if (try? await j.ping()) != nil {
                back = true
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(back, "the journal did not come back within 10 s")
        let ids = try await j.enqueue(event: makeEvent("after"), jobs: [makeJob("r__after")])
        #expect(ids.count == 1)
        #expect(try await j.counts().pending == 2)
    }

    @Test("TLS: verify-full with the cluster's CA for localhost works; the wrong name or no TLS trust fails")
    func tls() async throws {
        let s = try SharedPostgres.get()
        let base = "postgres://\(s.username):\(s.password)@localhost:\(s.port)/\(s.database)"
        let ok = try await PostgresJournal.open(config: try postgresConfig(url: base + "?sslmode=verify-full&sslrootcert=\(s.caFile)"))
        try await ok.ping()
        await ok.close()
        // 127.0.0.2 is not in the certificate (and the server does not listen there): refused either way.
        var c = try postgresConfig(url: "postgres://\(s.username):\(s.password)@127.0.0.1:\(s.port)/\(s.database)?sslmode=verify-full")
        c.connectTimeout = 2
        // Without sslrootcert the system roots do not know the throwaway CA: refused, saying why.
        let started = Date()
        do {
            _ = try await PostgresJournal.open(config: c)
            Issue.record("an untrusted certificate was accepted")
        } catch let e as BridgeError {
            #expect(e.message.contains("cannot connect") && e.message.lowercased().contains("certificate"), "\(e.message)")
            #expect(!e.message.contains(s.password))
        }
        #expect(Date().timeIntervalSince(started) < 15)
        // A wrong password: the server's own words.
        var wrong = try postgresConfig(url: "postgres://\(s.username):nope@127.0.0.1:\(s.port)/\(s.database)?sslmode=disable")
        wrong.connectTimeout = 2
        do {
            _ = try await PostgresJournal.open(config: wrong)
            Issue.record("a wrong password was accepted")
        } catch let e as BridgeError {
            #expect(e.message.contains("password authentication failed"), "\(e.message)")
            #expect(!e.message.contains("nope"))
        }
    }

    @Test("the URL is read with clear errors, and the password is never printed")
    func settings() throws {
        let s = try PostgresSettings.parse(url: Secret("postgres://app:s%40cret@db.internal:6432/jobs?sslmode=verify-full&application_name=x", origin: "env:DB"))
        #expect(s.host == "db.internal" && s.port == 6432 && s.user == "app" && s.database == "jobs" && s.sslMode == .verifyFull)
        #expect(s.password?.value == "s@cret")
        #expect(!s.description.contains("s@cret") && !"\(s)".contains("cret"))
        for (url, says) in [
            ("mysql://a:b@h/d", "must start with postgres://"),
            ("postgres://h:5432/d", "names no user"),
            ("postgres://a:b@h:99999/d", "port"),
            ("postgres://a:b@h:5432", "names no database"),
            ("postgres://a:b@h/d?sslmode=bogus", "sslmode 'bogus'"),
            ("postgres://a:b@h/d?ssl=true", "not supported"),
            ("postgres://a:b@h/d?sslmode=require&sslrootcert=/x", "only read with sslmode=verify"),
            ("postgres://a:b@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", "cannot be read"),
        ] {
            do {
                _ = try PostgresSettings.parse(url: Secret(url))
                Issue.record("\(url) was accepted")
            } catch {
                #expect(error.message.contains(says), "\(url): \(error.message)")
                #expect(!error.message.contains(":b@"))
            }
        }
    }

    @Test("store config: backend postgres needs url; SQLite keys and postgres keys are refused on the other backend")
    func storeConfig() throws {
        func parse(_ yaml: String, env: [String: String] = [:]) -> (StoreConfig?, [String]) {
            let (node, _) = YAMLLoader.parse(yaml, file: "dagbridge.yaml")
            var d = Diagnostics()
            let c = StoreConfig.parse(node?["store"], resolver: SecretResolver(environment: env), diagnostics: &d)
            return (c, d.items.map(\.message))
        }
        let (ok, _) = parse(
            "store:\n  backend: postgres\n  url: ${env:DB}\n  pool: 4\n  lease: 30s\n", env: ["DB": "postgres://u:pw@h:5432/d?sslmode=require"])
        #expect(ok?.backend == .postgres && ok?.pool == 4 && ok?.lease == 30 && ok?.postgres?.host == "h")
        #expect(ok?.location == "postgres://u:<redacted>@h:5432/d?sslmode=require")
        #expect(parse("store:\n  backend: postgres\n").1.contains { $0.contains("needs url") })
        #expect(parse("store:\n  backend: postgres\n  url: ${env:DB}\n").1.contains { $0.contains("DB is not set") })
        #expect(parse("store:\n  backend: postgres\n  url: x\n  path: a.sqlite\n").1.contains { $0.contains("path is the SQLite file") })
        #expect(parse("store:\n  pool: 4\n").1.contains { $0.contains("only with backend: postgres") })
        #expect(parse("store:\n  backend: mongo\n").1.contains { $0.contains("'sqlite' or 'postgres'") })
        #expect(parse("store:\n  backend: postgres\n  url: ${env:DB}\n  lease: 1s\n", env: ["DB": "postgres://u@h/d"]).1.contains { $0.contains("at least 5s") })
        let (_, diags) = parse("store:\n  backend: postgres\n  url: ${env:DB}\n", env: ["DB": "postgres://u:hunter2@h/d?sslmode=nope"])
        #expect(diags.contains { $0.contains("sslmode 'nope'") } && !diags.contains { $0.contains("hunter2") })
    }
}
