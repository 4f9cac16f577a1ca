public import BridgeCore
public import Foundation
public import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// The journal in a PostgreSQL database shared by every replica of a fleet.
///
/// - Claims: `dagbridge.claim(...)` takes due jobs with `FOR UPDATE SKIP LOCKED` and stamps each
///   with this process's owner id and a lease (``StoreConfig/lease``). The owner renews its leases
///   every third of the lease while calls run; a replica that dies stops renewing, and its jobs
///   are due again on the others when the lease runs out (no attempt counted). A completion
///   applies only while the owner still holds the claim.
/// - Fleet limits: claims of one target are serialized by an advisory lock and capped so the
///   target's `max_in_flight` (in-flight jobs of every replica) and `rate_limit` (one token bucket
///   row per target) hold for the fleet.
/// - Group commit: enqueues and completions are queued and written many per statement (`unnest`
///   arrays, one round trip, one commit).
/// - Wake-ups: a commit that makes jobs due sends `NOTIFY dagbridge_jobs`; every replica LISTENs
///   and wakes its lanes; the lanes' idle poll is the backstop.
/// - Outages: an operation that cannot reach the database fails within ``StoreConfig/connectTimeout``
///   (webhooks answer 503, Kafka sources pause, `/readyz` fails); the pool reconnects by itself.
public final class PostgresJournal: JournalStore, ReplayGuard, Sendable {
    public let config: StoreConfig
    let settings: PostgresSettings
    let client: PostgresClient
    let logger: Logger
    /// This process's claims carry it: host, pid and a random part.
    public let owner: String

    private struct Pressure {
        var active = 0
        var on = false
    }
    private let pressure = Mutex(Pressure())
    private let listeners = Mutex<[@Sendable () -> Void]>([])
    private let background = Mutex<[Task<Void, Never>]>([])
    /// Whether the database answered last time (operations fail fast while it does not).
    private let reachable = Mutex(true)
    /// Jobs this process claimed and has not finished: only their leases are renewed.
    private let held = Mutex(Set<Int64>())

    private struct EnqueueOutcome: Sendable {
        var ids: [Int64]
        var created: Int
    }
    private let enqueuer: Batcher<[Journal.PreparedEvent], EnqueueOutcome>
    private let completer: Batcher<Completion, Void>

    struct Completion: Sendable {
        var jobID: Int64
        var attempt: AttemptRecord
        var state: String
        var next: Double?
        var reason: String
        var now: Double
    }

    /// Connects, migrates (when `migrate`) or checks the schema version, and starts the pool, the
    /// listener and the lease renewal.
    /// - Throws: ``BridgeError`` (`.unavailable` when the database cannot be reached in
    ///   ``StoreConfig/connectTimeout``, `.config` when the schema is older without `migrate` or
    ///   newer than this binary knows).
    public static func open(config: StoreConfig, logger: Logger = Logger(label: "dagbridge.store"), migrate: Bool = true) async throws
        -> PostgresJournal
    {
        guard let settings = config.postgres else { throw BridgeError(.config, "store backend 'postgres' needs url") }
        let journal = try PostgresJournal(config: config, settings: settings, logger: logger)
        do {
            try await journal.prepareSchema(migrate: migrate)
        } catch {
            await journal.close()
            throw error
        }
        journal.startBackground()
        return journal
    }

    private init(config: StoreConfig, settings: PostgresSettings, logger: Logger) throws {
        self.config = config
        self.settings = settings
        self.logger = logger
        let host = ProcessInfo.processInfo.hostName
        owner = "\(host)/\(getpid())/\(UUID().uuidString.prefix(8))"
        var c = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password?.value,
            database: settings.database, tls: try Self.tls(settings))
        c.options.connectTimeout = .milliseconds(Int64(config.connectTimeout * 1000))
        // One more than the pool for the LISTEN connection.
        c.options.maximumConnections = config.pool + 1
        c.options.minimumConnections = 1
        c.options.keepAliveBehavior = .init(frequency: .seconds(15))
        c.options.additionalStartupParameters = [
            ("application_name", settings.applicationName),
            ("synchronous_commit", config.durability == .full ? "on" : "off"),
        ]
        client = PostgresClient(configuration: c, backgroundLogger: logger)
        let op = config.connectTimeout
        let isPerItem: @Sendable (any Error) -> Bool = { PostgresJournal.isStatementError($0) }
        let clientRef = client
        // Two flushes at once: more lanes split the queue into smaller statements and cost more CPU
        // per event (bench-store, 256 producers: 2 lanes 10.6-11.6k events/s, 4 lanes 9.8-10.9k, 8 lanes 8-9.4k).
        enqueuer = Batcher(lanes: min(2, config.pool), maxBatch: 1024, isPerItem: isPerItem) { batch in
            try await PostgresJournal.flushEnqueue(batch, client: clientRef, timeout: op)
        }
        let ownerID = owner
        completer = Batcher(lanes: min(2, config.pool), maxBatch: 1024, isPerItem: isPerItem) { batch in
            try await PostgresJournal.flushComplete(batch, owner: ownerID, client: clientRef, timeout: op)
            return batch.map { _ in () }
        }
        let runner = Task { await clientRef.run() }
        background.withLock { $0.append(runner) }
    }

    deinit {
        for t in background.withLock({ $0 }) { t.cancel() }
    }

    /// Stops the background work and closes the pool.
    public func close() async {
        let tasks = background.withLock { t -> [Task<Void, Never>] in
            defer { t = [] }
            return t
        }
        for t in tasks { t.cancel() }
        for t in tasks { await t.value }
    }

    /// The TLS settings of `sslmode` (nil: plain TCP) and whether TLS is required.
    static func tlsConfiguration(_ s: PostgresSettings) throws -> (TLSConfiguration, required: Bool)? {
        var t = TLSConfiguration.makeClientConfiguration()
        switch s.sslMode {
        case .disable:
            return nil
        case .prefer, .require:
            t.certificateVerification = .none
            return (t, s.sslMode == .require)
        case .verifyCA, .verifyFull:
            if let ca = s.sslRootCert {
                do {
                    t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
                } catch {
                    throw BridgeError(.config, "sslrootcert '\(ca)' holds no PEM certificate", cause: error)
                }
            }
            t.certificateVerification = s.sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
            return (t, true)
        }
    }

    static func tls(_ s: PostgresSettings) throws -> PostgresClient.Configuration.TLS {
        guard let (t, required) = try tlsConfiguration(s) else { return .disable }
        return required ? .require(t) : .prefer(t)
    }

    /// Why a connection cannot be made, from one direct attempt (the pool only logs its
    /// connection errors): the server's refusal (a wrong password, an unknown database), a TLS
    /// failure, or the socket's error. Nil when the attempt works.
    func connectProblem() async -> String? {
        do {
            var tls: PostgresConnection.Configuration.TLS = .disable
            if let (t, required) = try Self.tlsConfiguration(settings) {
                let context = try NIOSSLContext(configuration: t)
                tls = required ? .require(context) : .prefer(context)
            }
            var c = PostgresConnection.Configuration(
                host: settings.host, port: settings.port, username: settings.user, password: settings.password?.value,
                database: settings.database, tls: tls)
            c.options.connectTimeout = .milliseconds(Int64(config.connectTimeout * 1000))
            let connection = try await PostgresConnection.connect(configuration: c, id: 0, logger: logger)
            try await connection.close()
            return nil
        } catch let p as PSQLError {
            if p.code == .server { return p.serverInfo?[.message] ?? "the server refused the connection" }
            if let u = p.underlying { return "\(u)" }
            return "\(p.code)"
        } catch {
            return "\(error)"
        }
    }

    /// The logger of the group-commit transactions (postgres-nio asks for one).
    static let txLogger = Logger(label: "dagbridge.store.tx")

    // MARK: Errors, deadlines and reachability

    /// `true` for an error of the statement or its data (the connection is fine).
    static func isStatementError(_ error: any Error) -> Bool {
        var e = error
        if let t = e as? PostgresTransactionError { e = t.closureError ?? t.commitError ?? t.beginError ?? e }
        guard let p = e as? PSQLError, p.code == .server, let state = p.serverInfo?[.sqlState] else { return false }
        return !(state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53"))
    }

    /// The error as operators read it: the server's SQLSTATE and message for an SQL error (never
    /// the statement's values), "unreachable" otherwise.
    static func describe(_ error: any Error) -> String {
        var e = error
        if let t = e as? PostgresTransactionError { e = t.closureError ?? t.commitError ?? t.beginError ?? e }
        if let b = e as? BridgeError { return b.message }
        if let p = e as? PSQLError {
            if p.code == .server {
                let state = p.serverInfo?[.sqlState] ?? "?"
                let message = p.serverInfo?[.message] ?? "server error"
                return "PostgreSQL \(state): \(message)"
            }
            return "connection to the database lost (\(p.code))"
        }
        return "the database cannot be reached (\(type(of: e)))"
    }

    /// Runs one database operation: fails at once while the database is known unreachable, and
    /// after `timeout` when it does not answer; classifies what it throws.
    func run<T: Sendable>(_ what: String, timeout: Double? = nil, _ op: @escaping @Sendable () async throws -> T) async throws -> T {
        if !reachable.withLock({ $0 }) {
            throw BridgeError(.unavailable, "\(what): the journal's database \(settings.host):\(settings.port) is unreachable; retrying in the background")
        }
        do {
            let r = try await Self.withDeadline(timeout ?? max(config.connectTimeout * 2, 10), op)
            return r
        } catch let e as BridgeError {
            if e.code == .unavailable { markUnreachable(e.message) }
            throw e
        } catch {
            if Self.isStatementError(error) {
                throw BridgeError(.io, "\(what): \(Self.describe(error))")
            }
            let text = Self.describe(error)
            markUnreachable(text)
            throw BridgeError(.unavailable, "\(what): \(text)")
        }
    }

    /// `op`, or `.unavailable` when it takes longer than `seconds`.
    ///
    /// The caller gets its answer at the deadline even when `op` does not end on cancellation
    /// (postgres-nio keeps a request waiting for a connection while the server is away, and a
    /// group-commit caller waits for its flush): `op` is cancelled and left to end by itself. A
    /// task group would wait for it, which kept `serve` from ever finishing its shutdown drain
    /// while the database was gone.
    static func withDeadline<T: Sendable>(_ seconds: Double, _ op: @escaping @Sendable () async throws -> T) async throws -> T {
        let race = DeadlineRace<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                race.start(continuation)
                let work = Task {
                    do {
                        race.finish(.success(try await op()))
                    } catch {
                        race.finish(.failure(error))
                    }
                }
                let timer = Task {
                    try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                    if Task.isCancelled { return }
                    race.finish(.failure(BridgeError(.unavailable, "the journal's database did not answer in \(JSONWriter.formatDouble(seconds)) s")))
                    work.cancel()
                }
                race.onFinish { timer.cancel() }
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    private func markUnreachable(_ why: String) {
        let was = reachable.withLock { r -> Bool in
            defer { r = false }
            return r
        }
        guard was else { return }
        logger.error("the journal's database is unreachable; webhooks answer 503 and Kafka sources pause until it answers", metadata: ["error": "\(why)"])
        let probe = Task { [weak self] in
            guard let self else { return }
            await self.probeUntilReachable()
        }
        background.withLock { $0.append(probe) }
    }

    private func probeUntilReachable() async {
        var delay = 0.2
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
            let client = self.client
            let ok = (try? await Self.withDeadline(config.connectTimeout) { try await client.query("SELECT 1").collect().count }) != nil
            if ok {
                reachable.withLock { $0 = true }
                logger.notice("the journal's database answers again")
                notifyLocal()
                return
            }
            delay = min(delay * 2, 2)
        }
    }

    // MARK: Schema

    private func prepareSchema(migrate: Bool) async throws {
        let client = self.client
        let logger = self.logger
        let where_ = settings.description
        do {
            _ = try await Self.withDeadline(config.connectTimeout * 2) { try await client.query("SELECT 1").collect().count }
        } catch {
            let why = await connectProblem() ?? "no answer in \(JSONWriter.formatDouble(config.connectTimeout)) s"
            throw BridgeError(
                .unavailable, "cannot connect to the journal's database at \(where_): \(why) (check the host, port, user, password, database and sslmode/sslrootcert)")
        }
        try await run("opening the journal at \(where_)", timeout: 600) {
            try await client.withConnection { c in
                if migrate {
                    _ = try await c.query("SELECT pg_advisory_lock(\(PostgresSchema.migrationLock))", logger: logger).collect()
                }
                do {
                    try await Self.migrate(c, apply: migrate, logger: logger)
                } catch {
                    if migrate { _ = try? await c.query("SELECT pg_advisory_unlock(\(PostgresSchema.migrationLock))", logger: logger).collect() }
                    throw error
                }
                if migrate { _ = try await c.query("SELECT pg_advisory_unlock(\(PostgresSchema.migrationLock))", logger: logger).collect() }
            }
        }
        try await refreshCounters()
    }

    /// The schema version of the database (0: no journal yet).
    static func version(_ c: PostgresConnection, logger: Logger) async throws -> Int {
        let exists = try await c.query("SELECT to_regclass('dagbridge.schema_version') IS NOT NULL", logger: logger).collect()
        guard try exists.first?.decode(Bool.self) == true else { return 0 }
        let rows = try await c.query("SELECT COALESCE(max(version), 0) FROM dagbridge.schema_version", logger: logger).collect()
        return try rows.first?.decode(Int.self) ?? 0
    }

    static func migrate(_ c: PostgresConnection, apply: Bool, logger: Logger) async throws {
        let have = try await version(c, logger: logger)
        let latest = PostgresSchema.latest
        if have > latest {
            throw BridgeError(
                .config,
                "the journal's schema is version \(have), newer than this dagbridge knows (\(latest)): a newer dagbridge migrated it; run that version (or newer)")
        }
        if have == latest { return }
        guard apply else {
            throw BridgeError(
                .config, "the journal's schema is version \(have), this dagbridge needs \(latest): run dagbridge store migrate --config FILE (serve migrates at start-up)")
        }
        if have == 0 {
            _ = try await c.query("CREATE SCHEMA IF NOT EXISTS dagbridge", logger: logger).collect()
            _ = try await c.query(
                "CREATE TABLE IF NOT EXISTS dagbridge.schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger
            ).collect()
        }
        for m in PostgresSchema.migrations where m.version > have {
            try await c.withTransaction(logger: logger) { t in
                for statement in PostgresSchema.statements(m.sql) {
                    _ = try await t.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
                }
                _ = try await t.query(
                    "INSERT INTO dagbridge.schema_version (version, name) VALUES (\(m.version), \(m.name))", logger: logger
                ).collect()
            }
            logger.notice("journal schema migrated", metadata: ["version": "\(m.version)", "name": "\(m.name)"])
        }
    }

    /// The versions applied to the database, oldest first.
    public func appliedMigrations() async throws -> [Int] {
        let client = self.client
        return try await run("reading the schema version") {
            var out: [Int] = []
            for try await v in try await client.query("SELECT version FROM dagbridge.schema_version ORDER BY version").decode(Int.self) {
                out.append(v)
            }
            return out
        }
    }

    // MARK: Background: listener, leases

    private func startBackground() {
        let listen = Task { [weak self] in
            guard let self else { return }
            await self.listenLoop()
        }
        let renew = Task { [weak self] in
            guard let self else { return }
            await self.renewLoop()
        }
        background.withLock { $0.append(contentsOf: [listen, renew]) }
    }

    private func listenLoop() async {
        while !Task.isCancelled {
            do {
                let logger = self.logger
                try await client.withConnection { c in
                    try await c.listen(on: PostgresSchema.channel) { notifications in
                        // Jobs committed while nobody listened are picked up by this first wake-up.
                        self.notifyLocal()
                        for try await _ in notifications { self.notifyLocal() }
                    }
                    _ = logger
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("LISTEN connection ended; listening again", metadata: ["error": "\(Self.describe(error))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func renewLoop() async {
        let every = max(1, config.lease / 3)
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int64(every * 1000)))
            if Task.isCancelled { return }
            do {
                _ = try await renewLeases(now: Date())
            } catch {
                logger.warning("cannot renew the leases of calls in flight", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Extends the lease of every job this process has in flight; returns how many.
    @discardableResult
    public func renewLeases(now: Date) async throws -> Int {
        let client = self.client, owner = self.owner
        let until = now.timeIntervalSince1970 + config.lease
        let ids = Array(held.withLock { $0 })
        if ids.isEmpty { return 0 }
        return try await run("renewing leases") {
            try await client.query(
                "UPDATE dagbridge.jobs SET lease_until = \(until) WHERE owner = \(owner) AND state = 'in_flight' AND id = ANY(\(ids)::int8[]) RETURNING id"
            ).collect().count
        }
    }

    // MARK: Notifications and backpressure

    public var isBackpressured: Bool { pressure.withLock { $0.on } }
    public var queueDepth: Int { pressure.withLock { $0.active } }

    func adjustActive(_ delta: Int) {
        let (high, low) = (config.highWater, config.lowWater)
        pressure.withLock { p in
            p.active = max(0, p.active + delta)
            if !p.on, p.active > high { p.on = true } else if p.on, p.active < low { p.on = false }
        }
    }

    public func onNewJobs(_ handler: @escaping @Sendable () -> Void) {
        listeners.withLock { $0.append(handler) }
    }

    func notifyLocal() {
        for h in listeners.withLock({ $0 }) { h() }
    }

    private enum Wake {
        case idle, sending, sendAgain
    }
    private let wake = Mutex(Wake.idle)

    /// New jobs were committed: this process's lanes wake at once, the other replicas through one
    /// `NOTIFY` sent after the commit (not inside it: a notifying transaction takes PostgreSQL's
    /// cluster-wide notify lock through its WAL flush, which serialized every group commit).
    /// At most one NOTIFY is in flight; commits meanwhile are covered by one more.
    func wakeFleet() {
        notifyLocal()
        let start = wake.withLock { w -> Bool in
            switch w {
            case .idle:
                w = .sending
                return true
            case .sending, .sendAgain:
                w = .sendAgain
                return false
            }
        }
        guard start else { return }
        let client = self.client
        Task {
            while true {
                _ = try? await Self.withDeadline(config.connectTimeout) {
                    try await client.query("SELECT pg_notify(\(PostgresSchema.channel), '')").collect().count
                }
                let again = wake.withLock { w -> Bool in
                    if w == .sendAgain {
                        w = .sending
                        return true
                    }
                    w = .idle
                    return false
                }
                if !again { return }
            }
        }
    }

    /// Counters of the group-commit writers (enqueues and completions together).
    public var writerStats: WriterStats {
        let a = enqueuer.stats, b = completer.stats
        var s = WriterStats()
        s.batches = a.batches + b.batches
        s.operations = a.operations + b.operations
        s.largestBatch = max(a.largestBatch, b.largestBatch)
        return s
    }

    public func refreshCounters() async throws {
        let client = self.client
        let n = try await run("counting the queue") {
            try await client.query("SELECT count(*) FROM dagbridge.jobs WHERE state IN ('pending', 'in_flight')").collect().first?.decode(Int.self) ?? 0
        }
        pressure.withLock { $0.active = 0 }
        adjustActive(n)
    }

    public func ping() async throws {
        let client = self.client
        _ = try await run("asking the journal's database", timeout: config.connectTimeout) {
            try await client.query("SELECT 1").collect().count
        }
    }

    // MARK: Enqueue

    public func enqueue(event: Event, jobs: [TriggerJob]) async throws -> [Int64] {
        try await enqueue(event: event, jobs: jobs, failures: [])
    }

    public func enqueue(event: Event, jobs: [TriggerJob], failures: [RenderFailure]) async throws -> [Int64] {
        if jobs.isEmpty && failures.isEmpty { return [] }
        let prepared = Journal.PreparedEvent(event: event, jobs: jobs, failures: failures, now: Date().timeIntervalSince1970)
        let enqueuer = self.enqueuer
        let out = try await run("storing the event") { try await enqueuer.submit([prepared]) }
        if out.created > 0 {
            adjustActive(out.created)
            wakeFleet()
        }
        return out.ids
    }

    public func enqueueBatch(_ entries: [JobStoreEntry]) async throws {
        let now = Date().timeIntervalSince1970
        let rows: [Journal.PreparedEvent] = entries.compactMap { e in
            e.jobs.isEmpty && e.failures.isEmpty ? nil : Journal.PreparedEvent(event: e.event, jobs: e.jobs, failures: e.failures, now: now)
        }
        if rows.isEmpty { return }
        let enqueuer = self.enqueuer
        let out = try await run("storing events") { try await enqueuer.submit(rows) }
        if out.created > 0 {
            adjustActive(out.created)
            wakeFleet()
        }
    }

    /// One statement per flush: events inserted with `ON CONFLICT DO NOTHING`, the jobs of the
    /// events that were new, a NOTIFY when jobs became due. Events already stored (dedupe, from
    /// any replica) answer with the ids of their first jobs.
    private static func flushEnqueue(_ batch: [[Journal.PreparedEvent]], client: PostgresClient, timeout: Double) async throws -> [EnqueueOutcome] {
        // The first occurrence of a (source, event id) in the flush is written; later ones get its ids.
        struct Key: Hashable {
            let source, eventID: String
        }
        var unique: [Journal.PreparedEvent] = []
        var index: [Key: Int] = [:]
        for group in batch {
            for e in group where index[Key(source: e.source.pgText, eventID: e.eventID.pgText)] == nil {
                index[Key(source: e.source.pgText, eventID: e.eventID.pgText)] = unique.count
                unique.append(e)
            }
        }
        var sources: [String] = [], eventIDs: [String] = [], received: [Double] = [], envelopes: [String] = []
        var bodies: [ByteBuffer] = []
        var jEvent: [Int64] = [], jSeq: [Int32] = [], jRule: [String] = [], jTarget: [String] = [], jDag: [String] = []
        var jConf: [String] = [], jRun: [String] = [], jLogical: [String?] = [], jNote: [String?] = [], jRetry: [String?] = []
        var jState: [String] = [], jNow: [Double] = [], jReason: [String?] = []
        for (i, e) in unique.enumerated() {
            sources.append(e.source.pgText)
            eventIDs.append(e.eventID.pgText)
            received.append(e.receivedAt)
            envelopes.append(e.envelope.pgText)
            bodies.append(ByteBuffer(bytes: e.rawBody))
            for (seq, j) in e.jobs.enumerated() {
                jEvent.append(Int64(i + 1))
                jSeq.append(Int32(seq))
                jRule.append(j.rule.pgText)
                jTarget.append(j.target.pgText)
                jDag.append(j.dagId.pgText)
                jConf.append(j.conf.pgText)
                jRun.append(j.dagRunId.pgText)
                jLogical.append(j.logicalDate.pgText)
                jNote.append(j.note.pgText)
                jRetry.append(j.retry)
                jState.append(JobState.pending.rawValue)
                jNow.append(e.now)
                jReason.append(nil)
            }
            for (k, f) in e.failures.enumerated() {
                jEvent.append(Int64(i + 1))
                jSeq.append(Int32(e.jobs.count + k))
                jRule.append(f.rule.pgText)
                jTarget.append(f.target.pgText)
                jDag.append("")
                jConf.append("null")
                jRun.append(f.dagRunId.pgText)
                jLogical.append(nil)
                jNote.append(nil)
                jRetry.append(nil)
                jState.append(JobState.dead.rawValue)
                jNow.append(e.now)
                jReason.append(f.reason.pgText)
            }
        }
        let logical = NullableTextArray(values: jLogical), note = NullableTextArray(values: jNote)
        let retry = NullableTextArray(values: jRetry), reason = NullableTextArray(values: jReason)
        let query: PostgresQuery = """
            WITH k AS (
                SELECT * FROM unnest(\(sources)::text[], \(eventIDs)::text[], \(received)::float8[], \(envelopes)::text[], \(bodies)::bytea[])
                    WITH ORDINALITY AS k(source, event_id, received_at, envelope, raw_body, idx)
            ), ev AS (
                INSERT INTO dagbridge.events (source, event_id, received_at, envelope, raw_body)
                SELECT source, event_id, received_at, envelope, raw_body FROM k ORDER BY idx
                ON CONFLICT (source, event_id) DO NOTHING
                RETURNING id, source, event_id
            ), jb AS (
                INSERT INTO dagbridge.jobs (event_ref, seq, rule, target, dag_id, conf, dag_run_id, logical_date, note, retry,
                    state, attempts, next_attempt_at, age_from, created_at, updated_at, last_reason)
                SELECT ev.id, x.seq, x.rule, x.target, x.dag_id, x.conf, x.dag_run_id, x.logical_date, x.note, x.retry,
                    x.state, 0, x.now, x.now, x.now, x.now, x.last_reason
                FROM unnest(\(jEvent)::int8[], \(jSeq)::int4[], \(jRule)::text[], \(jTarget)::text[], \(jDag)::text[], \(jConf)::text[],
                        \(jRun)::text[], \(logical)::text[], \(note)::text[], \(retry)::text[], \(jState)::text[], \(jNow)::float8[], \(reason)::text[])
                    AS x(ev_index, seq, rule, target, dag_id, conf, dag_run_id, logical_date, note, retry, state, now, last_reason)
                JOIN k ON k.idx = x.ev_index
                JOIN ev ON ev.source = k.source AND ev.event_id = k.event_id
                ORDER BY x.ev_index, x.seq
                RETURNING id, event_ref, seq, state
            )
            SELECT 'e', ev.source, ev.event_id, ev.id, 0, '' FROM ev
            UNION ALL SELECT 'j', '', '', jb.event_ref, jb.id, jb.state FROM jb
            """
        struct Returned: Sendable {
            var created: [Int64: Key] = [:]
            var jobs: [Int64: [(id: Int64, pending: Bool)]] = [:]
        }
        let returned = try await withDeadline(timeout * 3) { () -> Returned in
            var r = Returned()
            // An explicit transaction: COMMIT answers after the commit is durable. A lone statement's
            // CommandComplete arrives before its implicit commit (which happens at Sync), so a crash
            // or a commit-time error between the two would have been answered 202 (issue 15's fleet
            // test against real Airflow lost acknowledged deliveries at a database crash).
            let rows = try await client.withTransaction(logger: Self.txLogger) { c in try await c.query(query, logger: Self.txLogger).collect() }
            for row in rows {
                let (kind, source, eventID, a, b, state) = try row.decode((String, String, String, Int64, Int64, String).self)
                switch kind {
                case "e": r.created[a] = Key(source: source, eventID: eventID)
                case "j": r.jobs[a, default: []].append((b, state == JobState.pending.rawValue))
                default: break
                }
            }
            return r
        }
        var idsByKey: [Key: [Int64]] = [:]
        var createdByKey: [Key: Int] = [:]
        for (eventRow, key) in returned.created {
            let jobs = (returned.jobs[eventRow] ?? []).sorted { $0.id < $1.id }.filter(\.pending).map(\.id)
            idsByKey[key] = jobs
            createdByKey[key] = jobs.count
        }
        // Events stored before (by this flush's predecessors or another replica): their first ids.
        let existing = index.keys.filter { idsByKey[$0] == nil }
        if !existing.isEmpty {
            let es = existing.map(\.source), ids = existing.map(\.eventID)
            let found = try await withDeadline(timeout * 3) { () -> [Key: [Int64]] in
                var m: [Key: [Int64]] = [:]
                let rows = try await client.query(
                    """
                    SELECT e.source, e.event_id, j.id FROM dagbridge.events e JOIN dagbridge.jobs j ON j.event_ref = e.id
                    WHERE (e.source, e.event_id) IN (SELECT * FROM unnest(\(es)::text[], \(ids)::text[])) AND j.dag_id <> ''
                    ORDER BY j.seq, j.id
                    """)
                for try await (source, eventID, id) in rows.decode((String, String, Int64).self) {
                    m[Key(source: source, eventID: eventID), default: []].append(id)
                }
                return m
            }
            for k in existing { idsByKey[k] = found[k] ?? [] }
        }
        var seen = Set<Key>()
        return batch.map { group in
            var out = EnqueueOutcome(ids: [], created: 0)
            for e in group {
                let k = Key(source: e.source.pgText, eventID: e.eventID.pgText)
                out.ids += idsByKey[k] ?? []
                if seen.insert(k).inserted { out.created += createdByKey[k] ?? 0 }
            }
            return out
        }
    }

    // MARK: Replay keys

    /// The fleet's replay cache: a key inserted, or an expired one renewed, is first seen; a live one is a replay.
    public func firstSeen(scope: String, key: [UInt8], until: Double, now: Double) async throws -> Bool {
        let client = self.client
        let scope = scope.pgText
        let bytes = ByteBuffer(bytes: key)
        return try await run("checking the replay cache") {
            try await client.query(
                """
                INSERT INTO dagbridge.replay_keys AS r (scope, key, expires_at) VALUES (\(scope), \(bytes), \(until))
                ON CONFLICT (scope, key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE r.expires_at <= \(now)
                RETURNING 1
                """
            ).collect().count == 1
        }
    }

    // MARK: Dispatch

    public func recoverInFlight(now: Date) async throws -> Int { 0 }

    public func claimDue(target: String, limit: Int, fleet: FleetLimits?, now: Date) async throws -> [StoredJob] {
        guard limit > 0 else { return [] }
        let client = self.client, owner = self.owner, lease = config.lease
        let t = now.timeIntervalSince1970
        let maxInFlight = fleet.map { Int32($0.maxInFlight) }
        let rate = fleet?.rate, burst = fleet?.burst ?? 1
        let target = target.pgText
        let claimed = try await run("claiming due jobs") {
            var jobs: [StoredJob] = []
            let rows = try await client.query(
                """
                SELECT \(unescaped: PostgresJournal.jobColumns) FROM dagbridge.claim(\(target), \(Int32(limit)), \(owner), \(t), \(lease), \(maxInFlight), \(rate), \(burst))
                ORDER BY next_attempt_at, attempts, id
                """)
            for try await row in rows { jobs.append(try PostgresJournal.decodeJob(row)) }
            return jobs
        }
        held.withLock { h in for j in claimed { h.insert(j.id) } }
        return claimed
    }

    /// Each side reads one entry of its partial index (`ORDER BY … LIMIT 1`; `min()` was planned
    /// as a scan of every pending job until the table had been analyzed).
    public func nextDue(target: String) async throws -> Date? {
        let client = self.client
        let target = target.pgText
        return try await run("reading the next due time") {
            let rows = try await client.query(
                """
                SELECT least(
                    (SELECT next_attempt_at FROM dagbridge.jobs WHERE target = \(target) AND state = 'pending' ORDER BY next_attempt_at LIMIT 1),
                    (SELECT lease_until FROM dagbridge.jobs WHERE target = \(target) AND state = 'in_flight' ORDER BY lease_until LIMIT 1))
                """
            ).collect()
            return try rows.first?.decode(Double?.self).map(Journal.date)
        }
    }

    public func targetsWithPendingJobs() async throws -> [String] {
        let client = self.client
        return try await run("listing targets with pending jobs") {
            var out: [String] = []
            for try await t in try await client.query("SELECT DISTINCT target FROM dagbridge.jobs WHERE state = 'pending'").decode(String.self) {
                out.append(t)
            }
            return out
        }
    }

    public func complete(jobID: Int64, attempt: AttemptRecord, transition: JobTransition, now: Date) async throws {
        var state = "pending"
        var next: Double? = nil
        var reason = attempt.reason
        switch transition {
        case .delivered: state = "delivered"
        case .duplicate: state = "duplicate"
        case .retry(let at):
            next = at.timeIntervalSince1970
        case .dead(let r):
            state = "dead"
            reason = r
        }
        let item = Completion(jobID: jobID, attempt: attempt, state: state, next: next, reason: reason, now: now.timeIntervalSince1970)
        let completer = self.completer
        try await run("recording an attempt") { try await completer.submit(item) }
        _ = held.withLock { $0.remove(jobID) }
        if case .retry = transition {} else { adjustActive(-1) }
    }

    /// One statement per flush: each attempt is inserted and its job moved on, only where this
    /// process still owns the claim.
    private static func flushComplete(_ batch: [Completion], owner: String, client: PostgresClient, timeout: Double) async throws {
        var ids: [Int64] = [], states: [String] = [], at: [Double] = [], duration: [Double] = [], status: [Int64] = []
        var outcome: [String] = [], reason: [String] = [], answer: [String] = [], next: [Double] = [], lastReason: [String] = []
        var now: [Double] = []
        for c in batch {
            ids.append(c.jobID)
            states.append(c.state)
            at.append(c.attempt.at.timeIntervalSince1970)
            duration.append(c.attempt.duration)
            status.append(Int64(c.attempt.httpStatus ?? -1))
            outcome.append(c.attempt.outcome.pgText)
            reason.append(c.attempt.reason.pgText)
            answer.append(c.attempt.answer.pgText)
            next.append(c.next ?? -1)
            lastReason.append(c.reason.pgText)
            now.append(c.now)
        }
        let query: PostgresQuery = """
            WITH c AS (
                SELECT * FROM unnest(\(ids)::int8[], \(states)::text[], \(at)::float8[], \(duration)::float8[], \(status)::int8[],
                    \(outcome)::text[], \(reason)::text[], \(answer)::text[], \(next)::float8[], \(lastReason)::text[], \(now)::float8[])
                    AS c(job_id, state, at, duration, http_status, outcome, reason, answer, next_at, last_reason, now)
            ), u AS (
                UPDATE dagbridge.jobs j SET state = c.state, attempts = j.attempts + 1,
                    next_attempt_at = COALESCE(NULLIF(c.next_at, -1), j.next_attempt_at), updated_at = c.now,
                    last_status = NULLIF(c.http_status, -1)::integer, last_reason = c.last_reason, owner = NULL, lease_until = NULL
                FROM c WHERE j.id = c.job_id AND j.state = 'in_flight' AND j.owner = \(owner)
                RETURNING j.id, j.state
            ), a AS (
                INSERT INTO dagbridge.attempts (job_id, at, duration, http_status, outcome, reason, answer)
                SELECT c.job_id, c.at, c.duration, NULLIF(c.http_status, -1)::integer, c.outcome, c.reason, c.answer
                FROM c JOIN u ON u.id = c.job_id
                RETURNING job_id
            )
            SELECT (SELECT count(*) FROM a)
            """
        try await withDeadline(timeout * 3) {
            _ = try await client.withTransaction(logger: Self.txLogger) { c in try await c.query(query, logger: Self.txLogger).collect() }
        }
    }

    public func release(jobIDs: [Int64], dueAt: Date) async throws {
        guard !jobIDs.isEmpty else { return }
        let client = self.client, owner = self.owner
        let t = dueAt.timeIntervalSince1970, now = Date().timeIntervalSince1970
        _ = try await run("handing jobs back") {
            try await client.query(
                """
                UPDATE dagbridge.jobs SET state = 'pending', next_attempt_at = \(t), updated_at = \(now), owner = NULL, lease_until = NULL
                WHERE id = ANY(\(jobIDs)::int8[]) AND state = 'in_flight' AND owner = \(owner) RETURNING id
                """
            ).collect().count
        }
        abandon(jobIDs: jobIDs)
    }

    public func abandon(jobIDs: [Int64]) {
        held.withLock { $0.subtract(jobIDs) }
    }

    public func postpone(target: String, dagId: String?, until: Date) async throws -> Int {
        let client = self.client
        let t = until.timeIntervalSince1970
        let target = target.pgText
        let dag = dagId?.pgText
        return try await run("postponing jobs") {
            try await client.query(
                """
                UPDATE dagbridge.jobs SET next_attempt_at = \(t)
                WHERE target = \(target) AND state = 'pending' AND next_attempt_at < \(t) AND (\(dag)::text IS NULL OR dag_id = \(dag))
                RETURNING id
                """
            ).collect().count
        }
    }

    /// How long a pending job of a target no replica knows waits before it is dead-lettered: in a
    /// rolling update replicas with a new target start while older ones run, and must get the
    /// chance to take its jobs.
    public static let unknownTargetGrace: Double = 600

    public func killJobsOfUnknownTargets(known: [String], now: Date) async throws -> Int {
        let client = self.client
        let t = now.timeIntervalSince1970
        let known = known.map(\.pgText)
        let list = known.sorted().joined(separator: ", ")
        let n = try await run("moving jobs of unknown targets to the dead-letter queue") {
            try await client.query(
                """
                UPDATE dagbridge.jobs SET state = 'dead', updated_at = \(t),
                    last_reason = 'target ''' || target || ''' is not configured on any replica (known targets: ' || \(list) || ')'
                WHERE state = 'pending' AND NOT (target = ANY(\(known)::text[])) AND next_attempt_at < \(t - PostgresJournal.unknownTargetGrace)
                RETURNING id
                """
            ).collect().count
        }
        if n > 0 { adjustActive(-n) }
        return n
    }

    public func counts() async throws -> JournalCounts {
        let client = self.client
        return try await run("counting jobs") {
            var c = JournalCounts()
            for try await (state, n) in try await client.query("SELECT state, count(*) FROM dagbridge.jobs GROUP BY state").decode((String, Int).self) {
                c.set(state, n)
            }
            return c
        }
    }

    /// ``JournalStore/prune(now:chunk:)`` under a session advisory lock: when another replica is
    /// pruning, this pass is skipped (an empty result). Also forgets expired replay keys.
    public func prune(now: Date, chunk: Int) async throws -> PruneResult {
        let client = self.client, logger = self.logger
        let cutoff = now.timeIntervalSince1970 - config.retention
        let t = now.timeIntervalSince1970
        return try await run("pruning delivered jobs", timeout: 600) {
            try await client.withConnection { c in
                let got = try await c.query("SELECT pg_try_advisory_lock(\(PostgresSchema.pruneLock))", logger: logger).collect()
                guard try got.first?.decode(Bool.self) == true else { return PruneResult() }
                var total = PruneResult()
                do {
                    while true {
                        let rows = try await c.query(
                            """
                            WITH d AS (
                                DELETE FROM dagbridge.jobs WHERE id IN (
                                    SELECT id FROM dagbridge.jobs WHERE state IN ('delivered', 'duplicate') AND updated_at < \(cutoff) LIMIT \(Int64(chunk)))
                                RETURNING id, event_ref
                            ), a AS (
                                DELETE FROM dagbridge.attempts WHERE job_id IN (SELECT id FROM d)
                            ), e AS (
                                DELETE FROM dagbridge.events ev WHERE ev.id IN (SELECT event_ref FROM d)
                                    AND NOT EXISTS (SELECT 1 FROM dagbridge.jobs j WHERE j.event_ref = ev.id AND j.id NOT IN (SELECT id FROM d))
                                RETURNING 1
                            )
                            SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM e)
                            """, logger: logger
                        ).collect()
                        let (jobs, events) = try rows.first?.decode((Int, Int).self) ?? (0, 0)
                        total.jobs += jobs
                        total.events += events
                        if jobs < chunk { break }
                    }
                    _ = try await c.query("DELETE FROM dagbridge.replay_keys WHERE expires_at < \(t)", logger: logger).collect()
                } catch {
                    _ = try? await c.query("SELECT pg_advisory_unlock(\(PostgresSchema.pruneLock))", logger: logger).collect()
                    throw error
                }
                _ = try await c.query("SELECT pg_advisory_unlock(\(PostgresSchema.pruneLock))", logger: logger).collect()
                return total
            }
        }
    }

    // MARK: Inspection

    static let jobColumns = """
        id, event_ref, rule, target, dag_id, conf, dag_run_id, logical_date, note, retry, state, attempts, \
        next_attempt_at, age_from, created_at, updated_at, last_status, last_reason, replays
        """

    static func decodeJob(_ row: PostgresRow) throws -> StoredJob {
        let r = row.makeRandomAccess()
        let conf: JSONValue = (try? JSONParser.parse(try r[5].decode(String.self))) ?? .null
        let job = TriggerJob(
            rule: try r[2].decode(String.self), target: try r[3].decode(String.self), dagId: try r[4].decode(String.self), conf: conf,
            dagRunId: try r[6].decode(String.self), logicalDate: try r[7].decode(String?.self), note: try r[8].decode(String?.self),
            retry: Journal.decodeRetry(try r[9].decode(String?.self)))
        return StoredJob(
            id: try r[0].decode(Int64.self), eventRef: try r[1].decode(Int64.self), job: job,
            state: JobState(rawValue: try r[10].decode(String.self)) ?? .pending, attempts: try r[11].decode(Int.self),
            nextAttemptAt: Journal.date(try r[12].decode(Double.self)), ageFrom: Journal.date(try r[13].decode(Double.self)),
            createdAt: Journal.date(try r[14].decode(Double.self)), updatedAt: Journal.date(try r[15].decode(Double.self)),
            lastStatus: try r[16].decode(Int?.self), lastReason: try r[17].decode(String?.self), replays: try r[18].decode(Int.self))
    }

    static func decodeEvent(_ row: PostgresRow) throws -> StoredEvent {
        let r = row.makeRandomAccess()
        var body = try r[5].decode(ByteBuffer.self)
        let raw = body.readBytes(length: body.readableBytes) ?? []
        let envelope = Journal.restoredEnvelope((try? JSONParser.parse(try r[4].decode(String.self))) ?? .null, rawBody: raw)
        return StoredEvent(
            rowID: try r[0].decode(Int64.self), source: try r[1].decode(String.self), eventID: try r[2].decode(String.self),
            receivedAt: Journal.date(try r[3].decode(Double.self)), envelope: envelope, rawBody: raw)
    }

    static let eventColumns = "id, source, event_id, received_at, envelope, raw_body"

    func fetchJobs(_ what: String, _ query: PostgresQuery) async throws -> [StoredJob] {
        let client = self.client
        return try await run(what) {
            var out: [StoredJob] = []
            for try await row in try await client.query(query) { out.append(try PostgresJournal.decodeJob(row)) }
            return out
        }
    }

    func fetchEvents(_ what: String, _ query: PostgresQuery) async throws -> [StoredEvent] {
        let client = self.client
        return try await run(what) {
            var out: [StoredEvent] = []
            for try await row in try await client.query(query) { out.append(try PostgresJournal.decodeEvent(row)) }
            return out
        }
    }

    public func jobs(matching filter: JobFilter) async throws -> [StoredJob] {
        let order = filter.newestFirst ? " ORDER BY updated_at DESC, id DESC" : " ORDER BY updated_at, id"
        var (sql, binds) = Self.filterSQL(filter, bound: try await scanEnd(matching: filter))
        sql = "SELECT \(Self.jobColumns) FROM dagbridge.jobs WHERE " + sql + order
        if let l = filter.limit {
            binds.append(Int64(l))
            sql += " LIMIT $\(binds.count)"
        }
        return try await fetchJobs("listing jobs", PostgresQuery(unsafeSQL: sql, binds: binds))
    }

    public func countJobs(matching filter: JobFilter, upTo: Int) async throws -> Int {
        var f = filter
        f.cursor = nil
        var (sql, binds) = Self.filterSQL(f, bound: try await scanEnd(matching: f))
        binds.append(Int64(upTo))
        let query = PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM (SELECT 1 FROM dagbridge.jobs WHERE \(sql) LIMIT $\(binds.count)) AS s", binds: binds)
        let client = self.client
        return try await run("counting jobs") {
            for try await n in try await client.query(query).decode(Int64.self) { return Int(n) }
            return 0
        }
    }

    public func scanEnd(matching filter: JobFilter) async throws -> JobCursor? {
        guard let scan = filter.scanLimit, filter.reason != nil else { return nil }
        var f = filter
        f.reason = nil
        var (sql, binds) = Self.filterSQL(f, bound: nil)
        let order = f.newestFirst ? " ORDER BY updated_at DESC, id DESC" : " ORDER BY updated_at, id"
        binds.append(Int64(scan - 1))
        let query = PostgresQuery(unsafeSQL: "SELECT updated_at, id FROM dagbridge.jobs WHERE \(sql)\(order) LIMIT 1 OFFSET $\(binds.count)", binds: binds)
        let client = self.client
        return try await run("paging jobs") {
            for try await (at, id) in try await client.query(query).decode((Double, Int64).self) { return JobCursor(updatedAt: at, id: id) }
            return nil
        }
    }

    /// The `WHERE` clause of a filter (without its limit) and its bindings (`$1` is the state).
    static func filterSQL(_ filter: JobFilter, bound: JobCursor?) -> (String, PostgresBindings) {
        var binds = PostgresBindings()
        var sql = "state = $1"
        binds.append(filter.state.rawValue)
        func add(_ clause: String, _ value: some PostgresNonThrowingEncodable & Sendable) {
            binds.append(value)
            sql += clause.replacingOccurrences(of: "?", with: "$\(binds.count)")
        }
        if let r = filter.rule { add(" AND rule = ?", r.pgText) }
        if let t = filter.target { add(" AND target = ?", t.pgText) }
        if let s = filter.since { add(" AND updated_at >= ?", s.timeIntervalSince1970) }
        if let u = filter.until { add(" AND updated_at < ?", u.timeIntervalSince1970) }
        if let r = filter.reason { add(" AND position(lower(?) in lower(COALESCE(last_reason, ''))) > 0", r.pgText) }
        if let c = filter.cursor {
            binds.append(c.updatedAt)
            binds.append(c.id)
            sql += (filter.newestFirst ? " AND (updated_at, id) < ($" : " AND (updated_at, id) > ($") + "\(binds.count - 1), $\(binds.count))"
        }
        if let b = bound {
            binds.append(b.updatedAt)
            binds.append(b.id)
            sql += (filter.newestFirst ? " AND (updated_at, id) >= ($" : " AND (updated_at, id) <= ($") + "\(binds.count - 1), $\(binds.count))"
        }
        return (sql, binds)
    }

    public func job(id: Int64) async throws -> StoredJob? {
        try await fetchJobs("reading a job", "SELECT \(unescaped: Self.jobColumns) FROM dagbridge.jobs WHERE id = \(id)").first
    }

    public func event(rowID: Int64) async throws -> StoredEvent? {
        try await fetchEvents("reading an event", "SELECT \(unescaped: Self.eventColumns) FROM dagbridge.events WHERE id = \(rowID)").first
    }

    public func attempts(jobID: Int64) async throws -> [AttemptRecord] {
        let client = self.client
        return try await run("reading attempts") {
            var out: [AttemptRecord] = []
            let rows = try await client.query(
                "SELECT at, duration, http_status, outcome, reason, answer FROM dagbridge.attempts WHERE job_id = \(jobID) ORDER BY id")
            for try await (at, duration, status, outcome, reason, answer) in rows.decode((Double, Double, Int?, String, String, String).self) {
                out.append(AttemptRecord(at: Journal.date(at), duration: duration, httpStatus: status, outcome: outcome, reason: reason, answer: answer))
            }
            return out
        }
    }

    public func audit(jobID: Int64) async throws -> [AuditEntry] {
        let client = self.client
        return try await run("reading the audit log") {
            var out: [AuditEntry] = []
            let rows = try await client.query(
                """
                SELECT a.id, a.at, a.actor, a.action, a.filters, a.options, a.job_count, j.detail
                FROM dagbridge.audit_jobs j JOIN dagbridge.audit a ON a.id = j.audit_id WHERE j.job_id = \(jobID) ORDER BY a.id
                """)
            for try await (id, at, actor, action, filters, options, count, detail) in rows.decode(
                (Int64, Double, String, String, String, String, Int, String?).self)
            {
                out.append(
                    AuditEntry(id: id, at: Journal.date(at), actor: actor, action: action, filters: filters, options: options, jobCount: count, detail: detail))
            }
            return out
        }
    }

    public func auditLog(limit: Int) async throws -> [AuditEntry] {
        let client = self.client
        return try await run("reading the audit log") {
            var out: [AuditEntry] = []
            let rows = try await client.query(
                "SELECT id, at, actor, action, filters, options, job_count FROM dagbridge.audit ORDER BY id DESC LIMIT \(Int64(limit))")
            for try await (id, at, actor, action, filters, options, count) in rows.decode((Int64, Double, String, String, String, String, Int).self) {
                out.append(
                    AuditEntry(id: id, at: Journal.date(at), actor: actor, action: action, filters: filters, options: options, jobCount: count, detail: nil))
            }
            return out
        }
    }

    public func events(eventID: String, source: String?) async throws -> [StoredEvent] {
        let id = eventID.pgText
        if let source {
            return try await fetchEvents(
                "reading events",
                "SELECT \(unescaped: Self.eventColumns) FROM dagbridge.events WHERE event_id = \(id) AND source = \(source.pgText) ORDER BY id")
        }
        return try await fetchEvents("reading events", "SELECT \(unescaped: Self.eventColumns) FROM dagbridge.events WHERE event_id = \(id) ORDER BY id")
    }

    public func jobs(eventRef: Int64) async throws -> [StoredJob] {
        try await fetchJobs("reading an event's jobs", "SELECT \(unescaped: Self.jobColumns) FROM dagbridge.jobs WHERE event_ref = \(eventRef) ORDER BY seq, id")
    }

    public func jobsWithEvents(ids: [Int64]) async throws -> [(Int64, StoredJob?, StoredEvent?)] {
        if ids.isEmpty { return [] }
        let jobs = try await fetchJobs("reading jobs", "SELECT \(unescaped: Self.jobColumns) FROM dagbridge.jobs WHERE id = ANY(\(ids)::int8[])")
        let refs = Array(Set(jobs.map(\.eventRef)))
        let events = refs.isEmpty ? [] : try await fetchEvents(
            "reading events", "SELECT \(unescaped: Self.eventColumns) FROM dagbridge.events WHERE id = ANY(\(refs)::int8[])")
        let jobByID = Dictionary(jobs.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let eventByID = Dictionary(events.map { ($0.rowID, $0) }, uniquingKeysWith: { a, _ in a })
        return ids.map { id in
            let j = jobByID[id]
            return (id, j, j.flatMap { eventByID[$0.eventRef] })
        }
    }

    // MARK: Operator actions

    public func applyReplay(_ plans: [ReplayPlan], audit: AuditDraft) async throws -> Set<Int64> {
        var ids: [Int64] = [], due: [Double] = [], replays: [Int64] = [], dag: [String] = [], conf: [String] = [], run: [String] = []
        var logical: [String?] = [], note: [String?] = [], retry: [String?] = []
        for p in plans {
            let j = Journal.PreparedJob(p.job)
            ids.append(p.id)
            due.append(p.due)
            replays.append(Int64(p.replays))
            dag.append(j.dagId.pgText)
            conf.append(j.conf.pgText)
            run.append(j.dagRunId.pgText)
            logical.append(j.logicalDate.pgText)
            note.append(j.note.pgText)
            retry.append(j.retry)
        }
        let logicalA = NullableTextArray(values: logical), noteA = NullableTextArray(values: note), retryA = NullableTextArray(values: retry)
        let idList = ids, dueList = due, replayList = replays, dagList = dag, confList = conf, runList = run
        let client = self.client, logger = self.logger
        let reason = "replayed by \(audit.actor)".pgText
        let applied = try await self.run("replaying jobs") {
            try await client.withTransaction(logger: logger) { c in
                let auditID = try await c.query(
                    """
                    INSERT INTO dagbridge.audit (at, actor, action, filters, options, job_count)
                    VALUES (\(audit.at), \(audit.actor.pgText), 'replay', \(audit.filters.pgText), \(audit.options.pgText), 0) RETURNING id
                    """, logger: logger
                ).collect().first?.decode(Int64.self) ?? 0
                var applied = Set<Int64>()
                let rows = try await c.query(
                    """
                    WITH p AS (
                        SELECT * FROM unnest(\(idList)::int8[], \(dueList)::float8[], \(replayList)::int8[], \(dagList)::text[], \(confList)::text[], \(runList)::text[],
                            \(logicalA)::text[], \(noteA)::text[], \(retryA)::text[])
                            AS p(id, due, replays, dag_id, conf, dag_run_id, logical_date, note, retry)
                    ), u AS (
                        UPDATE dagbridge.jobs j SET state = 'pending', attempts = 0, next_attempt_at = p.due, age_from = \(audit.at),
                            updated_at = \(audit.at), replays = p.replays, dag_id = p.dag_id, conf = p.conf, dag_run_id = p.dag_run_id,
                            logical_date = p.logical_date, note = p.note, retry = p.retry, last_reason = \(reason), owner = NULL, lease_until = NULL
                        FROM p WHERE j.id = p.id AND j.replays = p.replays - 1 AND j.state IN ('dead', 'delivered', 'duplicate')
                        RETURNING j.id, j.dag_run_id
                    ), l AS (
                        INSERT INTO dagbridge.audit_jobs (audit_id, job_id, detail) SELECT \(auditID), u.id, 'run id ' || u.dag_run_id FROM u
                    ), wake AS (
                        SELECT pg_notify(\(PostgresSchema.channel), '') FROM u LIMIT 1
                    )
                    SELECT u.id FROM u LEFT JOIN wake ON true
                    """, logger: logger)
                for try await id in rows.decode(Int64.self) { applied.insert(id) }
                _ = try await c.query("UPDATE dagbridge.audit SET job_count = \(Int64(applied.count)) WHERE id = \(auditID)", logger: logger).collect()
                return applied
            }
        }
        if !applied.isEmpty {
            adjustActive(applied.count)
            notifyLocal()
        }
        return applied
    }

    public func applyPurge(_ ids: [Int64], audit: AuditDraft) async throws -> Set<Int64> {
        let client = self.client, logger = self.logger
        return try await run("purging jobs") {
            try await client.withTransaction(logger: logger) { c in
                let auditID = try await c.query(
                    """
                    INSERT INTO dagbridge.audit (at, actor, action, filters, options, job_count)
                    VALUES (\(audit.at), \(audit.actor.pgText), 'purge', \(audit.filters.pgText), \(audit.options.pgText), 0) RETURNING id
                    """, logger: logger
                ).collect().first?.decode(Int64.self) ?? 0
                var deleted = Set<Int64>()
                let rows = try await c.query(
                    """
                    WITH d AS (
                        DELETE FROM dagbridge.jobs WHERE id = ANY(\(ids)::int8[]) AND state = 'dead' RETURNING id, event_ref
                    ), a AS (
                        DELETE FROM dagbridge.attempts WHERE job_id IN (SELECT id FROM d)
                    ), e AS (
                        DELETE FROM dagbridge.events ev WHERE ev.id IN (SELECT event_ref FROM d)
                            AND NOT EXISTS (SELECT 1 FROM dagbridge.jobs j WHERE j.event_ref = ev.id AND j.id NOT IN (SELECT id FROM d))
                    ), l AS (
                        INSERT INTO dagbridge.audit_jobs (audit_id, job_id, detail) SELECT \(auditID), id, 'purged' FROM d
                    )
                    SELECT id FROM d
                    """, logger: logger)
                for try await id in rows.decode(Int64.self) { deleted.insert(id) }
                _ = try await c.query("UPDATE dagbridge.audit SET job_count = \(Int64(deleted.count)) WHERE id = \(auditID)", logger: logger).collect()
                return deleted
            }
        }
    }
}


/// The first of an operation's result, its deadline and its caller's cancellation resumes the caller.
final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var done = false
        var onFinish: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func start(_ c: CheckedContinuation<T, any Error>) {
        let early = state.withLock { s -> Result<T, any Error>? in
            if let e = s.early {
                s.early = nil
                return e
            }
            s.continuation = c
            return nil
        }
        if let early { c.resume(with: early) }
    }

    /// Runs `body` once the race is decided (at once when it already is).
    func onFinish(_ body: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.done { return true }
            s.onFinish = body
            return false
        }
        if now { body() }
    }

    func finish(_ result: Result<T, any Error>) {
        let (c, hook) = state.withLock { s -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard !s.done else { return (nil, nil) }
            s.done = true
            let hook = s.onFinish
            s.onFinish = nil
            if let c = s.continuation {
                s.continuation = nil
                return (c, hook)
            }
            s.early = result
            return (nil, hook)
        }
        c?.resume(with: result)
        hook?()
    }
}
