import BridgeCore
import BridgeStore
import Foundation

/// A fresh journal for one case: a new SQLite file in a temporary folder, or a new database in the
/// run's PostgreSQL cluster; with what measures it and what removes it.
struct BenchJournal {
    let backend: StoreConfig.Backend
    let durability: StoreConfig.Durability
    let journal: any JournalStore
    /// The group-commit counters (SQLite: every write; PostgreSQL: enqueues and completions).
    let writerStats: @Sendable () -> WriterStats
    let meter: CPUMeter
    /// The cluster and the case's database in it (PostgreSQL only).
    let cluster: BenchCluster?
    var database: String? = nil
    /// Closes the journal's connections (PostgreSQL); may run more than once.
    let closeJournal: @Sendable () async -> Void
    private let remove: @Sendable () async -> Void

    /// Opens the journal; no backpressure (the high-water mark is out of reach).
    /// - Parameter pool: PostgreSQL connections (the journal runs pool / 2 enqueue lanes).
    static func open(
        _ backend: StoreConfig.Backend, durability: StoreConfig.Durability, pool: Int, cluster: BenchCluster?, label: String
    ) async throws -> BenchJournal {
        switch backend {
        case .sqlite:
            let dir = NSTemporaryDirectory() + "bench-store-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let config = StoreConfig(path: dir + "/journal.sqlite", durability: durability, highWater: Int(Int32.max), lowWater: 0)
            let journal: Journal
            do {
                journal = try Journal(config: config)
            } catch {
                try? FileManager.default.removeItem(atPath: dir)
                throw error
            }
            return BenchJournal(
                backend: backend, durability: durability, journal: journal, writerStats: { journal.writerStats }, meter: CPUMeter(dataDir: nil),
                cluster: nil, closeJournal: {}, remove: { try? FileManager.default.removeItem(atPath: dir) })
        case .postgres:
            guard let cluster else { preconditionFailure("a PostgreSQL case without a cluster") }
            let db = try await cluster.newDatabase(label)
            var config = StoreConfig(durability: durability, highWater: Int(Int32.max), lowWater: 0)
            config.backend = .postgres
            config.postgres = try PostgresSettings.parse(url: Secret(db.url))
            config.pool = pool
            let journal: PostgresJournal
            do {
                journal = try await PostgresJournal.open(config: config)
            } catch {
                await cluster.dropDatabase(db.name)
                throw error
            }
            return BenchJournal(
                backend: backend, durability: durability, journal: journal, writerStats: { journal.writerStats },
                meter: CPUMeter(dataDir: cluster.dataDir), cluster: cluster, database: db.name, closeJournal: { await journal.close() },
                remove: {
                    await journal.close()
                    await cluster.dropDatabase(db.name)
                })
        }
    }

    /// The cluster's WAL counters (nil for SQLite). Read the second one after ``closeJournal``:
    /// backends report their counters when they exit.
    func walStats() async throws -> BenchCluster.WALStats? {
        guard let cluster else { return nil }
        return try await cluster.walStats()
    }

    /// Runs `body` on a fresh journal and removes it afterwards, also when `body` throws.
    static func with<T>(
        _ backend: StoreConfig.Backend, durability: StoreConfig.Durability, pool: Int, cluster: BenchCluster?, label: String,
        _ body: (BenchJournal) async throws -> T
    ) async throws -> T {
        let j = try await open(backend, durability: durability, pool: pool, cluster: cluster, label: label)
        do {
            let r = try await body(j)
            await j.remove()
            return r
        } catch {
            await j.remove()
            throw error
        }
    }
}
