// bench-http: POST throughput and latency of BridgeHTTP's libcurl client, side by side with
// Python `requests.Session` posting the same JSON to the same local nginx.
//
//   swift run -c release bench-http [--duration S] [--concurrency 1,16,64] [--no-python] [--url URL]
//
// Without --url the benchmark starts nginx (Debian's /usr/sbin/nginx) on 127.0.0.1 with a
// generated config (`return 200 '{"ok":true}'`, large keepalive_requests) and stops it at the end.

import BridgeHTTP
import Foundation

struct Options {
    var duration = 3.0
    var warmup = 0.5
    var concurrencies = [1, 16, 64]
    var python = true
    var url: String?
    var workers = 1

    init(_ arguments: [String]) {
        var it = arguments.makeIterator()
        while let argument = it.next() {
            switch argument {
            case "--duration": duration = Double(it.next() ?? "") ?? duration
            case "--concurrency": concurrencies = (it.next() ?? "").split(separator: ",").compactMap { Int($0) }
            case "--no-python": python = false
            case "--url": url = it.next()
            case "--nginx-workers": workers = Int(it.next() ?? "") ?? workers
            default:
                print("usage: bench-http [--duration S] [--concurrency 1,16,64] [--no-python] [--url URL] [--nginx-workers N]")
                exit(2)
            }
        }
    }
}

struct Result {
    var client: String
    var concurrency: Int
    var count: Int
    var errors: Int
    var elapsed: Double
    var p50: Double
    var p99: Double
    var rate: Double { Double(count) / elapsed }
}

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A ~300-byte body shaped like an Airflow trigger.
let body: [UInt8] = {
    let text = #"{"dag_run_id":"github_push__8f14e45f-ceea-467f-a0e6-3c6e1b2f9a10","logical_date":null,"conf":{"repository":"acme/data-pipelines","ref":"refs/heads/main","sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e","pusher":"octocat","files_changed":12},"note":"triggered by dagbridge rule github_push"}"#
    return Array(text.utf8)
}()

// MARK: nginx

final class Nginx {
    let port: Int
    private let process: Process
    private let dir: URL

    init(workers: Int) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-http-nginx-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        port = try freePort()
        let d = dir.path
        let config = """
        daemon off;
        master_process on;
        worker_processes \(workers);
        pid \(d)/nginx.pid;
        error_log \(d)/error.log warn;
        events { worker_connections 4096; }
        http {
            access_log off;
            client_body_temp_path \(d)/body;
            proxy_temp_path \(d)/proxy;
            fastcgi_temp_path \(d)/fastcgi;
            uwsgi_temp_path \(d)/uwsgi;
            scgi_temp_path \(d)/scgi;
            keepalive_requests 100000000;
            keepalive_timeout 300s;
            server {
                listen 127.0.0.1:\(port) backlog=4096;
                location / {
                    default_type application/json;
                    return 200 '{"ok":true}';
                }
            }
        }
        """
        try config.write(toFile: "\(d)/nginx.conf", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        process.arguments = ["-p", d, "-c", "\(d)/nginx.conf", "-e", "\(d)/error.log"]
        try process.run()
        for _ in 0..<200 {
            if canConnect(port: port) { return }
            usleep(20_000)
        }
        process.terminate()
        throw BenchError("nginx did not start; see \(d)/error.log")
    }

    func stop() {
        process.terminate()  // SIGTERM: fast shutdown of master and workers
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw BenchError("no free port") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
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

// MARK: clients

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(p * Double(sorted.count)))]
}

func benchSwift(client: HTTPClient, url: String, concurrency: Int, options: Options) async -> Result {
    let request = HTTPRequest(method: .post, url: url, headers: [("Content-Type", "application/json")], body: body)
    let clock = ContinuousClock()
    let start = clock.now + .seconds(options.warmup)
    let stop = start + .seconds(options.duration)
    let perTask = await withTaskGroup(of: ([Double], Int).self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                var latencies: [Double] = []
                latencies.reserveCapacity(200_000)
                var errors = 0
                while true {
                    let t0 = clock.now
                    if t0 >= stop { break }
                    let ok: Bool
                    do {
                        let response = try await client.execute(request)
                        ok = response.status == 200 && response.body.count == 11
                    } catch {
                        ok = false
                    }
                    let t1 = clock.now
                    if t0 >= start {
                        if ok { latencies.append((t1 - t0) / .milliseconds(1)) } else { errors += 1 }
                    }
                }
                return (latencies, errors)
            }
        }
        var all: [([Double], Int)] = []
        for await part in group { all.append(part) }
        return all
    }
    let latencies = perTask.flatMap(\.0).sorted()
    return Result(client: "dagbridge (libcurl)", concurrency: concurrency, count: latencies.count,
                  errors: perTask.reduce(0) { $0 + $1.1 }, elapsed: options.duration,
                  p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99))
}

func benchPython(url: String, concurrency: Int, options: Options, bodyFile: String) async throws -> Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", repositoryRoot.appendingPathComponent("scripts/bench-http-requests.py").path,
                         "--url", url, "--body-file", bodyFile, "--concurrency", String(concurrency),
                         "--duration", String(options.duration), "--warmup", String(options.warmup)]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    // Read on a plain thread, not the cooperative pool.
    let data: Data = await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            continuation.resume(returning: data)
        }
    }
    guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any], let count = json["count"] as? Int else {
        throw BenchError("python benchmark failed: \(String(decoding: data, as: UTF8.self))")
    }
    return Result(client: "python requests.Session", concurrency: concurrency, count: count,
                  errors: json["errors"] as? Int ?? 0, elapsed: json["elapsed"] as? Double ?? options.duration,
                  p50: json["p50_ms"] as? Double ?? 0, p99: json["p99_ms"] as? Double ?? 0)
}

// MARK: main

func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let space = String(repeating: " ", count: max(0, width - s.count))
    return right ? space + s : s + space
}

func fixed(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
var nginx: Nginx?
let url: String
if let given = options.url {
    url = given
} else {
    nginx = try Nginx(workers: options.workers)
    url = "http://127.0.0.1:\(nginx!.port)/api/v2/dags/demo_dag/dagRuns"
}
let bodyFile = FileManager.default.temporaryDirectory.appendingPathComponent("bench-http-body-\(getpid()).json").path
try Data(body).write(to: URL(fileURLWithPath: bodyFile))

print("bench-http: POST \(body.count)-byte JSON to \(url)")
print("duration \(options.duration)s per run after \(options.warmup)s warm-up; \(ProcessInfo.processInfo.activeProcessorCount) CPUs")
let client = try HTTPClient()
var results: [Result] = []
for concurrency in options.concurrencies {
    results.append(await benchSwift(client: client, url: url, concurrency: concurrency, options: options))
    if options.python {
        results.append(try await benchPython(url: url, concurrency: concurrency, options: options, bodyFile: bodyFile))
    }
}
await client.shutdownAndWait()
nginx?.stop()
try? FileManager.default.removeItem(atPath: bodyFile)

print("")
print("\(pad("client", 26))\(pad("conc", 6, right: true))\(pad("req/s", 11, right: true))\(pad("p50 ms", 9, right: true))\(pad("p99 ms", 9, right: true))\(pad("errors", 8, right: true))\(pad("speed-up", 10, right: true))")
for result in results {
    var speedup = ""
    if result.client.hasPrefix("dagbridge"),
       let python = results.first(where: { $0.client.hasPrefix("python") && $0.concurrency == result.concurrency }), python.rate > 0 {
        speedup = fixed(result.rate / python.rate, 1) + "x"
    }
    print("\(pad(result.client, 26))\(pad(String(result.concurrency), 6, right: true))\(pad(fixed(result.rate, 0), 11, right: true))\(pad(fixed(result.p50, 3), 9, right: true))\(pad(fixed(result.p99, 3), 9, right: true))\(pad(String(result.errors), 8, right: true))\(pad(speedup, 10, right: true))")
}
