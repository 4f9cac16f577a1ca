import BridgeCore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL cluster on 127.0.0.1 for tests and benchmarks: `scripts/pg-testbed.sh` in a
/// temporary folder of its own.
///
/// The cluster has a superuser `dagbridge` with a random password, a database `dagbridge`, and listens on
/// 127.0.0.1 only, at a free port in 55400-55999. Host connections need the password (scram-sha-256) and may
/// use TLS: the server's certificate names `localhost` and `127.0.0.1` and is signed by a throwaway CA
/// (``caFile``), so `sslmode=verify-full` works. `fsync` and `synchronous_commit` are on: what a benchmark
/// measures is a durable commit.
///
/// ```swift
/// @Test(.enabled(if: PostgresServer.testsRun, "PostgreSQL is not installed: scripts/setup.sh --test"))
/// func journalSurvivesRestart() throws {
///     let server = try PostgresServer.start()  // under CI=true without PostgreSQL: throws the reason
///     defer { server.stop() }
///     try server.psql("CREATE TABLE t (x int)")
/// }
/// ```
///
/// Every method blocks until the script is done (``start()`` takes one to two seconds): from async code,
/// call them on a thread of their own rather than on the cooperative pool. ``stop()`` (or `deinit`) stops
/// the server and removes its folder.
public final class PostgresServer: Sendable {
    /// `postgres://dagbridge:PASSWORD@127.0.0.1:PORT/dagbridge`.
    public let url: String
    /// The host to connect to: `127.0.0.1` (the certificate also names `localhost`).
    public let host = "127.0.0.1"
    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The superuser's name, `dagbridge`.
    public let username = "dagbridge"
    /// The superuser's password (random, hex).
    public let password: String
    /// The database the tests use, `dagbridge`.
    public let database = "dagbridge"
    /// The cluster's folder: `data/`, `postgres.log`, the unix socket, the TLS files.
    public let dir: String
    /// The throwaway CA that signed the server's certificate (PEM), for `sslrootcert` or a trust root.
    public let caFile: String
    /// Whether ``stop()`` has run (it runs once).
    private let stopped = Mutex(false)

    /// `scripts/pg-testbed.sh` of this package.
    static let script: String = {
        // Sources/BridgeStoreTesting/PostgresServer.swift: the package root is two folders above this one.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/scripts/pg-testbed.sh"
    }()

    private init(url: String, port: Int, password: String, dir: String) {
        self.url = url
        self.port = port
        self.password = password
        self.dir = dir
        self.caFile = dir + "/ca.crt"
    }

    deinit { stop() }

    /// Why no server can start here (`pg-testbed.sh check`: PostgreSQL or openssl is not installed), or nil
    /// when one can.
    ///
    /// A test skips with this reason, except under `CI=true` (``isRequired``), where it must fail instead:
    /// ``start()`` then throws it. `scripts/setup.sh --test` installs what is missing.
    public static var unavailableReason: String? { checked }

    private static let checked: String? = {
        do {
            let r = try Subprocess.run([script, "check"], timeout: 30)
            if r.status == 0 { return nil }
            let why = (r.out + r.err).trimmingCharacters(in: .whitespacesAndNewlines)
            return why.isEmpty ? "pg-testbed.sh check failed (\(r.status))" : why
        } catch {
            return "pg-testbed.sh check did not run: \(error)"
        }
    }()

    /// Whether a missing PostgreSQL must fail a test rather than skip it: `CI=true`.
    public static var isRequired: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether tests that need a server run: it can start here, or ``isRequired`` (so that they fail).
    ///
    /// For `.enabled(if: PostgresServer.testsRun, …)`; the skip's reason is ``unavailableReason``.
    public static var testsRun: Bool { unavailableReason == nil || isRequired }

    /// Starts a new cluster in a new temporary folder.
    ///
    /// - Throws: `BridgeError(.unavailable)` with ``unavailableReason`` when PostgreSQL is not installed, or
    ///   with the script's output when the server does not start; nothing is left running then.
    public static func start() throws -> PostgresServer {
        if let reason = unavailableReason {
            throw BridgeError(.unavailable, "PostgreSQL testbed unavailable: \(reason)")
        }
        let dir = NSTemporaryDirectory() + "dagbridge-pg-\(UUID().uuidString)"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let r = try Subprocess.run([script, "start", dir], timeout: 120)
            let url = r.out.split(separator: "\n").last.map(String.init) ?? ""
            guard r.status == 0, url.hasPrefix("postgres://"),
                let port = Int(try String(contentsOfFile: dir + "/port", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
            else {
                throw BridgeError(.unavailable, "pg-testbed.sh start failed (\(r.status)): \(r.out)\(r.err)")
            }
            let password = try String(contentsOfFile: dir + "/password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            return PostgresServer(url: url, port: port, password: password, dir: dir)
        } catch {
            // A failed start has stopped what it started (the script's trap); the folder is ours to remove.
            _ = try? Subprocess.run([script, "stop", dir], timeout: 60)
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
    }

    /// Stops the server (`pg_ctl stop -m fast`) and removes its folder. Runs once; later calls do nothing.
    public func stop() {
        let first = stopped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        _ = try? Subprocess.run([Self.script, "stop", dir], timeout: 60)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Crashes the server and starts it again at once (`pg_ctl restart -m immediate`): open connections
    /// break, committed data survives through crash recovery, as after a failover.
    ///
    /// - Throws: `BridgeError(.unavailable)` when it does not come back.
    public func restartImmediate() throws {
        try script("restart", timeout: 120)
    }

    /// Crashes the server (`pg_ctl stop -m immediate`) and leaves it down: the port refuses connections
    /// until ``startAgain()``.
    ///
    /// - Throws: `BridgeError(.unavailable)` when the script fails.
    public func kill() throws {
        try script("kill", timeout: 60)
    }

    /// Starts the server again after ``kill()``, on the same port with the same data (nothing when it runs).
    ///
    /// - Throws: `BridgeError(.unavailable)` when it does not start (for example, the port was taken meanwhile).
    public func startAgain() throws {
        try script("start-again", timeout: 120)
    }

    /// Runs `sql` with psql as the superuser over the unix socket, in database `dagbridge`, stopping at the
    /// first error.
    ///
    /// - Returns: the rows psql printed, unaligned (`-At`: columns joined by `|`, one row a line), trimmed.
    /// - Throws: `BridgeError(.unavailable)` with psql's error when a statement fails or the server is down.
    @discardableResult
    public func psql(_ sql: String) throws -> String {
        try script("psql", sql, timeout: 60)
    }

    /// ``psql(_:)`` in another database of the cluster.
    @discardableResult
    public func psql(_ sql: String, database: String) throws -> String {
        var env = ProcessInfo.processInfo.environment
        env["PGTESTBED_DATABASE"] = database
        return try script("psql", sql, environment: env, timeout: 60)
    }

    @discardableResult
    private func script(_ command: String, _ extra: String..., environment: [String: String]? = nil, timeout: Double) throws -> String {
        let r = try Subprocess.run([Self.script, command, dir] + extra, environment: environment, timeout: timeout)
        guard r.status == 0 else {
            throw BridgeError(.unavailable, "pg-testbed.sh \(command) failed (\(r.status)): \(r.err.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
