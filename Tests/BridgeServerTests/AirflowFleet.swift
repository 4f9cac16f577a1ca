import BridgeCore
import BridgeHTTP
import BridgeStoreTesting
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A fleet of `dagbridge serve` replicas on one PostgreSQL journal, delivering to a real Airflow 3
/// (``AirflowTestbed``): a shared `rules/` folder and, per replica, `rN/dagbridge.yaml` that differs
/// only in its port. The database URL (with its password) and the other secrets reach the replicas
/// through the environment, never through the files.
///
/// The target `af` sends one request at a time for the whole fleet (`max_in_flight: 1`: Airflow 3 on
/// SQLite answers concurrent POSTs with 500 "database is locked"), with a 5 s timeout well under the
/// 10 s lease, and quick retries so the faults cost seconds, not minutes.
struct AirflowFleet: Sendable {
    static let adminToken = "af-fleet-admin-token-0123456789"
    /// The DAG the runs go to: paused, so runs stay queued and Airflow's scheduler adds no writes of its own.
    static let dag = "paused_dag"

    let root: String
    let ports: [Int]
    /// What every replica and CLI call gets: the database URL and the config's secrets.
    let env: [String: String]

    init(root: String, database: PostgresServer, airflow: String, replicas: Int) throws {
        self.root = root
        var ports: [Int] = []
        for _ in 0..<replicas { ports.append(freePort(27_500..<28_000, excluding: Set(ports))) }
        self.ports = ports
        env = [
            "DAGBRIDGE_DATABASE_URL": database.url, "AF_FLEET_ADMIN": Self.adminToken, "AF_FLEET_GH": FleetSite.githubSecret,
            "AF_FLEET_AIRFLOW_PASSWORD": "admin",
        ]
        try FileManager.default.createDirectory(atPath: root + "/rules", withIntermediateDirectories: true)
        try """
        rules:
          - name: gh
            source: [github]
            match: { body: { ref: [refs/heads/main] } }
            trigger: { target: af, dag_id: \(Self.dag), conf: { n: "{{ body.n | int }}" } }
        """.write(toFile: root + "/rules/r.yaml", atomically: true, encoding: .utf8)
        for (i, port) in ports.enumerated() {
            try FileManager.default.createDirectory(atPath: replicaDir(i), withIntermediateDirectories: true)
            try """
            server: { listen: "127.0.0.1:\(port)", admin_token: "${env:AF_FLEET_ADMIN}", shutdown_timeout: 5s }
            store: { backend: postgres, url: "${env:DAGBRIDGE_DATABASE_URL}", pool: 4, lease: 10s, connect_timeout: 2s }
            rules: { path: "\(root)/rules", watch: false }
            targets:
              af:
                url: "\(airflow)"
                api: v2
                auth: { type: airflow-password, username: admin, password: "${env:AF_FLEET_AIRFLOW_PASSWORD}" }
                max_in_flight: 1
                timeout: 5s
                retry: { max_attempts: 1000, max_age: 10m, initial_backoff: 200ms, max_backoff: 2s, breaker_threshold: 5, breaker_cooldown: 2s }
            sources:
              webhooks:
                - name: github
                  verify: { type: github, secret: "${env:AF_FLEET_GH}" }
            """.write(toFile: config(i), atomically: true, encoding: .utf8)
        }
    }

    func replicaDir(_ i: Int) -> String { root + "/r\(i)" }
    func config(_ i: Int) -> String { replicaDir(i) + "/dagbridge.yaml" }
    func base(_ i: Int) -> String { "http://127.0.0.1:\(ports[i])" }

    /// Starts replica `i` and waits for its `/healthz`.
    func start(_ i: Int) async throws -> ServeProcess {
        try await ServeProcess.start(dir: replicaDir(i), port: ports[i], env: env)
    }

    /// The `dagbridge` binary with the fleet's environment, on a thread of its own.
    func cli(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
        let env = ProcessInfo.processInfo.environment.merging(self.env) { $1 }
        return try await offPool { try runCommand([CLI.binary] + args, environment: env, timeout: 60) }
    }
}

/// Reads the shared journal with psql (the testbed's superuser over its unix socket), off the cooperative pool.
struct JournalProbe: Sendable {
    let db: PostgresServer

    func rows(_ query: String) async throws -> [[String]] {
        let db = self.db
        let out = try await offPool { try db.psql(query) }
        return out.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    /// The jobs the process `pid` holds claims on (owner is host/pid/random), with their lease ends (epoch seconds).
    func claims(of pid: Int32) async throws -> [(id: Int64, leaseUntil: Double)] {
        try await rows(
            "SELECT id, lease_until FROM dagbridge.jobs WHERE state = 'in_flight' AND split_part(owner, '/', 2) = '\(pid)' ORDER BY id"
        ).compactMap { r in
            guard r.count == 2, let id = Int64(r[0]), let until = Double(r[1]) else { return nil }
            return (id, until)
        }
    }

    /// Per job of `ids`: its state, and the time of its first attempt that started after `after` (nil: none).
    func outcome(of ids: [Int64], after: Double) async throws -> [(id: Int64, state: String, firstAttemptAfter: Double?)] {
        guard !ids.isEmpty else { return [] }
        let list = ids.map(String.init).joined(separator: ",")
        return try await rows(
            """
            SELECT j.id, j.state, COALESCE((SELECT min(a.at)::text FROM dagbridge.attempts a WHERE a.job_id = j.id AND a.at > \(after)), '-')
            FROM dagbridge.jobs j WHERE j.id IN (\(list)) ORDER BY j.id
            """
        ).compactMap { r in
            guard r.count == 3, let id = Int64(r[0]) else { return nil }
            return (id, r[1], Double(r[2]))
        }
    }

    /// Unfinished jobs, for a failure message (id|run|state|owner|lease left|seconds since its last change|attempts|last reason).
    func unfinished() async -> String {
        let rows = try? await rows(
            """
            SELECT id, dag_run_id, state, COALESCE(owner, '-'), COALESCE(round((lease_until - extract(epoch FROM now()))::numeric, 1)::text, '-'),
                round((extract(epoch FROM now()) - updated_at)::numeric, 1), attempts, COALESCE(last_reason, '-')
            FROM dagbridge.jobs WHERE state IN ('pending', 'in_flight') ORDER BY id LIMIT 20
            """)
        return rows.map { $0.map { $0.joined(separator: "|") }.joined(separator: "\n") } ?? "(cannot read the journal)"
    }
}

extension ServeProcess {
    /// SIGTERM (after SIGCONT, in case it is paused), then SIGKILL if it has not exited within `seconds`.
    /// - Returns: whether it exited by itself.
    @discardableResult
    func terminateOrKill(within seconds: Double) -> Bool {
        let pid = process.processIdentifier
        guard process.isRunning else { return true }
        kill(pid, SIGCONT)
        process.terminate()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        guard process.isRunning else { return true }
        kill(pid, SIGKILL)
        process.waitUntilExit()
        return false
    }
}
