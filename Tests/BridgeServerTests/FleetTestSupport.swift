import BridgeCore
import BridgeHTTP
import BridgeStoreTesting
import Foundation
import Synchronization
import Testing

@testable import BridgeWebhooks

#if canImport(Glibc)
    import Glibc
#endif

/// Why the fleet suites skip: no PostgreSQL here (under `CI=true` they run and fail instead).
let fleetSkipReason = Comment(rawValue: "PostgreSQL testbed unavailable: \(PostgresServer.unavailableReason ?? "")")

/// A fleet's folder: one shared `rules/` folder and, per replica, `rN/dagbridge.yaml` with the same
/// settings but its port, all on one PostgreSQL journal whose URL (with the password) comes from
/// `DAGBRIDGE_DATABASE_URL` in the environment, never from the file.
///
/// Every replica reads the same rules folder, so a rules change is one write and one reload per replica.
struct FleetSite: Sendable {
    static let adminToken = "fleet-admin-token-0123456789"
    static let githubSecret = "fleet-gh-secret"

    let root: String
    let ports: [Int]
    /// The environment every replica and every CLI call gets: the database URL and the config's other secrets.
    let env: [String: String]
    var rulesDir: String { root + "/rules" }

    /// Writes the configs.
    /// - Parameters:
    ///   - store: more keys of `store:` after `backend` and `url` (`pool: 4, lease: 10s`).
    ///   - targetOptions: more keys of the target `stub` after `url` and `api` (`, max_in_flight: 8`).
    init(root: String, database: PostgresServer, target: String, replicas: Int, store: String, targetOptions: String = "") throws {
        self.root = root
        var ports: [Int] = []
        for _ in 0..<replicas { ports.append(freePort(26_000..<26_500, excluding: Set(ports))) }
        self.ports = ports
        env = ["DAGBRIDGE_DATABASE_URL": database.url, "TEST_ADMIN_TOKEN": Self.adminToken, "TEST_GH_SECRET": Self.githubSecret]
        try FileManager.default.createDirectory(atPath: root + "/rules", withIntermediateDirectories: true)
        for (i, port) in ports.enumerated() {
            try FileManager.default.createDirectory(atPath: replicaDir(i), withIntermediateDirectories: true)
            try """
            server: { listen: "127.0.0.1:\(port)", admin_token: "${env:TEST_ADMIN_TOKEN}", shutdown_timeout: 5s }
            store: { backend: postgres, url: "${env:DAGBRIDGE_DATABASE_URL}", \(store) }
            rules: { path: "\(root)/rules", watch: false }
            targets:
              stub: { url: "\(target)", api: v2\(targetOptions) }
            sources:
              webhooks:
                - name: github
                  verify: { type: github, secret: "${env:TEST_GH_SECRET}" }
            """.write(toFile: config(i), atomically: true, encoding: .utf8)
        }
    }

    func replicaDir(_ i: Int) -> String { root + "/r\(i)" }
    func config(_ i: Int) -> String { replicaDir(i) + "/dagbridge.yaml" }
    func base(_ i: Int) -> String { "http://127.0.0.1:\(ports[i])" }

    /// Replaces the shared rule file (a reload, by SIGHUP or the admin API, picks it up).
    func writeRules(_ yaml: String) throws {
        try yaml.write(toFile: rulesDir + "/r.yaml", atomically: true, encoding: .utf8)
    }

    /// Starts replica `i` (waits for `/healthz`).
    func start(_ i: Int) async throws -> ServeProcess {
        try await ServeProcess.start(dir: replicaDir(i), port: ports[i], env: env)
    }

    /// The `dagbridge` binary with this fleet's environment (the database URL among it), on a thread of its own.
    func cli(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
        let env = ProcessInfo.processInfo.environment.merging(self.env) { $1 }
        return try await offPool { try runCommand([CLI.binary] + args, environment: env, timeout: 60) }
    }
}

/// A signed GitHub push delivery (`X-GitHub-Delivery: id`) for the fleet's `github` source.
func githubPush(_ base: String, delivery: String, n: Int) -> HTTPRequest {
    let body = #"{"ref":"refs/heads/main","n":\#(n)}"#
    let sig = "sha256=" + Hex.encode(hmac(.sha256, key: Array(FleetSite.githubSecret.utf8), Array(body.utf8)))
    return HTTPRequest(
        method: .post, url: base + "/hooks/github",
        headers: [
            ("Content-Type", "application/json"), ("X-GitHub-Event", "push"), ("X-GitHub-Delivery", delivery), ("X-Hub-Signature-256", sig),
        ],
        body: Array(body.utf8), timeout: 15)
}

/// The rule every fleet test starts from: pushes to main trigger `dag` (`gh__<delivery>` run ids).
func fleetRules(dag: String) -> String {
    """
    rules:
      - name: gh
        source: [github]
        match: { body: { ref: [refs/heads/main] } }
        trigger: { target: stub, dag_id: \(dag), conf: { n: "{{ body.n }}" } }
    """
}

/// `psql` on the test's cluster, off the cooperative pool.
func sql(_ db: PostgresServer, _ query: String) async throws -> String {
    try await offPool { try db.psql(query) }
}

/// Jobs per state in the shared journal (`state|count` rows of `dagbridge.jobs`).
func jobStates(_ db: PostgresServer) async throws -> [String: Int] {
    var out: [String: Int] = [:]
    for row in try await sql(db, "SELECT state, count(*) FROM dagbridge.jobs GROUP BY state").split(separator: "\n") {
        let parts = row.split(separator: "|")
        if parts.count == 2, let n = Int(parts[1]) { out[String(parts[0])] = n }
    }
    return out
}

/// How often each run id was created at the recording target (a second creation would count 2).
func creationCounts(_ target: RecordingTarget) -> [String: Int] {
    target.created().reduce(into: [:]) { $0[$1, default: 0] += 1 }
}

/// The recording target's counters (`GET /_stats`): calls, created, duplicates (409s), …
func targetStats(_ target: RecordingTarget) -> [String: Int] {
    guard let (status, text) = try? curl([target.url + "/_stats"]), status == 200, let o = (try? JSONParser.parse(text))?.objectValue else { return [:] }
    var out: [String: Int] = [:]
    for (k, v) in o.members { if case .int(let n) = v { out[k] = Int(n) } }
    return out
}

/// SIGKILL to a replica and wait for it to be gone.
func sigkill(_ serve: ServeProcess) async throws {
    let process = serve.process
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    try await offPool { process.waitUntilExit() }
}

extension HTTPResponse {
    /// The body as JSON, nil when it is not.
    var jsonBody: JSONValue? { try? JSONParser.parse(body) }
}

/// A value the tasks of one test share (senders, the fault controller), behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R {
        mutex.withLock { body(&$0) }
    }

    var value: Value { withLock { $0 } }
}
