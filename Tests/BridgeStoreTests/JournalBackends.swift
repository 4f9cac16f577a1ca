import BridgeCore
import BridgeStore
import BridgeStoreTesting
import Foundation
import Logging
import Testing

/// The journal backends the contract suite runs against.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// One throwaway PostgreSQL cluster for the whole test process (stopped at exit); each test gets a
/// database of its own in it.
enum SharedPostgres {
    nonisolated(unsafe) private static var server: PostgresServer?
    private static let lock = NSLock()

    /// The cluster, started on first use.
    static func get() throws -> PostgresServer {
        lock.lock()
        defer { lock.unlock() }
        if let server { return server }
        let s = try PostgresServer.start()
        server = s
        atexit { SharedPostgres.stopAtExit() }
        return s
    }

    private static func stopAtExit() { server?.stop() }

    /// A new empty database; its URL (plain TCP, password authentication).
    static func newDatabase() throws -> (server: PostgresServer, url: String, name: String) {
        let s = try get()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        _ = try s.psql("CREATE DATABASE \(name)")
        return (s, "postgres://\(s.username):\(s.password)@127.0.0.1:\(s.port)/\(name)?sslmode=disable", String(name))
    }
}

/// Whether a backend's tests run here: PostgreSQL needs the testbed (under `CI=true` it must be there).
func backendRuns(_ b: Backend) -> Bool { b == .sqlite || PostgresServer.testsRun }

/// A fresh journal of `backend`, and what closes and removes it.
struct JournalUnderTest: Sendable {
    let journal: any JournalStore
    let config: StoreConfig
    let cleanup: @Sendable () async -> Void

    /// `configure` adjusts the store settings (retention, water marks) before opening.
    static func make(_ backend: Backend, configure: (inout StoreConfig) -> Void = { _ in }) async throws -> JournalUnderTest {
        switch backend {
        case .sqlite:
            let dir = try TempDir()
            var c = StoreConfig(path: dir.store)
            configure(&c)
            let j = try Journal(config: c)
            return JournalUnderTest(journal: j, config: c, cleanup: { dir.cleanup() })
        case .postgres:
            if let reason = PostgresServer.unavailableReason {
                Issue.record("PostgreSQL is required here (CI=true): \(reason)")
                throw BridgeError(.unavailable, reason)
            }
            let db = try SharedPostgres.newDatabase()
            var c = try postgresConfig(url: db.url)
            configure(&c)
            let j = try await PostgresJournal.open(config: c)
            return JournalUnderTest(journal: j, config: c, cleanup: { await j.close() })
        }
    }

    /// Another handle on the same journal (another process, or another replica of a fleet).
    func second() async throws -> any JournalStore {
        switch config.backend {
        case .sqlite: try Journal(config: config)
        case .postgres: try await PostgresJournal.open(config: config)
        }
    }
}

/// Store settings for a PostgreSQL journal at `url`.
func postgresConfig(url: String, lease: Double = 120) throws -> StoreConfig {
    var c = StoreConfig()
    c.backend = .postgres
    c.postgres = try PostgresSettings.parse(url: Secret(url))
    c.lease = lease
    c.connectTimeout = 10
    return c
}
