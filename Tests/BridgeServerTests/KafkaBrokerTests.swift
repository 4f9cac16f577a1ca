import BridgeCore
import Foundation
import Testing

/// A real Kafka-compatible broker (Tansu, `scripts/kafka-testbed.sh`) and real `dagbridge serve`
/// processes running with librdkafka 2.16 on `LD_LIBRARY_PATH` (Debian's 2.0.2 cannot talk to
/// Tansu), delivering to a ``RecordingTarget``. Messages are produced with the testbed's
/// confluent-kafka. Reported skipped, with the reason, when the testbed cannot be installed; under CI=true that fails.
@Suite(
    "Kafka source against a real broker", .serialized, .onTestThreads, .timeLimit(.minutes(3)),
    .enabled(if: KafkaBroker.suitesRun, KafkaBroker.skipReason))
struct KafkaBrokerTests {
    static let token = "kafka-broker-tests-admin-token"
    static let metricLabels = #"source="orders",topic="orders""#

    /// The rule (every `paid` order triggers `fulfil`) and a service config for one process.
    /// The journal is `var/j-PORT.sqlite`, so a restart on the same port finds its journal again.
    static func writeConfig(
        dir: String, port: Int, broker: String, target: String, store: String = "", targetOptions: String = "",
        source: [String] = [], librdkafka: String = ""
    ) throws -> String {
        try FileManager.default.createDirectory(atPath: dir + "/rules", withIntermediateDirectories: true)
        try """
        rules:
          - name: paid
            source: [orders]
            match: { kafka: { topic: [orders] }, body: { status: [paid] } }
            trigger: { target: stub, dag_id: fulfil, conf: { n: "{{ body.n }}" } }
        """.write(toFile: dir + "/rules/r.yaml", atomically: true, encoding: .utf8)
        let path = dir + "/dagbridge-\(port).yaml"
        try """
        server: { listen: "127.0.0.1:\(port)", shutdown_timeout: 5s, admin_token: \(token) }
        store: { path: var/j-\(port).sqlite\(store) }
        targets:
          stub: { url: "\(target)", api: v2\(targetOptions) }
        \(kafkaSourcesYAML(broker: broker, extra: source, librdkafka: librdkafka))
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// What every scenario starts from: a broker with an empty 4-partition `orders` topic, a
    /// temporary folder and a recording target.
    struct Scene {
        let broker: KafkaBroker
        let dir: TempDir
        let target: RecordingTarget

        /// - Parameter targetOptions: options of the recording target (`["--delay", "0.01"]`).
        static func start(targetOptions: [String] = []) async throws -> Scene {
            let broker = try await KafkaBroker.start()
            do {
                try await broker.createTopic("orders", partitions: 4)
                let dir = try TempDir()
                do {
                    return Scene(broker: broker, dir: dir, target: try RecordingTarget(dir: dir.path, options: targetOptions))
                } catch {
                    dir.cleanup()
                    throw error
                }
            } catch {
                broker.stop()
                throw error
            }
        }

        /// Stops what ``start()`` started, in reverse order.
        func stop() {
            target.stop()
            dir.cleanup()
            broker.stop()
        }
    }

    /// Run ids for messages `range` produced by `KafkaBroker.produce` on an empty topic of `partitions` partitions.
    ///
    /// The recording target, like Airflow, creates a run id once and answers 409 afterwards, so
    /// "every run exactly once" comes down to the set of created ids being exactly this set: a
    /// message re-read after a crash or a hand-over must get the same run id, never a new one.
    static func runIDs(_ range: Range<Int>, partitions: Int = 4) -> Set<String> {
        Set(range.map { "paid__orders-\($0 % partitions)-\($0 / partitions)" })
    }

    @Test("10,000 messages over 4 partitions; kill -9 mid-stream and restart: every run created exactly once, offsets committed")
    func killAndRestart() async throws {
        let scene = try await Scene.start()
        defer { scene.stop() }
        let (broker, dir, target) = (scene.broker, scene.dir, scene.target)
        // A small high water paces consumption by delivery, so the kill lands while messages are
        // still unread and offsets uncommitted (not only while the journal drains).
        let port = freePort(24_500..<25_000)
        let config = try Self.writeConfig(
            dir: dir.path, port: port, broker: broker.address, target: target.url, store: ", high_water: 1000, low_water: 500",
            source: ["batch_size: 500"])
        let log = dir.path + "/serve.log"
        var serve = try await KafkaServe.start(config: config, port: port, lib: broker.lib, log: log)
        defer { serve.terminate() }
        try await broker.produce(topic: "orders", count: 10_000, partitions: 4)
        #expect(try await waitFor(60) { target.created().count >= 1500 }, "log: \(log)")
        try await serve.kill9()
        let atKill = try await broker.committed(group: "dagbridge", topic: "orders", partitions: 4)
        #expect(atKill.reduce(0) { $0 + max(0, $1) } < 10_000, "the kill was not mid-stream: committed \(atKill)")
        serve = try await KafkaServe.start(config: config, port: port, lib: broker.lib, log: log)
        let complete = try await waitFor(120) { Set(target.created()).count >= 10_000 }
        #expect(complete, "created \(Set(target.created()).count) of 10000; log: \(log)")
        #expect(Set(target.created()) == Self.runIDs(0..<10_000), "no run missing, none extra")
        // Offsets: committed on the interval, so all 2,500 per partition within a few seconds.
        let committed = try await broker.waitForCommitted([2500, 2500, 2500, 2500], seconds: 15)
        #expect(committed == [2500, 2500, 2500, 2500])
    }

    @Test("Two processes in one group split the partitions; kill -9 one: the other takes over, every run created exactly once")
    func groupTakeover() async throws {
        // Runs take 10 ms at the target (at most 400/s per process), so B surely dies with a backlog
        // in its journal even when this test's polls come late on a loaded machine: B alone needs
        // 7.5 s for its 3,000, and it is killed once 1,000 runs exist.
        let scene = try await Scene.start(targetOptions: ["--delay", "0.01"])
        defer { scene.stop() }
        let (broker, dir, target) = (scene.broker, scene.dir, scene.target)
        let portA = freePort(24_500..<25_000)
        let portB = freePort(24_500..<25_000, excluding: [portA])
        func config(_ port: Int) throws -> String {
            try Self.writeConfig(
                dir: dir.path, port: port, broker: broker.address, target: target.url, store: ", high_water: 1000, low_water: 500",
                source: ["batch_size: 500"])
        }
        let configA = try config(portA), configB = try config(portB)
        let a = try await KafkaServe.start(config: configA, port: portA, lib: broker.lib, log: dir.path + "/a.log")
        defer { a.terminate() }
        var b = try await KafkaServe.start(config: configB, port: portB, lib: broker.lib, log: dir.path + "/b.log")
        defer { b.terminate() }
        let all: Set<Int> = [0, 1, 2, 3]
        // The split: both hold partitions, none twice, all four covered.
        let split = try await waitFor(45) {
            guard let pa = a.assigned, let pb = b.assigned, !pa.isEmpty, !pb.isEmpty else { return false }
            return pa.isDisjoint(with: pb) && pa.union(pb) == all
        }
        #expect(split, "assignments A \(a.assigned ?? []) B \(b.assigned ?? []); logs: \(a.log) \(b.log)")
        let partitionsB = b.assigned ?? []

        try await broker.produce(topic: "orders", count: 6000, partitions: 4)
        let bothConsuming = try await waitFor(60) {
            (a.metric("dagbridge_kafka_messages_consumed_total", Self.metricLabels) ?? 0) > 0
                && (b.metric("dagbridge_kafka_messages_consumed_total", Self.metricLabels) ?? 0) > 0
                && target.created().count >= 1000
        }
        #expect(bothConsuming, "both members consume and deliver")
        try await b.kill9()
        // Messages B's partitions receive after the kill can only reach Airflow through A.
        try await broker.produce(topic: "orders", count: 6000, start: 6000, partitions: 4)
        let takeover = try await waitFor(60) { a.assigned == all }
        #expect(takeover, "A holds \(a.assigned ?? []) after B died; log: \(a.log)")
        let committed = try await broker.waitForCommitted([3000, 3000, 3000, 3000], seconds: 60)
        #expect(committed == [3000, 3000, 3000, 3000], "A committed every partition to the end")
        let afterKill = Self.runIDs(6000..<12_000).filter { id in partitionsB.contains { id.hasPrefix("paid__orders-\($0)-") } }
        #expect(try await waitFor(60) { afterKill.isSubset(of: Set(target.created())) }, "A created the runs of B's partitions produced after the kill")
        // Once A has delivered its journal, what is still missing is what B journaled before it
        // died: it waits in B's journal file, read here with the CLI.
        func waitingInB() async throws -> Set<String> {
            var ids: Set<String> = []
            for state in ["pending", "in_flight"] {
                let r = try await CLI.run(["dlq", "list", "--config", configB, "--state", state, "--json"])
                #expect(r.status == 0, "\(r.err)")
                for job in r.json?.arrayValue ?? [] { if let id = job["dag_run_id"]?.stringValue { ids.insert(id) } }
            }
            return ids
        }
        let waiting = try await waitingInB()
        #expect(!waiting.isEmpty, "B died with jobs in its journal")
        var missing: Set<String> = []
        let accounted = try await waitFor(60) {
            missing = Self.runIDs(0..<12_000).subtracting(target.created())
            return missing.isSubset(of: waiting)
        }
        #expect(accounted, "\(missing.subtracting(waiting).count) runs are neither created nor waiting in B's journal")

        // B comes back with its journal (as a restarted pod with its volume): it delivers what it
        // held; runs A already created from B's uncommitted tail are duplicates (409), never second runs.
        b = try await KafkaServe.start(config: configB, port: portB, lib: broker.lib, log: dir.path + "/b.log")
        let drained = try await waitFor(90) {
            if Set(target.created()).count < 12_000 { return false }
            return try await waitingInB().isEmpty
        }
        #expect(drained, "created \(Set(target.created()).count) of 12000; logs: \(a.log) \(b.log)")
        #expect(Set(target.created()) == Self.runIDs(0..<12_000), "no run missing, none extra")
    }

    @Test("A poison message becomes a dead letter (journal and dlq_topic); the messages after it on its partition still become runs")
    func poisonMessage() async throws {
        let scene = try await Scene.start()
        defer { scene.stop() }
        let (broker, dir, target) = (scene.broker, scene.dir, scene.target)
        try await broker.createTopic("orders.dlq", partitions: 1)
        let port = freePort(24_500..<25_000)
        let config = try Self.writeConfig(dir: dir.path, port: port, broker: broker.address, target: target.url, source: ["dlq_topic: orders.dlq"])
        let serve = try await KafkaServe.start(config: config, port: port, lib: broker.lib, log: dir.path + "/serve.log")
        defer { serve.terminate() }
        // 25 messages per partition, the poison at partition 1 offset 25, then 25 more per partition.
        try await broker.produce(topic: "orders", count: 100, partitions: 4)
        #expect(try await broker.send(topic: "orders", partition: 1, value: "not json {") == 25)
        try await broker.produce(topic: "orders", count: 100, start: 100, partitions: 4)
        var expected: Set<String> = []
        for p in 0..<4 {
            for o in 0..<51 where !(p == 1 && o == 25) && (p == 1 || o < 50) { expected.insert("paid__orders-\(p)-\(o)") }
        }
        #expect(expected.count == 200)
        let complete = try await waitFor(60) { Set(target.created()) == expected }
        #expect(complete, "created \(target.created().count) of 200; log: \(serve.log)")

        // The dead letter, through the admin API and through the CLI on the journal file.
        let (status, answer) = try adminCall(Self.token, "GET", serve.base + "/admin/dlq")
        #expect(status == 200)
        let dead = answer?["jobs"]?.arrayValue ?? []
        #expect(dead.count == 1)
        #expect(dead.first?["rule"]?.stringValue == "kafka")
        #expect(dead.first?["dag_run_id"]?.stringValue == "kafka__orders-1-25")
        #expect(dead.first?["reason"]?.stringValue?.contains("not JSON") == true, "\(dead)")
        let cli = try await CLI.run(["dlq", "list", "--config", config, "--json"])
        #expect(cli.status == 0, "\(cli.err)")
        #expect(cli.json?.arrayValue?.compactMap { $0["dag_run_id"]?.stringValue } == ["kafka__orders-1-25"])
        // The same message on the dead-letter topic, with its value and Kafka Connect's error headers.
        let dlq = try await broker.read(topic: "orders.dlq", count: 1)
        #expect(dlq.first?["value"]?.stringValue == "not json {")
        let headers = dlq.first?["headers"]
        #expect(headers?["__connect.errors.topic"]?.stringValue == "orders")
        #expect(headers?["__connect.errors.partition"]?.stringValue == "1")
        #expect(headers?["__connect.errors.offset"]?.stringValue == "25")
        // Partition 1 moved past the poison.
        let committed = try await broker.waitForCommitted([50, 51, 50, 50], seconds: 15)
        #expect(committed == [50, 51, 50, 50])
    }

    @Test("Target down: partitions paused while the journal is above high water, group membership kept; target back: every run delivered")
    func targetDownPausesAndResumes() async throws {
        let scene = try await Scene.start()
        defer { scene.stop() }
        let (broker, dir, target) = (scene.broker, scene.dir, scene.target)
        target.toggleDown()
        let port = freePort(24_500..<25_000)
        // max.poll.interval.ms just above the session timeout: a consumer that stopped polling
        // while paused would leave the group during the outage (librdkafka does so once the
        // interval passes without a poll) and count a revoke and a second assign.
        let config = try Self.writeConfig(
            dir: dir.path, port: port, broker: broker.address, target: target.url, store: ", high_water: 50, low_water: 10",
            targetOptions: ", retry: { max_attempts: 10000, initial_backoff: 100ms, max_backoff: 1s, breaker_cooldown: 1s }",
            source: ["batch_size: 20"], librdkafka: ", max.poll.interval.ms: 7000")
        let serve = try await KafkaServe.start(config: config, port: port, lib: broker.lib, log: dir.path + "/serve.log")
        defer { serve.terminate() }
        let assigns = #"source="orders",kind="assign""#
        let revokes = #"source="orders",kind="revoke""#
        #expect(try await waitFor(30) { serve.metric("dagbridge_kafka_rebalances_total", assigns) == 1 }, "log: \(serve.log)")
        try await broker.produce(topic: "orders", count: 2000, partitions: 4)
        let paused = try await waitFor(30) { serve.metric("dagbridge_kafka_paused_partitions", #"source="orders""#) == 4 }
        #expect(paused, "log: \(serve.log)")
        // Hold the outage for longer than max.poll.interval.ms and check the whole time that the
        // partitions stay paused, with messages left unread and no further rebalance.
        let heldUntil = Date().addingTimeInterval(10)
        var held = true
        while Date() < heldUntil {
            held = held && serve.metric("dagbridge_kafka_paused_partitions", #"source="orders""#) == 4
                && serve.metric("dagbridge_kafka_rebalances_total", assigns) == 1
                && (serve.metric("dagbridge_kafka_rebalances_total", revokes) ?? 0) == 0
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(held, "log: \(serve.log)")
        let consumed = serve.metric("dagbridge_kafka_messages_consumed_total", Self.metricLabels) ?? 0
        #expect(consumed < 2000, "consumption stopped while paused (consumed \(consumed))")
        #expect(target.created().isEmpty)

        target.toggleDown()
        let complete = try await waitFor(90) { Set(target.created()).count >= 2000 }
        #expect(complete, "created \(Set(target.created()).count) of 2000; log: \(serve.log)")
        #expect(Set(target.created()) == Self.runIDs(0..<2000), "no run missing, none extra")
        #expect(try await waitFor(10) { serve.metric("dagbridge_kafka_paused_partitions", #"source="orders""#) == 0 })
        #expect(serve.metric("dagbridge_kafka_rebalances_total", assigns) == 1, "no rebalance through the whole outage")
        #expect((serve.metric("dagbridge_kafka_rebalances_total", revokes) ?? 0) == 0)
        let committed = try await broker.waitForCommitted([500, 500, 500, 500], seconds: 15)
        #expect(committed == [500, 500, 500, 500])
    }
}
