import BridgeCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Child processes for tests and benchmarks, started with `posix_spawnp` and waited for on their own pid.
public enum Subprocess {
    /// Runs a program to its end; `args[0]` is a path, or a name looked up on `PATH`.
    ///
    /// Started with `posix_spawnp` and waited for with `waitpid` on its own pid, not through Foundation's
    /// `Process`, which learns of an exit from a descriptor a concurrently started server can inherit (CI
    /// once saw a 0.4 s validator "not finish in 60 s" that way). Output goes to files: the server the script leaves
    /// running cannot hold them open the way it would a pipe. A program that outlives `timeout` is killed
    /// and reported. `environment` replaces this process's environment when given.
    public static func run(_ args: [String], environment: [String: String]? = nil, timeout: Double) throws -> (status: Int32, out: String, err: String) {
        let outFile = NSTemporaryDirectory() + "dagbridge-cmd-\(UUID().uuidString).out", errFile = outFile + ".err"
        defer { for f in [outFile, errFile] { try? FileManager.default.removeItem(atPath: f) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = withCStrings(args) { argv in
            withCStrings(env) { envp in posix_spawnp(&pid, args[0], &actions, nil, argv, envp) }
        }
        guard rc == 0 else { throw BridgeError(.unavailable, "\(args[0]): cannot start: \(String(cString: strerror(rc)))") }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { throw BridgeError(.unavailable, "\(args[0]): waitpid: \(String(cString: strerror(errno)))") }
            if Date() >= deadline {
                killChild(pid)
                _ = waitpid(pid, &status, 0)
                throw BridgeError(.unavailable, "\(args.joined(separator: " ")) did not finish in \(Int(timeout)) s")
            }
            usleep(20_000)
        }
        // Exited: its code; killed by a signal: 128 + the signal, as a shell reports it.
        let signal = status & 0x7f
        let code = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        let read = { (f: String) in String(decoding: FileManager.default.contents(atPath: f) ?? Data(), as: UTF8.self) }
        return (code, read(outFile), read(errFile))
    }

    /// A NULL-terminated C string array of `strings` for the length of `body`.
    public static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return body(pointers)
    }
}

/// SIGKILL to `pid`.
private func killChild(_ pid: pid_t) {
    kill(pid, SIGKILL)
}
