import Foundation
#if canImport(Glibc)
import Glibc
private let systemClose = Glibc.close
private let systemSend = Glibc.send
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let systemClose = Darwin.close
private let systemSend = Darwin.send
private let streamSocket = SOCK_STREAM
#endif

/// A TCP connection to 127.0.0.1 driven byte by byte, to play slow clients: write part of a
/// request, trickle the rest, and time when the server closes it. Blocking; use it off the
/// cooperative pool (`.onTestThreads`).
final class RawConnection {
    private(set) var fd: Int32
    let openedAt: Date
    private var pending: [UInt8] = []

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(port: Int) throws {
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            _ = systemClose(fd)
            throw Failure(description: "connect: errno \(e)")
        }
        self.fd = fd
        openedAt = Date()
    }

    deinit { close() }

    func close() {
        if fd >= 0 { _ = systemClose(fd) }
        fd = -1
    }

    /// Writes `text`; `false` when the server has closed the connection.
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { systemSend(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// Waits up to `seconds` for bytes; `nil` on timeout, an empty array when the server closed.
    private func receive(within seconds: Double) -> [UInt8]? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(max(0, seconds) * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[..<n]) : []  // 0: FIN; -1: reset
    }

    /// Seconds from `since` until the server closed the connection, or `nil` if it is still open
    /// after `timeout` seconds (bytes it sends meanwhile are skipped).
    func secondsUntilClosed(since: Date, timeout: Double) -> Double? {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let bytes = receive(within: end.timeIntervalSinceNow), bytes.isEmpty { return Date().timeIntervalSince(since) }
        }
        return nil
    }

    /// Sends `text` one byte every `interval` seconds until the server closes the connection or
    /// `timeout` passes; seconds from `since` until it closed, or `nil`.
    func trickle(_ text: String, every interval: Double, since: Date, timeout: Double) -> Double? {
        let end = Date().addingTimeInterval(timeout)
        var bytes = Array(text.utf8)[...]
        while Date() < end {
            if let byte = bytes.popFirst() {
                let ok = [byte].withUnsafeBytes { systemSend(fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) } == 1
                if !ok { return Date().timeIntervalSince(since) }
            }
            if let received = receive(within: min(interval, end.timeIntervalSinceNow)), received.isEmpty { return Date().timeIntervalSince(since) }
        }
        return nil
    }

    /// Sends a request and reads its answer (head and `Content-Length` body); the status and body,
    /// or `nil` when the connection closed or nothing came within `timeout`.
    func exchange(_ request: String, timeout: Double = 5) -> (status: Int, body: String)? {
        guard send(request) else { return nil }
        let end = Date().addingTimeInterval(timeout)
        while true {
            if let headEnd = pending.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: pending[..<headEnd.lowerBound], as: UTF8.self)
                let length = head.split(separator: "\r\n").compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }.first ?? 0
                if pending.count >= headEnd.upperBound + length {
                    let body = String(decoding: pending[headEnd.upperBound..<(headEnd.upperBound + length)], as: UTF8.self)
                    pending.removeFirst(headEnd.upperBound + length)
                    let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
                    return (status, body)
                }
            }
            guard let bytes = receive(within: end.timeIntervalSinceNow), !bytes.isEmpty else { return nil }
            pending += bytes
        }
    }

    /// `GET path` on this keep-alive connection.
    func get(_ path: String, timeout: Double = 5) -> (status: Int, body: String)? {
        exchange("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout: timeout)
    }
}
