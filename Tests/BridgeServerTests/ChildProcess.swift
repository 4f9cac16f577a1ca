import BridgeCore
import BridgeStoreTesting
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program to its end; `args[0]` is a path, or a name looked up on `PATH`.
///
/// Output goes through files, not pipes: neither can fill up, and a server the program leaves
/// running (a testbed script's broker or KDC) cannot hold a pipe open so the read never ends. A
/// program that outlives `timeout` is killed and reported, so a hang fails the test with a reason
/// instead of using up its time limit.
///
/// The child is started with `posix_spawnp` and its end is seen with `waitpid` on its own pid, not
/// through Foundation's `Process`: that one learns of an exit from a socket the child holds, so a
/// long-lived server another test starts at the same instant can inherit the socket and hide the
/// exit (CI once saw a 0.4 s validator "not finish in 60 s" under the parallel phase).
func runCommand(_ args: [String], environment: [String: String]? = nil, timeout: Double = 60) throws -> (status: Int32, out: String, err: String) {
    try Subprocess.run(args, environment: environment, timeout: timeout)
}

/// ``runCommand(_:environment:timeout:)`` for scripts: the exit status and stdout, trimmed, with
/// stderr appended when the script failed.
@discardableResult
func runScript(_ args: [String], timeout: Double = 60) throws -> (Int32, String) {
    let r = try runCommand(args, timeout: timeout)
    let out = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    if r.status == 0 { return (0, out) }
    return (r.status, out + "\n" + r.err.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// A random port in `range` that 127.0.0.1 can bind now (other test runs share the machine), not in `excluding`.
func freePort(_ range: Range<Int>, excluding: Set<Int> = []) -> Int {
    for _ in 0..<100 {
        let port = Int.random(in: range)
        if excluding.contains(port) { continue }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { break }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        if bound { return port }
    }
    return Int.random(in: range)
}

/// A long-running child (a `serve` replica) started with `posix_spawn` and watched with `waitpid`
/// on its own pid: the subset of Foundation's `Process` the tests use, without its exit detection,
/// which can miss an exit (a `waitUntilExit` that never returned kept a CI run spinning after the
/// child was gone).
final class SpawnedProcess: @unchecked Sendable {  // the exit status is guarded by `lock`
    let processIdentifier: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `args` (`args[0]` a path) with `environment`, stdin from /dev/null, stdout discarded and
    /// stderr appended to `stderrFile`.
    init(_ args: [String], environment: [String: String], stderrFile: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrFile, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        let env = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = Subprocess.withCStrings(args) { argv in
            Subprocess.withCStrings(env) { envp in posix_spawn(&pid, args[0], &actions, nil, argv, envp) }
        }
        guard rc == 0 else { throw BridgeError(.unavailable, "\(args[0]): cannot start: \(String(cString: strerror(rc)))") }
        processIdentifier = pid
    }

    /// Reaps the child if it ended; its wait status, or nil while it runs.
    private func poll() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var s: Int32 = 0
        let r = waitpid(processIdentifier, &s, WNOHANG)
        if r == processIdentifier || (r < 0 && errno == ECHILD) {
            status = r == processIdentifier ? s : 0
        }
        return status
    }

    var isRunning: Bool { poll() == nil }

    /// SIGTERM.
    func terminate() { if isRunning { kill(processIdentifier, SIGTERM) } }

    /// Blocks until the child ended (polling every 20 ms).
    func waitUntilExit() {
        while poll() == nil { usleep(20_000) }
    }

    /// Exit code, or 128 + signal when a signal ended it (as a shell reports it); valid after it ended.
    var terminationStatus: Int32 {
        let s = poll() ?? 0
        let signal = s & 0x7f
        return signal == 0 ? (s >> 8) & 0xff : 128 + signal
    }
}
