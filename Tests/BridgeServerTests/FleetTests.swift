import BridgeCore
import BridgeHTTP
import BridgeStoreTesting
import Foundation
import Testing

/// A fleet: several `dagbridge serve` processes sharing one PostgreSQL journal (a throwaway cluster
/// per test, `scripts/pg-testbed.sh`), delivering to a ``RecordingTarget``. Faults are real: a
/// replica is SIGKILLed while it holds claims, the database crash-restarts and goes away for
/// seconds, a Kafka group member dies mid-stream. What must hold: every accepted delivery becomes
/// exactly one run, nothing is stranded or dead-lettered, and every replica tells operators the same.
@Suite(
    "a fleet of serve replicas on one PostgreSQL journal", .serialized, .onTestThreads, .timeLimit(.minutes(3)),
    .enabled(if: PostgresServer.testsRun, fleetSkipReason))
struct FleetTests {
    /// What the webhook senders saw.
    struct Load: Sendable {
        /// The next delivery to send.
        var next = 0
        /// Deliveries answered 202, in order.
        var accepted: [String] = []
        var lastAccepted = Date.distantPast
        /// 503 answers (the database away), and those of them without `Retry-After`.
        var unavailable = 0
        var withoutRetryAfter = 0
        /// Requests that got no answer (a killed replica, a connection reset).
        var noAnswer = 0
        /// Any other answer: none is expected.
        var unexpected: [String] = []
    }

    /// Sends deliveries `fleet-<n>` until `total` are accepted, each to the replicas in turn: a
    /// delivery's first try goes to replica n % count, every retry to the next one (as a load
    /// balancer with retries would). A 503 is retried after a pause, as GitHub redelivers; the pause
    /// is 300 ms instead of the answer's Retry-After (5 s) to keep the test short.
    static func send(to bases: [String], total: Int, pace: Duration, http: HTTPClient, load: Shared<Load>, deadline: Date) async {
        while Date() < deadline, !Task.isCancelled {
            let claimed: Int? = load.withLock { l in
                guard l.next < total else { return nil }
                defer { l.next += 1 }
                return l.next
            }
            guard let n = claimed else { return }
            let delivery = "fleet-\(n)"
            var attempt = 0
            while Date() < deadline, !Task.isCancelled {
                let base = bases[(n + attempt) % bases.count]
                attempt += 1
                do {
                    let r = try await http.execute(githubPush(base, delivery: delivery, n: n))
                    if r.status == 202 {
                        load.withLock {
                            $0.accepted.append(delivery)
                            $0.lastAccepted = Date()
                        }
                        break
                    }
                    load.withLock { l in
                        if r.status == 503 {
                            l.unavailable += 1
                            if r.header("retry-after") == nil { l.withoutRetryAfter += 1 }
                        } else {
                            l.unexpected.append("\(r.status) from \(base): \(r.text)")
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(300))
                } catch {
                    load.withLock { $0.noAnswer += 1 }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            try? await Task.sleep(for: pace)
        }
    }

    /// The ids of jobs the process `pid` holds claims on.
    static func claims(of pid: Int32, _ db: PostgresServer) async throws -> [Int64] {
        try await sql(db, "SELECT id FROM dagbridge.jobs WHERE state = 'in_flight' AND split_part(owner, '/', 2) = '\(pid)' ORDER BY id")
            .split(separator: "\n").compactMap { Int64($0) }
    }

    /// The final states of `ids` (`id|state|attempts` rows).
    static func states(of ids: [Int64], _ db: PostgresServer) async throws -> [(id: Int64, state: String, attempts: Int)] {
        guard !ids.isEmpty else { return [] }
        let list = ids.map(String.init).joined(separator: ",")
        return try await sql(db, "SELECT id, state, attempts FROM dagbridge.jobs WHERE id IN (\(list)) ORDER BY id").split(separator: "\n").compactMap {
            let f = $0.split(separator: "|")
            guard f.count == 3, let id = Int64(f[0]), let a = Int(f[2]) else { return nil }
            return (id, String(f[1]), a)
        }
    }

    /// Jobs not finished yet, described for a failure message (state, owner, lease left, attempts, last reason).
    static func unfinished(_ db: PostgresServer) async -> String {
        (try? await sql(
            db,
            """
            SELECT id, dag_run_id, state, COALESCE(owner, '-'), COALESCE(round((lease_until - extract(epoch FROM now()))::numeric, 1)::text, '-'),
                attempts, COALESCE(last_reason, '-')
            FROM dagbridge.jobs WHERE state IN ('pending', 'in_flight') ORDER BY id LIMIT 20
            """)) ?? "(cannot read the journal)"
    }

    /// The log lines of `replicas` that name a job of `unfinished` (rows from ``unfinished(_:)``) by `job=ID`.
    static func logLines(about unfinished: String, in replicas: [ServeProcess]) -> String {
        let ids = unfinished.split(separator: "\n").compactMap { $0.split(separator: "|").first.map { "job=\($0) " } }
        var out: [String] = []
        for (i, r) in replicas.enumerated() {
            for line in r.log.split(separator: "\n") where ids.contains(where: { line.contains($0) }) {
                out.append("replica \(i) (pid \(r.process.processIdentifier)): \(line)")
            }
        }
        return out.prefix(30).joined(separator: "\n")
    }

    @Test("three replicas, one database: every 202 is exactly one run, through a replica SIGKILL and a database restart")
    func everyAcceptedDeliveryOneRun() async throws {
        let db = try await offPool { try PostgresServer.start() }
        defer { db.stop() }
        let dir = try TempDir()
        defer { dir.cleanup() }
        // Each run takes 100 ms at the target, so calls are in flight whenever the replica is killed.
        let target = try RecordingTarget(dir: dir.path, options: ["--delay", "0.1"])
        defer { target.stop() }
        let site = try FleetSite(
            root: dir.path, database: db, target: target.url, replicas: 3, store: "pool: 4, lease: 10s, connect_timeout: 2s",
            targetOptions: ", max_in_flight: 8")
        try site.writeRules(fleetRules(dag: "ci_build"))
        var replicas: [ServeProcess] = []
        defer { for r in replicas { r.terminate() } }
        for i in 0..<3 { replicas.append(try await site.start(i)) }
        let http = try HTTPClient()
        defer { http.shutdown() }

        let total = 600
        let load = Shared(Load())
        let bases = (0..<3).map(site.base)
        let live = [0, 2]
        let victim = replicas[1]
        let victimPID = victim.process.processIdentifier
        func accepted() -> Int { load.withLock { $0.accepted.count } }
        func ready(_ i: Int) async -> Int {
            (try? await http.execute(HTTPRequest(url: site.base(i) + "/readyz", timeout: 5)))?.status ?? 0
        }

        struct Faults: Sendable {
            var held: [Int64] = []
            var killedAt = Date.distantPast
            var restartSeconds = 0.0
            var notReady: Set<Int> = []
            var probe: (status: Int, retryAfter: String?)?
            var readyAgainSeconds: Double?
            var outageSeconds = 0.0
        }
        let faults = Shared(Faults())
        let started = Date()
        let deadline = started.addingTimeInterval(90)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { await Self.send(to: bases, total: total, pace: .milliseconds(60), http: http, load: load, deadline: deadline) }
            }
            group.addTask {
                // 1. A third in: SIGKILL replica 1 while it holds claims.
                #expect(try await waitFor(60) { accepted() >= total / 3 }, "stuck at \(accepted()) accepted")
                _ = try await waitFor(10) { try await !Self.claims(of: victimPID, db).isEmpty }
                try await sigkill(victim)
                let held = try await Self.claims(of: victimPID, db)
                faults.withLock {
                    $0.held = held
                    $0.killedAt = Date()
                }
                // 2. Two thirds in: the database crashes and restarts at once (a failover).
                #expect(try await waitFor(60) { accepted() >= 2 * total / 3 }, "stuck at \(accepted()) accepted")
                let t0 = Date()
                try await offPool { try db.restartImmediate() }
                faults.withLock { $0.restartSeconds = Date().timeIntervalSince(t0) }
                // 3. Five sixths in: the database is away for 4 s. The live replicas must say so on
                // /readyz and answer webhooks 503 with Retry-After, then be ready again by themselves.
                #expect(try await waitFor(60) { accepted() >= 5 * total / 6 }, "stuck at \(accepted()) accepted")
                try await offPool { try db.kill() }
                let down = Date()
                while Date().timeIntervalSince(down) < 4 {
                    for i in live {
                        if await ready(i) == 503 { faults.withLock { _ = $0.notReady.insert(i) } }
                    }
                    if faults.withLock({ $0.probe == nil }), let r = try? await http.execute(githubPush(site.base(0), delivery: "probe-outage", n: -1)) {
                        faults.withLock { $0.probe = (r.status, r.header("retry-after")) }
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await offPool { try db.startAgain() }
                let up = Date()
                faults.withLock { $0.outageSeconds = up.timeIntervalSince(down) }
                var readyAgain = false
                for _ in 0..<300 {
                    var all = true
                    for i in live {
                        if await ready(i) != 200 { all = false }
                    }
                    if all {
                        readyAgain = true
                        break
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                if readyAgain { faults.withLock { $0.readyAgainSeconds = Date().timeIntervalSince(up) } }
                // The probe, redelivered until accepted, is one more delivery that must become one run.
                var probeAccepted = false
                for _ in 0..<60 where !probeAccepted {
                    probeAccepted = (try? await http.execute(githubPush(site.base(2), delivery: "probe-outage", n: -1)))?.status == 202
                    if !probeAccepted { try await Task.sleep(for: .milliseconds(500)) }
                }
                #expect(probeAccepted, "the outage probe was never accepted after the database came back")
                if probeAccepted { load.withLock { $0.accepted.append("probe-outage") } }
            }
            try await group.waitForAll()
        }
        let l = load.value
        let f = faults.value
        #expect(l.accepted.count == total + 1, "accepted \(l.accepted.count) of \(total) deliveries and the probe")
        #expect(l.unexpected.isEmpty, "answers other than 202/503: \(l.unexpected.prefix(5))")
        #expect(l.withoutRetryAfter == 0, "\(l.withoutRetryAfter) of \(l.unavailable) 503 answers had no Retry-After")

        // The outage as the live replicas showed it.
        #expect(f.notReady == Set(live), "/readyz answered 503 during the outage only on \(f.notReady.sorted())")
        #expect(f.probe?.status == 503 && f.probe?.retryAfter != nil, "a webhook during the outage: \(String(describing: f.probe))")
        #expect(f.readyAgainSeconds != nil, "/readyz not 200 again on every live replica within 30 s of the database's return")

        // Drain: every accepted delivery has its run, and the journal holds nothing unfinished.
        let expected = Set(l.accepted.map { "gh__\($0)" })
        var states: [String: Int] = [:]
        let drained = try await waitFor(60) {
            guard Set(target.created()).isSuperset(of: expected) else { return false }
            states = try await jobStates(db)
            return (states["pending"] ?? 0) + (states["in_flight"] ?? 0) == 0
        }
        let drainSeconds = Date().timeIntervalSince(l.lastAccepted)
        let missing = expected.subtracting(target.created())
        let unfinished = drained ? "" : await Self.unfinished(db)
        #expect(
            drained,
            """
            after 60 s: \(missing.count) accepted deliveries without a run (\(missing.sorted().prefix(5))); unfinished jobs \
            (id|run|state|owner|lease left|attempts|reason), live pids \(live.map { replicas[$0].process.processIdentifier }):
            \(unfinished)
            what the replicas logged about them:
            \(drained ? "" : Self.logLines(about: unfinished, in: replicas))
            """)

        // Exactly one run per accepted delivery: created once each (409s for repeats are fine), none extra.
        let counts = creationCounts(target)
        #expect(counts.filter { $0.value > 1 }.isEmpty, "run ids created more than once: \(counts.filter { $0.value > 1 })")
        #expect(Set(counts.keys) == expected, "runs without a 202: \(Set(counts.keys).subtracting(expected).sorted().prefix(5))")
        // The journal: one job per delivery, each delivered or a duplicate (a 409 for a run created before).
        states = try await jobStates(db)
        #expect(Set(states.keys).isSubset(of: ["delivered", "duplicate"]), "\(states)")
        #expect(states.values.reduce(0, +) == expected.count, "\(states)")
        #expect(try await sql(db, "SELECT count(*) FROM dagbridge.events") == "\(expected.count)")
        // What the killed replica held was delivered by the others.
        #expect(!f.held.isEmpty, "the killed replica held no claims")
        let heldStates = try await Self.states(of: f.held, db)
        #expect(heldStates.count == f.held.count && heldStates.allSatisfy { ["delivered", "duplicate"].contains($0.state) }, "\(heldStates)")
        // No dead letters, through the admin API of a live replica and through the CLI on the config.
        let (dlqStatus, dlq) = try adminCall(FleetSite.adminToken, "GET", site.base(0) + "/admin/dlq")
        #expect(dlqStatus == 200 && dlq?["jobs"] == [], "\(String(describing: dlq))")
        let cli = try await site.cli(["dlq", "list", "--config", site.config(2), "--json"])
        #expect(cli.status == 0 && (try? JSONParser.parse(cli.out)) == [], "\(cli.out)\(cli.err)")
        // The database password is in no log (the URL came through the environment).
        for (i, r) in replicas.enumerated() {
            let log = r.log
            #expect(!log.isEmpty && !log.contains(db.password), "replica \(i)'s log holds the database password")
            #expect(!log.contains(FleetSite.adminToken) && !log.contains(FleetSite.githubSecret), "replica \(i)'s log holds a secret")
        }
        #expect(live.allSatisfy { replicas[$0].log.contains("answers again") }, "the live replicas logged the database's return")

        let stats = targetStats(target)
        print(
            """
            fleet: \(l.accepted.count) accepted (\(total) + probe) in \(String(format: "%.1f", l.lastAccepted.timeIntervalSince(started))) s; \
            503s \(l.unavailable), unanswered \(l.noAnswer); killed replica held \(f.held.count) claims -> \
            \(Dictionary(grouping: heldStates, by: \.state).mapValues(\.count)); restartImmediate \(String(format: "%.2f", f.restartSeconds)) s; \
            outage \(String(format: "%.1f", f.outageSeconds)) s, ready again \(f.readyAgainSeconds.map { String(format: "%.1f", $0) } ?? "never") s after; \
            drained \(String(format: "%.1f", drainSeconds)) s after the last 202; journal \(states); target \(stats)
            """)
    }

    @Test("admin answers are the same from every replica; a bulk replay sent to two replicas at once replays each job once")
    func adminAnswersAgree() async throws {
        let db = try await offPool { try PostgresServer.start() }
        defer { db.stop() }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let target = try RecordingTarget(dir: dir.path)
        defer { target.stop() }
        let site = try FleetSite(root: dir.path, database: db, target: target.url, replicas: 3, store: "pool: 4, lease: 10s")
        // The recording target answers 404 for DAG ids starting with "missing": dead at once.
        try site.writeRules(fleetRules(dag: "missing_dag"))
        var replicas: [ServeProcess] = []
        defer { for r in replicas { r.terminate() } }
        for i in 0..<3 { replicas.append(try await site.start(i)) }
        let http = try HTTPClient()
        defer { http.shutdown() }
        @Sendable func admin(_ i: Int, _ method: HTTPMethod, _ path: String, _ body: String? = nil) async throws -> (status: Int, json: JSONValue?) {
            var headers = [(name: "Authorization", value: "Bearer \(FleetSite.adminToken)")]
            if body != nil { headers.append((name: "Content-Type", value: "application/json")) }
            let r = try await http.execute(HTTPRequest(method: method, url: site.base(i) + path, headers: headers, body: Array((body ?? "").utf8), timeout: 30))
            return (r.status, r.jsonBody)
        }

        let n = 30
        for k in 0..<n {
            let r = try await http.execute(githubPush(site.base(k % 3), delivery: "dead-\(k)", n: k))
            #expect(r.status == 202, "\(r.text)")
        }
        var dead: [JSONValue] = []
        let allDead = try await waitFor(30) {
            dead = try await admin(0, .get, "/admin/dlq").json?["jobs"]?.arrayValue ?? []
            return dead.count == n
        }
        #expect(allDead, "\(dead.count) of \(n) dead letters; log: \(replicas[0].log.suffix(2000))")
        #expect(dead.allSatisfy { $0["reason"]?.stringValue?.contains("not found") == true }, "\(dead.first.map { "\($0)" } ?? "")")
        let ids = dead.compactMap { v -> Int64? in if case .int(let id)? = v["id"] { id } else { nil } }

        // The list, every job's detail and an event's story: the same document from every replica.
        func sameEverywhere(_ path: String) async throws {
            let first = try await admin(0, .get, path)
            #expect(first.status == 200, "\(path): \(first.status)")
            for i in 1..<3 {
                let other = try await admin(i, .get, path)
                #expect(other.status == first.status && other.json == first.json, "\(path): replica \(i) differs from replica 0")
            }
        }
        try await sameEverywhere("/admin/dlq")
        try await sameEverywhere("/admin/dlq?rule=gh&reason=not%20found")
        for id in ids { try await sameEverywhere("/admin/dlq/\(id)") }
        try await sameEverywhere("/admin/events/dead-7")

        // The DAG exists now: reload every replica, then the same bulk replay (re-rendered, same
        // run ids) to two replicas at the same instant.
        try site.writeRules(fleetRules(dag: "real_dag"))
        for i in 0..<3 { #expect(try await admin(i, .post, "/admin/rules/reload").status == 200) }
        async let first = admin(0, .post, "/admin/dlq/replay", #"{"filter": {}, "rerender": true, "rate": 1000, "by": "op-0"}"#)
        async let second = admin(1, .post, "/admin/dlq/replay", #"{"filter": {}, "rerender": true, "rate": 1000, "by": "op-1"}"#)
        let answers = try await [first, second]
        #expect(answers.allSatisfy { $0.status == 200 }, "\(answers.map(\.status))")
        let results = answers.map { $0.json?["results"]?.arrayValue ?? [] }
        func replayed(_ r: [JSONValue]) -> Set<Int64> {
            Set(r.compactMap { v -> Int64? in if v["ok"] == true, case .int(let id)? = v["id"] { id } else { nil } })
        }
        let (a, b) = (replayed(results[0]), replayed(results[1]))
        #expect(a.isDisjoint(with: b), "replayed by both replicas: \(a.intersection(b).sorted())")
        #expect(a.union(b) == Set(ids), "replayed by neither: \(Set(ids).subtracting(a.union(b)).sorted())")
        // What the other replica said for a job it did not replay.
        var refusals: [String: Int] = [:]
        for r in results {
            for v in r where v["ok"] != true { refusals[(v["message"]?.stringValue ?? "?").replacing(/\d+/, with: "N"), default: 0] += 1 }
        }

        let expected = Set((0..<n).map { "gh__dead-\($0)" })
        #expect(try await waitFor(30) { Set(target.created()) == expected }, "created \(target.created().count) of \(n)")
        var states: [String: Int] = [:]
        #expect(try await waitFor(15) { states = try await jobStates(db); return states == ["delivered": n] }, "\(states)")
        try await Task.sleep(for: .milliseconds(500))
        let counts = creationCounts(target)
        #expect(counts.count == n && counts.values.allSatisfy { $0 == 1 }, "\(counts.filter { $0.value > 1 })")
        // Each run was posted once: no replica sent a job the other had replayed (that would be a 409).
        let stats = targetStats(target)
        #expect(stats["calls"] == n && stats["duplicates"] == 0, "\(stats)")
        #expect(try await sql(db, "SELECT count(*) FROM dagbridge.jobs WHERE replays <> 1") == "0")
        #expect(try await sql(db, "SELECT sum(job_count) FROM dagbridge.audit WHERE action = 'replay'") == "\(n)")

        // After the replay: still one story, told the same by every replica.
        try await sameEverywhere("/admin/dlq")
        try await sameEverywhere("/admin/dlq?state=delivered")
        for id in ids.prefix(5) { try await sameEverywhere("/admin/dlq/\(id)") }
        print("fleet admin: \(n) dead letters, same on 3 replicas; concurrent replay: replica 0 replayed \(a.count), replica 1 \(b.count); others: \(refusals); target \(stats)")
    }

    @Test(
        "two replicas in one Kafka consumer group on one shared journal: every message one run, also when one dies mid-stream",
        .enabled(if: KafkaBroker.suitesRun, KafkaBroker.skipReason))
    func kafkaGroupSharesTheJournal() async throws {
        let db = try await offPool { try PostgresServer.start() }
        defer { db.stop() }
        let broker = try await KafkaBroker.start()
        defer { broker.stop() }
        try await broker.createTopic("orders", partitions: 4)
        let dir = try TempDir()
        defer { dir.cleanup() }
        // 50 ms per run and two calls at a time for the fleet (40 runs/s): the kill lands with most
        // messages journaled but not yet delivered.
        let target = try RecordingTarget(dir: dir.path, options: ["--delay", "0.05"])
        defer { target.stop() }
        // The URL (with the password) reaches the replicas as a secret file this time.
        let urlFile = dir.path + "/database-url"
        try db.url.write(toFile: urlFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: urlFile)
        try FileManager.default.createDirectory(atPath: dir.path + "/rules", withIntermediateDirectories: true)
        try """
        rules:
          - name: paid
            source: [orders]
            match: { kafka: { topic: [orders] }, body: { status: [paid] } }
            trigger: { target: stub, dag_id: fulfil, conf: { n: "{{ body.n }}" } }
        """.write(toFile: dir.path + "/rules/r.yaml", atomically: true, encoding: .utf8)
        let portA = freePort(26_500..<27_000)
        let portB = freePort(26_500..<27_000, excluding: [portA])
        func config(_ port: Int) throws -> String {
            let path = dir.path + "/dagbridge-\(port).yaml"
            try """
            server: { listen: "127.0.0.1:\(port)", shutdown_timeout: 5s }
            store: { backend: postgres, url: "${file:\(urlFile)}", pool: 4, lease: 10s }
            rules: { path: "\(dir.path)/rules", watch: false }
            targets:
              stub: { url: "\(target.url)", api: v2, max_in_flight: 2 }
            \(kafkaSourcesYAML(broker: broker.address, extra: ["batch_size: 100"]))
            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let a = try await KafkaServe.start(config: try config(portA), port: portA, lib: broker.lib, log: dir.path + "/a.log")
        defer { a.terminate() }
        let b = try await KafkaServe.start(config: try config(portB), port: portB, lib: broker.lib, log: dir.path + "/b.log")
        defer { b.terminate() }
        let all: Set<Int> = [0, 1, 2, 3]
        let split = try await waitFor(45) {
            guard let pa = a.assigned, let pb = b.assigned, !pa.isEmpty, !pb.isEmpty else { return false }
            return pa.isDisjoint(with: pb) && pa.union(pb) == all
        }
        #expect(split, "assignments A \(a.assigned ?? []) B \(b.assigned ?? [])")

        let labels = KafkaBrokerTests.metricLabels
        try await broker.produce(topic: "orders", count: 250, partitions: 4)
        var consumedB = 0.0
        let bothWorking = try await waitFor(60) {
            consumedB = b.metric("dagbridge_kafka_messages_consumed_total", labels) ?? 0
            return (a.metric("dagbridge_kafka_messages_consumed_total", labels) ?? 0) > 0 && consumedB > 0 && target.created().count >= 60
        }
        #expect(bothWorking, "both members consume and their jobs are delivered")
        // B dies holding claims and with journaled jobs not yet delivered: they are in the shared
        // journal, so A (or its lease expiry) delivers them without B ever coming back.
        let pidB = b.process.processIdentifier
        _ = try await waitFor(5) { try await !Self.claims(of: pidB, db).isEmpty }
        try await b.kill9()
        let killed = Date()
        let held = try await Self.claims(of: pidB, db)
        let createdAtKill = Set(target.created()).count
        try await broker.produce(topic: "orders", count: 250, start: 250, partitions: 4)
        let expected = KafkaBrokerTests.runIDs(0..<500)
        var states: [String: Int] = [:]
        let drained = try await waitFor(90) {
            guard Set(target.created()) == expected else { return false }
            states = try await jobStates(db)
            return (states["pending"] ?? 0) + (states["in_flight"] ?? 0) == 0
        }
        let drainSeconds = Date().timeIntervalSince(killed)
        let unfinished = drained ? "" : await Self.unfinished(db)
        #expect(drained, "created \(Set(target.created()).count) of 500; unfinished: \(unfinished); logs \(a.log) \(b.log)")
        #expect(a.assigned == all, "A holds \(a.assigned ?? []) after B died")

        // One run per message; one job per message, although B's uncommitted tail was read again by A.
        let counts = creationCounts(target)
        #expect(counts.filter { $0.value > 1 }.isEmpty && Set(counts.keys) == expected, "\(counts.filter { $0.value > 1 })")
        #expect(try await sql(db, "SELECT count(*) FROM dagbridge.jobs") == "500")
        #expect(try await sql(db, "SELECT count(*) FROM dagbridge.events") == "500")
        states = try await jobStates(db)
        #expect(Set(states.keys).isSubset(of: ["delivered", "duplicate"]), "\(states)")
        #expect(!held.isEmpty, "B held no claims when it was killed")
        let heldStates = try await Self.states(of: held, db)
        #expect(heldStates.count == held.count && heldStates.allSatisfy { ["delivered", "duplicate"].contains($0.state) }, "\(heldStates)")
        let committed = try await broker.waitForCommitted([125, 125, 125, 125], seconds: 30)
        #expect(committed == [125, 125, 125, 125])
        let consumedA = a.metric("dagbridge_kafka_messages_consumed_total", labels) ?? 0
        print(
            """
            fleet kafka: 500 messages, consumed A \(Int(consumedA)) + B \(Int(consumedB))+ (before its kill); \
            \(createdAtKill) runs existed at the kill, B held \(held.count) claims -> \(Dictionary(grouping: heldStates, by: \.state).mapValues(\.count)); \
            all 500 delivered \(String(format: "%.1f", drainSeconds)) s after the kill; journal \(states); target \(targetStats(target))
            """)
    }
}
