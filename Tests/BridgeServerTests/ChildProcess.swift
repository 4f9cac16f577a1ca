import BridgeCore
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
func runCommand(_ args: [String], environment: [String: String]? = nil, timeout: Double = 60) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    if args[0].hasPrefix("/") {
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
    } else {
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
    }
    if let environment { p.environment = environment }
    let outFile = NSTemporaryDirectory() + "dagbridge-cmd-\(UUID().uuidString).out", errFile = outFile + ".err"
    for f in [outFile, errFile] { _ = FileManager.default.createFile(atPath: f, contents: nil) }
    defer { for f in [outFile, errFile] { try? FileManager.default.removeItem(atPath: f) } }
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outFile))
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        throw BridgeError(.unavailable, "\(args.joined(separator: " ")) did not finish in \(Int(timeout)) s")
    }
    let read = { (f: String) in String(decoding: FileManager.default.contents(atPath: f) ?? Data(), as: UTF8.self) }
    return (p.terminationStatus, read(outFile), read(errFile))
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
