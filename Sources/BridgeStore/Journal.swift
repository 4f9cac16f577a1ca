public import BridgeCore
import Foundation
import GRDB
public import Logging
import Synchronization

/// The durable outbox: events and the jobs they produced, their delivery state,
/// every attempt, the dead-letter queue and the operators' audit log, in one
/// SQLite file (WAL mode) through GRDB.
///
/// All writes go through one writer with group commit (see ``WriterStats``), so
/// many concurrent ``enqueue(event:jobs:)`` calls share one transaction and one
/// fsync. Readers (the dispatcher's look-ups, `dagbridge dlq` in another process)
/// use WAL snapshots and never block the writer.
///
/// Opening a journal does not touch jobs; the dispatcher calls ``recoverInFlight()``
/// once at start-up, so the CLI can open the file while the service runs.
public final class Journal: JournalStore {
    /// The settings the journal was opened with.
    public let config: StoreConfig
    let pool: DatabasePool
    let writer: GroupCommitWriter
    let logger: Logger
    let checkpointer: Checkpointer

    private struct Pressure {
        /// Pending + in-flight jobs, as counted by this process.
        var active = 0
        var on = false
    }
    private let pressure = Mutex(Pressure())
    private let listeners = Mutex<[@Sendable () -> Void]>([])

    /// Opens (creating when missing) the journal file and brings its schema up to date.
    ///
    /// Blocking: call it at start-up, not on a hot path.
    /// - Throws: `BridgeError` (`.io`) when the folder or file cannot be created or opened.
    public convenience init(config: StoreConfig, logger: Logger = Logger(label: "dagbridge.store")) throws {
        try self.init(config: config, logger: logger, walLimit: 64 << 20)
    }

    /// ``init(config:logger:)`` with the WAL size at which the writer truncates the WAL (tests use a small one).
    @_spi(Testing) public init(config: StoreConfig, logger: Logger = Logger(label: "dagbridge.store"), walLimit: Int) throws {
        self.config = config
        self.logger = logger
        let dir = (config.path as NSString).deletingLastPathComponent
        if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw BridgeError(.io, "cannot create the store folder '\(dir)'", cause: error)
            }
        }
        var c = Configuration()
        c.busyMode = .timeout(config.busyTimeout)
        c.foreignKeysEnabled = false
        let sync = config.durability == .full ? "FULL" : "NORMAL"
        let applied: Int?
        c.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(sync)")
            // Checkpoints run on their own thread (see Checkpointer), never inside a commit.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        do {
            pool = try DatabasePool(path: config.path, configuration: c)
            // GRDB switches the writer to `synchronous = NORMAL` when it turns WAL on, after
            // `prepareDatabase` ran; set the configured mode again on the one writer connection
            // and read it back, so `full` really syncs every commit.
            applied = try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(sync)")
                return try Int.fetchOne(db, sql: "PRAGMA synchronous")
            }
            try Journal.migrator.migrate(pool)
        } catch {
            throw BridgeError(.io, "cannot open the store '\(config.path)' (check the path and its permissions)", cause: error)
        }
        guard applied == (config.durability == .full ? 2 : 1) else {
            throw BridgeError(
                .io, "the store '\(config.path)' stays at SQLite synchronous = \(applied ?? -1) after setting \(sync): durability '\(config.durability.rawValue)' cannot be honoured")
        }
        writer = GroupCommitWriter(pool: pool)
        do {
            checkpointer = try Checkpointer(path: config.path, walLimit: walLimit, writer: writer, busyTimeout: config.busyTimeout, logger: logger)
        } catch {
            throw BridgeError(.io, "cannot open the store '\(config.path)' for checkpoints", cause: error)
        }
        try refreshCountersBlocking()
    }

    deinit { checkpointer.stop() }

    /// Opens a journal at `path` with default settings otherwise.
    public convenience init(path: String, durability: StoreConfig.Durability = .full) throws {
        try self.init(config: StoreConfig(path: path, durability: durability))
    }

    // MARK: Enqueue

    /// Durably stores an event and its jobs in one transaction (shared with concurrent callers).
    ///
    /// Idempotent per (source, event id): when the event is already in the journal, nothing is
    /// written and the ids of the jobs it produced the first time are returned.
    /// An event with no jobs is not stored.
    /// - Returns: the job ids, in the order of `jobs`.
    public func enqueue(event: Event, jobs: [TriggerJob]) async throws -> [Int64] {
        try await enqueue(event: event, jobs: jobs, failures: [])
    }

    /// Like ``enqueue(event:jobs:)``, and stores each matched rule that could not render as a
    /// dead job (state `dead`, reason "render error: …", run id `<rule>__<event id>`) in the same
    /// transaction, so the event is kept and `dlq replay --rerender` can try again after a fix.
    /// - Returns: the ids of `jobs` (not of the dead letters), in order.
    public func enqueue(event: Event, jobs: [TriggerJob], failures: [RenderFailure]) async throws -> [Int64] {
        if jobs.isEmpty && failures.isEmpty { return [] }
        let prepared = PreparedEvent(event: event, jobs: jobs, failures: failures, now: Date().timeIntervalSince1970)
        let (ids, created) = try await writer.submit { db in try Journal.insert(prepared, db) }
        if created, !ids.isEmpty {
            adjustActive(ids.count)
            notifyNewJobs()
        }
        return ids
    }

    /// Stores every entry in one transaction (one fsync for a whole Kafka poll batch). Entries
    /// whose event is already in the journal are skipped, as in ``enqueue(event:jobs:failures:)``.
    public func enqueueBatch(_ entries: [JobStoreEntry]) async throws {
        let now = Date().timeIntervalSince1970
        let rows: [PreparedEvent] = entries.compactMap { e in
            e.jobs.isEmpty && e.failures.isEmpty ? nil : PreparedEvent(event: e.event, jobs: e.jobs, failures: e.failures, now: now)
        }
        if rows.isEmpty { return }
        let created = try await writer.submit { db in
            var n = 0
            for row in rows {
                let (ids, isNew) = try Journal.insert(row, db)
                if isNew { n += ids.count }
            }
            return n
        }
        if created > 0 {
            adjustActive(created)
            notifyNewJobs()
        }
    }

    /// A matched rule that did not render, stored as a dead job.
    struct PreparedFailure: Sendable {
        var rule, target, dagRunId, reason: String
    }

    /// An event and its jobs encoded for the writer; encoding happens on the caller's task.
    struct PreparedEvent: Sendable {
        var source: String
        var eventID: String
        var receivedAt: Double
        var envelope: String
        var rawBody: Data
        var jobs: [PreparedJob]
        var failures: [PreparedFailure] = []
        var now: Double

        /// `failures` become dead jobs (run id `<rule>__<event id>`, reason "render error: …").
        init(event: Event, jobs: [TriggerJob], failures: [RenderFailure] = [], now: Double) {
            source = event.source
            eventID = event.id
            receivedAt = event.receivedAt.timeIntervalSince1970
            envelope = JSONWriter.string(Journal.storedEnvelope(event))
            rawBody = Data(event.rawBody)
            self.jobs = jobs.map(PreparedJob.init)
            self.failures = failures.map { f in
                PreparedFailure(rule: f.rule, target: f.target, dagRunId: RunID.defaultID(rule: f.rule, eventID: event.id), reason: "render error: \(f.reason)")
            }
            self.now = now
        }
    }

    struct PreparedJob: Sendable {
        var rule, target, dagId, conf, dagRunId: String
        var logicalDate, note, retry: String?

        init(_ j: TriggerJob) {
            rule = j.rule
            target = j.target
            dagId = j.dagId
            conf = JSONWriter.string(j.conf)
            dagRunId = j.dagRunId
            logicalDate = j.logicalDate
            note = j.note
            retry = j.retry.map(Journal.encodeRetry)
        }
    }

    /// The envelope as stored: without `body` when the body is ``Event/parseBody(_:)`` of the raw
    /// bytes, which the row keeps anyway (a JSON webhook or Kafka body is then stored once, not
    /// twice). ``restoredEnvelope(_:rawBody:)`` puts it back when the event is read.
    static func storedEnvelope(_ event: Event) -> JSONValue {
        guard event.bodyIsParsedRawBody, let object = event.envelope.objectValue, let at = object.keys.firstIndex(of: "body") else {
            return event.envelope
        }
        var keys = object.keys
        var values = object.values
        keys.remove(at: at)
        values.remove(at: at)
        return .object(JSONObject(uniqueKeys: keys, values: values))
    }

    /// A stored envelope with its `body` back: an envelope stored without one gets ``Event/parseBody(_:)``
    /// of the raw bytes, in the place ``Event`` gives it (after `headers`). Envelopes stored whole
    /// (older rows, form or CloudEvents bodies) are returned as they are.
    static func restoredEnvelope(_ stored: JSONValue, rawBody: [UInt8]) -> JSONValue {
        guard let object = stored.objectValue, object["body"] == nil else { return stored }
        var keys = object.keys
        var values = object.values
        let at = keys.firstIndex(of: "headers").map { $0 + 1 } ?? keys.count
        keys.insert("body", at: at)
        values.insert(Event.parseBody(rawBody), at: at)
        return .object(JSONObject(uniqueKeys: keys, values: values))
    }

    static func insert(_ e: PreparedEvent, _ db: Database) throws -> ([Int64], Bool) {
        let insEvent = try db.cachedStatement(
            sql: """
                INSERT INTO events (source, event_id, received_at, envelope, raw_body) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (source, event_id) DO NOTHING
                """)
        try insEvent.execute(arguments: [e.source, e.eventID, e.receivedAt, e.envelope, e.rawBody])
        if db.changesCount == 0 {
            let existing = try Int64.fetchOne(
                db, sql: "SELECT id FROM events WHERE source = ? AND event_id = ?", arguments: [e.source, e.eventID])
            let ids = try Int64.fetchAll(
                db, sql: "SELECT id FROM jobs WHERE event_ref = ? AND dag_id != '' ORDER BY seq", arguments: [existing])
            return (ids, false)
        }
        let eventRow = db.lastInsertedRowID
        let insJob = try db.cachedStatement(
            sql: """
                INSERT INTO jobs (event_ref, seq, rule, target, dag_id, conf, dag_run_id, logical_date, note, retry,
                    state, attempts, next_attempt_at, age_from, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \(JobState.pending.sql), 0, ?, ?, ?, ?)
                """)
        var ids: [Int64] = []
        ids.reserveCapacity(e.jobs.count)
        for (i, j) in e.jobs.enumerated() {
            try insJob.execute(arguments: [
                eventRow, i, j.rule, j.target, j.dagId, j.conf, j.dagRunId, j.logicalDate, j.note, j.retry,
                e.now, e.now, e.now, e.now,
            ])
            ids.append(db.lastInsertedRowID)
        }
        if !e.failures.isEmpty {
            let insDead = try db.cachedStatement(
                sql: """
                    INSERT INTO jobs (event_ref, seq, rule, target, dag_id, conf, dag_run_id, state, attempts,
                        next_attempt_at, age_from, created_at, updated_at, last_reason)
                    VALUES (?, ?, ?, ?, '', 'null', ?, \(JobState.dead.sql), 0, ?, ?, ?, ?, ?)
                    """)
            for (i, f) in e.failures.enumerated() {
                try insDead.execute(arguments: [
                    eventRow, e.jobs.count + i, f.rule, f.target, f.dagRunId, e.now, e.now, e.now, e.now, f.reason,
                ])
            }
        }
        return (ids, true)
    }

    // MARK: Backpressure and notifications

    /// `true` while pending + in-flight jobs are above ``StoreConfig/highWater``, until they fall
    /// below ``StoreConfig/lowWater``.
    public var isBackpressured: Bool { pressure.withLock { $0.on } }

    /// Pending + in-flight jobs as this process counts them (the queue depth).
    public var queueDepth: Int { pressure.withLock { $0.active } }

    func adjustActive(_ delta: Int) {
        let (high, low) = (config.highWater, config.lowWater)
        pressure.withLock { p in
            p.active = max(0, p.active + delta)
            if !p.on, p.active > high { p.on = true } else if p.on, p.active < low { p.on = false }
        }
    }

    private func setActive(_ n: Int) {
        pressure.withLock { $0.active = 0 }
        adjustActive(n)
    }

    /// Re-counts pending + in-flight jobs from the file (another process may have replayed jobs).
    public func refreshCounters() async throws {
        let n = try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE state IN (\(JobState.pending.sql), \(JobState.inFlight.sql))") ?? 0
        }
        setActive(n)
    }

    private func refreshCountersBlocking() throws {
        let n = try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE state IN (\(JobState.pending.sql), \(JobState.inFlight.sql))") ?? 0
        }
        setActive(n)
    }

    /// Registers a handler called (on the writer's queue: keep it short) after new due jobs were committed.
    public func onNewJobs(_ handler: @escaping @Sendable () -> Void) {
        listeners.withLock { $0.append(handler) }
    }

    func notifyNewJobs() {
        for h in listeners.withLock({ $0 }) { h() }
    }

    /// Counters of the group-commit writer.
    public var writerStats: WriterStats { writer.stats }

    /// SQLite's `synchronous` level on the writer connection, the one that commits
    /// (2 = FULL, 1 = NORMAL).
    @_spi(Testing) public func writerSynchronous() async throws -> Int {
        try await writer.submit { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    // MARK: Encoding helpers

    static func encodeRetry(_ r: RetryOverrides) -> String {
        var o = JSONObject()
        if let v = r.maxAttempts { o["max_attempts"] = .int(Int64(v)) }
        if let v = r.maxAge { o["max_age"] = .double(v) }
        if let v = r.initialBackoff { o["initial_backoff"] = .double(v) }
        if let v = r.maxBackoff { o["max_backoff"] = .double(v) }
        return JSONWriter.string(.object(o))
    }

    static func decodeRetry(_ s: String?) -> RetryOverrides? {
        guard let s, let v = try? JSONParser.parse(s) else { return nil }
        var r = RetryOverrides()
        if let n = v["max_attempts"]?.doubleValue { r.maxAttempts = Int(n) }
        r.maxAge = v["max_age"]?.doubleValue
        r.initialBackoff = v["initial_backoff"]?.doubleValue
        r.maxBackoff = v["max_backoff"]?.doubleValue
        return r
    }

    static func date(_ d: Double) -> Date { Date(timeIntervalSince1970: d) }

    static func decodeJob(_ row: Row) -> StoredJob {
        let conf: JSONValue = (try? JSONParser.parse(row[5] as String)) ?? .null
        let job = TriggerJob(
            rule: row[2], target: row[3], dagId: row[4], conf: conf, dagRunId: row[6], logicalDate: row[7],
            note: row[8], retry: decodeRetry(row[9]))
        return StoredJob(
            id: row[0], eventRef: row[1], job: job, state: JobState(rawValue: row[10]) ?? .pending, attempts: row[11],
            nextAttemptAt: date(row[12]), ageFrom: date(row[13]), createdAt: date(row[14]), updatedAt: date(row[15]),
            lastStatus: row[16], lastReason: row[17], replays: row[18])
    }
}
