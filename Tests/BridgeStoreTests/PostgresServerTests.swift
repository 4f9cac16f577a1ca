@testable import BridgeStoreTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL testbed the journal tests and bench-store rely on: it answers, only on 127.0.0.1, with
/// real password authentication and verifiable TLS, and its crash, restart and kill keep committed data.
@Suite(
    "scripts/pg-testbed.sh: a throwaway PostgreSQL cluster",
    .enabled(if: PostgresServer.testsRun, Comment(rawValue: "PostgreSQL testbed unavailable: \(PostgresServer.unavailableReason ?? "")")),
    .timeLimit(.minutes(3)))
struct PostgresServerTests {
    @Test("answers over the unix socket and over TCP on 127.0.0.1:port, and listens on no other address")
    func listensOnLoopbackOnly() async throws {
        let server = try await offPool { try PostgresServer.start() }
        defer { server.stop() }
        #expect(try await offPool { try server.psql("SELECT 1") } == "1")
        #expect(server.url == "postgres://dagbridge:\(server.password)@127.0.0.1:\(server.port)/dagbridge")
        #expect((55400...55999).contains(server.port))
        #expect(canConnect("127.0.0.1", server.port))
        #expect(!canConnect("127.0.0.2", server.port))
        #expect(!canConnect("::1", server.port))
        // Every listening socket on the port, IPv4 and IPv6 (what `ss -ltn` reads): 127.0.0.1 only.
        #expect(try listeners(port: server.port) == ["127.0.0.1"])
        let settings = try await offPool {
            try server.psql("SELECT current_setting('fsync'), current_setting('synchronous_commit'), current_setting('max_connections')")
        }
        #expect(settings == "on|on|200")
    }

    @Test("restartImmediate() crashes and restarts the server; committed rows survive")
    func restartKeepsData() async throws {
        let server = try await offPool { try PostgresServer.start() }
        defer { server.stop() }
        try await offPool {
            try server.psql("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
            try server.restartImmediate()
        }
        #expect(try await offPool { try server.psql("SELECT x FROM kept") } == "42")
        #expect(canConnect("127.0.0.1", server.port))
    }

    @Test("kill() leaves the port refusing connections until startAgain(), which brings the data back")
    func killAndStartAgain() async throws {
        let server = try await offPool { try PostgresServer.start() }
        defer { server.stop() }
        try await offPool {
            try server.psql("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
            try server.kill()
        }
        #expect(!canConnect("127.0.0.1", server.port))
        await #expect(throws: (any Error).self) { try await offPool { try server.psql("SELECT 1") } }
        try await Task.sleep(for: .milliseconds(500))
        #expect(!canConnect("127.0.0.1", server.port), "still down: nothing restarts it by itself")
        try await offPool { try server.startAgain() }
        #expect(canConnect("127.0.0.1", server.port))
        #expect(try await offPool { try server.psql("SELECT x FROM kept") } == "7")
    }

    @Test("host connections need the password (scram-sha-256): the right one is accepted, a wrong one refused")
    func passwordIsChecked() async throws {
        let server = try await offPool { try PostgresServer.start() }
        defer { server.stop() }
        let ok = try await offPool { try psql(url: server.url + "?sslmode=require", "SELECT current_user") }
        #expect(ok.status == 0, "\(ok.err)")
        #expect(ok.out == "dagbridge")
        let wrong = try await offPool {
            try psql(url: "postgres://dagbridge:wrong@127.0.0.1:\(server.port)/dagbridge?sslmode=require", "SELECT 1")
        }
        #expect(wrong.status != 0)
        #expect(wrong.err.contains("password authentication failed"), "\(wrong.err)")
    }

    @Test("TLS verifies against the throwaway CA for host localhost (sslmode=verify-full)")
    func tlsVerifiesForLocalhost() async throws {
        let server = try await offPool { try PostgresServer.start() }
        defer { server.stop() }
        let url = "postgres://dagbridge:\(server.password)@localhost:\(server.port)/dagbridge?sslmode=verify-full&sslrootcert=\(server.caFile)"
        let r = try await offPool { try psql(url: url, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") }
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == "t")
        // Checked for real: a root that did not sign the server's certificate is refused.
        let other = server.dir + "/server.crt"
        let refused = try await offPool {
            try psql(url: "postgres://dagbridge:\(server.password)@localhost:\(server.port)/dagbridge?sslmode=verify-full&sslrootcert=\(other)", "SELECT 1")
        }
        #expect(refused.status != 0)
        #expect(refused.err.contains("certificate verify failed"), "\(refused.err)")
    }
}

/// Runs blocking work (the testbed script, psql) on a thread of its own, off the cooperative pool.
private func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
        Thread { cont.resume(with: Result { try body() }) }.start()
    }
}

/// psql with a connection URL, no ~/.psqlrc and no PG* variables of this process: only the URL decides.
private func psql(url: String, _ sql: String) throws -> (status: Int32, out: String, err: String) {
    let binary = ["/usr/lib/postgresql/15/bin/psql", "/usr/bin/psql"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "psql"
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
    environment["PGCONNECT_TIMEOUT"] = "10"
    let r = try Subprocess.run([binary, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], environment: environment, timeout: 60)
    return (r.status, r.out.trimmingCharacters(in: .whitespacesAndNewlines), r.err)
}

/// Whether a TCP connection to `host` (an IPv4 or IPv6 literal) and `port` is accepted.
private func canConnect(_ host: String, _ port: Int) -> Bool {
    var v4 = sockaddr_in(), v6 = sockaddr_in6()
    let isV6 = host.contains(":")
    let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    if isV6 {
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 else { return false }
        return withUnsafePointer(to: &v6) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 }
        }
    }
    v4.sin_family = sa_family_t(AF_INET)
    v4.sin_port = in_port_t(UInt16(port).bigEndian)
    guard inet_pton(AF_INET, host, &v4.sin_addr) == 1 else { return false }
    return withUnsafePointer(to: &v4) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// The local addresses of the TCP sockets listening on `port` (IPv4 dotted, IPv6 as the kernel's hex),
/// from /proc/net/tcp and /proc/net/tcp6: what `ss -ltn` shows, without needing iproute2.
private func listeners(port: Int) throws -> [String] {
    var found: [String] = []
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
        for line in text.split(separator: "\n").dropFirst() {
            // "sl local_address rem_address st ...": local "0100007F:D6CA", state 0A = LISTEN.
            let fields = line.split(separator: " ")
            guard fields.count > 3, fields[3] == "0A" else { continue }
            let local = fields[1].split(separator: ":")
            guard local.count == 2, Int(local[1], radix: 16) == port else { continue }
            let hex = String(local[0])
            if hex.count == 8, let n = UInt32(hex, radix: 16) {
                // IPv4 in host (little-endian) order: 0100007F is 127.0.0.1.
                found.append((0..<4).map { String((n >> (8 * UInt32($0))) & 0xff) }.joined(separator: "."))
            } else {
                found.append(hex)
            }
        }
    }
    return found
}
