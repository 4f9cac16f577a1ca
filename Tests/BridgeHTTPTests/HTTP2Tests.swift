import BridgeHTTP
import Foundation
import Testing

/// nginx (Debian's `nginx` package) serving HTTPS with HTTP/2 on 127.0.0.1; answers
/// "<protocol> <connection serial number>" so tests can see the protocol and connection reuse.
final class NginxH2: Sendable {
    static let binary = "/usr/sbin/nginx"
    let port: Int
    private let process: Process
    private let stdin: Pipe
    private let dir: TempDir

    static func start(pki: TestPKI) async throws -> NginxH2 {
        let dir = try TempDir()
        let port = try closedPort()
        let d = dir.url.path
        let config = """
        daemon off;
        master_process on;
        worker_processes 1;
        pid \(d)/nginx.pid;
        error_log \(d)/error.log warn;
        events { worker_connections 1024; }
        http {
            access_log off;
            client_body_temp_path \(d)/body;
            proxy_temp_path \(d)/proxy;
            fastcgi_temp_path \(d)/fastcgi;
            uwsgi_temp_path \(d)/uwsgi;
            scgi_temp_path \(d)/scgi;
            server {
                listen 127.0.0.1:\(port) ssl http2;
                ssl_certificate \(pki.serverCert);
                ssl_certificate_key \(pki.serverKey);
                location / {
                    default_type text/plain;
                    return 200 "$server_protocol $connection";
                }
            }
        }
        """
        try config.write(toFile: dir.path("nginx.conf"), atomically: true, encoding: .utf8)
        // A shell keeps nginx on a leash: when stdin closes (stop(), or this process dies) it
        // sends nginx SIGTERM. Output goes nowhere, so no child holds `swift test`'s pipes open.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\"$0\" \"$@\" & pid=$!; cat >/dev/null; kill -TERM $pid; wait $pid",
                             binary, "-p", d, "-c", dir.path("nginx.conf"), "-e", dir.path("error.log")]
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = NginxH2(port: port, process: process, stdin: stdin, dir: dir)
        for _ in 0..<500 {
            if !process.isRunning { break }
            if canConnect(port: port) { return server }
            try await Task.sleep(for: .milliseconds(20))
        }
        server.stop()
        let log = (try? String(contentsOfFile: dir.path("error.log"), encoding: .utf8)) ?? ""
        throw TestFailure("nginx did not start: \(log)")
    }

    private init(port: Int, process: Process, stdin: Pipe, dir: TempDir) {
        self.port = port
        self.process = process
        self.stdin = stdin
        self.dir = dir
    }

    func stop() { try? stdin.fileHandleForWriting.close() }
    deinit { stop() }
}

func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

@Suite("HTTP/2 against nginx", .timeLimit(.minutes(1)),
       .enabled(if: FileManager.default.isExecutableFile(atPath: NginxH2.binary), "needs Debian's nginx (apt-get install -y nginx)"))
struct HTTP2Tests {
    @Test func http2IsNegotiatedAndStreamsShareOneConnection() async throws {
        let pki = try await TestPKI.make()
        let server = try await NginxH2.start(pki: pki)
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/"

        let client = try HTTPClient(configuration: .init(tls: .init(caFile: pki.caCert)))
        defer { client.shutdown() }
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask { try await client.execute(HTTPRequest(url: url)).text }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(answers.count == 20)
        #expect(answers.allSatisfy { $0.hasPrefix("HTTP/2.0 ") }, "\(answers)")
        // Multiplexed: every stream used the same connection.
        #expect(Set(answers).count == 1, "\(Set(answers))")

        // HTTP/2 can be turned off.
        let http1 = try HTTPClient(configuration: .init(tls: .init(caFile: pki.caCert), http2: false))
        defer { http1.shutdown() }
        #expect(try await http1.execute(HTTPRequest(url: url)).text.hasPrefix("HTTP/1.1 "))
    }
}
