import BridgeCore
import BridgeStoreTesting
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The throwaway PostgreSQL cluster of one run (`PostgresServer`: fsync and synchronous_commit on),
/// a fresh database per case, and the server's WAL counters.
///
/// ``stop()`` runs at the end of the run, when a case fails, and on SIGINT or SIGTERM; only a
/// crash of this process leaves the cluster running (its folder is `dagbridge-pg-*` in the
/// temporary folder; `scripts/pg-testbed.sh stop DIR` stops it).
final class BenchCluster: Sendable {
    let server: PostgresServer
    /// `DIR/data`, as the postmaster's command line names it.
    let dataDir: String
    /// `SHOW server_version`.
    let version: String
    private let databases = Mutex(0)
    /// Held while the server stops, so a second caller (the signal handler, or the run ending
    /// because the server went away) returns only once the folder is gone.
    private let stopping = NSLock()

    /// The cluster the signal handlers stop.
    private static let current = Mutex<BenchCluster?>(nil)
    private static let signalSources = Mutex<[any DispatchSourceSignal]>([])

    private init(server: PostgresServer, version: String) {
        self.server = server
        self.dataDir = URL(fileURLWithPath: server.dir).resolvingSymlinksInPath().path + "/data"
        self.version = version
    }

    /// Starts a cluster and turns on `track_wal_io_timing` (so ``walStats()`` can tell how long
    /// the WAL fsyncs took).
    /// - Throws: what `PostgresServer.start()` throws (PostgreSQL missing, or not starting), or
    ///   `.unavailable` when the server's processes cannot be found for the CPU figures.
    static func start() async throws -> BenchCluster {
        let cluster = try await offPool { () throws -> BenchCluster in
            let server = try PostgresServer.start()
            do {
                try server.psql("ALTER SYSTEM SET track_wal_io_timing = on")
                try server.psql("SELECT pg_reload_conf()")
                return BenchCluster(server: server, version: try server.psql("SHOW server_version"))
            } catch {
                server.stop()
                throw error
            }
        }
        current.withLock { $0 = cluster }
        installSignalHandlers()
        guard !CPUMeter.postmasters(dataDir: cluster.dataDir).isEmpty else {
            await cluster.stop()
            throw BridgeError(.unavailable, "no process has \(cluster.dataDir) on its command line: the server's CPU cannot be measured")
        }
        return cluster
    }

    /// Stops the server and removes its folder (once).
    func stop() async {
        await offPool { self.stopBlocking() }
        Self.current.withLock { if $0 === self { $0 = nil } }
    }

    private func stopBlocking() {
        stopping.lock()
        defer { stopping.unlock() }
        server.stop()
    }

    /// A new empty database; its name and URL (plain TCP on 127.0.0.1, password authentication).
    func newDatabase(_ label: String) async throws -> (name: String, url: String) {
        let n = databases.withLock { n -> Int in
            n += 1
            return n
        }
        let name = "bench_\(n)_\(label)"
        let server = self.server
        _ = try await offPool { try server.psql("CREATE DATABASE \(name)") }
        return (name, "postgres://\(server.username):\(server.password)@127.0.0.1:\(server.port)/\(name)?sslmode=disable")
    }

    /// Drops a database once nothing uses it (its disk space back for the next case).
    func dropDatabase(_ name: String) async {
        let server = self.server
        _ = try? await offPool { try server.psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }

    /// Runs `sql` with psql over the unix socket in `database` (`PostgresServer.psql` knows only
    /// the database `dagbridge`).
    func psql(_ sql: String, database: String) async throws {
        let server = self.server
        let bin = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }.last.map { "/usr/lib/postgresql/\($0)/bin/psql" }
        try await offPool {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: bin.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil } ?? "/usr/bin/psql")
            p.arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", server.dir, "-p", "\(server.port)", "-U", server.username, "-d", database, "-c", sql]
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw BridgeError(.unavailable, "psql -d \(database) -c '\(sql)' failed (\(p.terminationStatus))") }
        }
    }

    /// `CHECKPOINT`: the dirty pages of the cases before are written now, not during the next one.
    func checkpoint() async throws {
        let server = self.server
        _ = try await offPool { try server.psql("CHECKPOINT") }
    }

    /// The cluster's WAL counters (`pg_stat_wal`).
    struct WALStats {
        /// WAL fsyncs (`wal_sync`): with synchronous_commit on, a commit waits for one (or rides
        /// on another backend's).
        var syncs: Double = 0
        /// Milliseconds spent in them (`wal_sync_time`).
        var syncMilliseconds: Double = 0
        var bytes: Double = 0

        static func - (a: WALStats, b: WALStats) -> WALStats {
            WALStats(syncs: a.syncs - b.syncs, syncMilliseconds: a.syncMilliseconds - b.syncMilliseconds, bytes: a.bytes - b.bytes)
        }
    }

    /// `pg_stat_wal` now. Backends report their counters when they go idle (at most once a second)
    /// and when they exit: read it after the journal has closed its connections.
    func walStats() async throws -> WALStats {
        let server = self.server
        let row = try await offPool { try server.psql("SELECT wal_sync, wal_sync_time, wal_bytes FROM pg_stat_wal") }
        let f = row.split(separator: "|").map { Double($0) ?? 0 }
        guard f.count == 3 else { throw BridgeError(.unavailable, "pg_stat_wal answered '\(row)'") }
        return WALStats(syncs: f[0], syncMilliseconds: f[1], bytes: f[2])
    }

    /// SIGINT and SIGTERM stop the cluster before the process exits.
    private static func installSignalHandlers() {
        signalSources.withLock { sources in
            guard sources.isEmpty else { return }
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler {
                    if let cluster = current.withLock({ $0 }) {
                        FileHandle.standardError.write(Data("bench-store: stopping the PostgreSQL cluster\n".utf8))
                        cluster.stopBlocking()
                    }
                    exit(128 + sig)
                }
                source.resume()
                sources.append(source)
            }
        }
    }
}

/// Runs blocking work (a script, psql) on a thread of its own, not on the cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
        Thread { cont.resume(with: Result { try body() }) }.start()
    }
}

/// ``offPool(_:)`` for work that cannot fail.
func offPool(_ body: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
        Thread {
            body()
            cont.resume()
        }.start()
    }
}
