import BridgeConfig
import BridgeCore
@_spi(Testing) import BridgeKafka
import BridgeKafkaTesting
import Foundation
import Synchronization
import Testing

@Suite("Kafka consumer on librdkafka's mock cluster", .serialized, .timeLimit(.minutes(2)))
struct KafkaConsumerTests {
    @Test("every message once, in partition order, with its Kafka coordinates; offsets committed on shutdown")
    func consumesAndCommits() async throws {
        let cluster = KafkaMockCluster()
        cluster.createTopic("orders", partitions: 4)
        let producer = try KafkaTestProducer(brokers: cluster.bootstrap)
        for i in 0..<400 {
            try producer.send(topic: "orders", partition: Int32(i % 4), key: "k\(i)", #"{"n":\#(i)}"#, headers: [("Trace-Id", "t\(i)")])
        }
        try producer.flush()
        let sink = RecordingSink()
        let consumer = RunningConsumer(KafkaConsumer(config: KafkaTest.config(brokers: cluster.bootstrap, topics: ["orders"], group: "g1"), sink: sink, logger: KafkaTest.logger))
        #expect(await KafkaTest.eventually { sink.events.count >= 400 })
        try await consumer.stop()
        let events = sink.events
        #expect(events.count == 400)
        #expect(Set(events.map(\.id)).count == 400)
        let first = try #require(events.first { $0.body["n"] == .int(5) })
        #expect(first.id == "orders-1-1")
        #expect(first.kafka?.key == "k5")
        #expect(first.headers["trace-id"] == "t5")
        #expect(first.envelope["kafka"]?["partition"] == .int(1))
        for p in Int32(0)..<4 {
            let ns = events.filter { $0.kafka?.partition == p }.map(\.kafka!.offset)
            #expect(ns == ns.sorted())
        }
        let committed = KafkaTestInspector.committed(brokers: cluster.bootstrap, group: "g1", topic: "orders", partitions: 4)
        #expect(committed == [100, 100, 100, 100])
        // Batches go through the sink on the consumer's own executor, never on the global one
        // (in `serve` that is NIO's event loops, which would stall HTTP for a whole batch).
        let calls = sink.calls
        #expect(calls.all > 0)
        #expect(calls.elsewhere == 0)
        // A json source's body is the parsed value, so the journal may store it once.
        #expect(events.allSatisfy { $0.bodyIsParsedRawBody && $0.body == Event.parseBody($0.rawBody) })
    }

    @Test("a restarted member continues from the committed offsets: nothing re-read, nothing skipped")
    func restartContinues() async throws {
        let cluster = KafkaMockCluster()
        cluster.createTopic("t", partitions: 2)
        let producer = try KafkaTestProducer(brokers: cluster.bootstrap)
        for i in 0..<100 { try producer.send(topic: "t", partition: Int32(i % 2), #"{"n":\#(i)}"#) }
        try producer.flush()
        let sink = RecordingSink()
        let config = KafkaTest.config(brokers: cluster.bootstrap, topics: ["t"], group: "g")
        var c = RunningConsumer(KafkaConsumer(config: config, sink: sink, logger: KafkaTest.logger))
        #expect(await KafkaTest.eventually { sink.events.count >= 100 })
        try await c.stop()
        for i in 100..<150 { try producer.send(topic: "t", partition: Int32(i % 2), #"{"n":\#(i)}"#) }
        try producer.flush()
        c = RunningConsumer(KafkaConsumer(config: config, sink: sink, logger: KafkaTest.logger))
        #expect(await KafkaTest.eventually { sink.events.count >= 150 })
        try await Task.sleep(for: .milliseconds(300))
        try await c.stop()
        #expect(sink.events.count == 150)
        #expect(Set(sink.events.map(\.id)).count == 150)
    }

    @Test("a poison message becomes a dead letter, goes to the dlq_topic with error headers, and its partition moves on")
    func poison() async throws {
        let cluster = KafkaMockCluster()
        cluster.createTopic("in", partitions: 1)
        cluster.createTopic("in.dlq", partitions: 1)
        let producer = try KafkaTestProducer(brokers: cluster.bootstrap)
        try producer.send(topic: "in", #"{"n":1}"#)
        try producer.send(topic: "in", key: "bad", "this is not json", headers: [("h", "v")])
        try producer.send(topic: "in", #"{"n":3}"#)
        try producer.flush()
        let sink = RecordingSink()
        var config = KafkaTest.config(brokers: cluster.bootstrap, topics: ["in"], group: "g")
        config.dlqTopic = "in.dlq"
        let c = RunningConsumer(KafkaConsumer(config: config, sink: sink, logger: KafkaTest.logger))
        #expect(await KafkaTest.eventually { sink.events.count >= 2 })
        try await c.stop()
        #expect(sink.events.map(\.body["n"]) == [.int(1), .int(3)])
        let p = try #require(sink.poison.first)
        #expect(p.0.rawBody == Array("this is not json".utf8))
        #expect(p.1.contains("not JSON"))
        // Its body (the value as text) is still what Event.parseBody makes of the value: stored once.
        #expect(p.0.bodyIsParsedRawBody && p.0.body == Event.parseBody(p.0.rawBody))
        let dlq = KafkaTestInspector.readAll(brokers: cluster.bootstrap, topic: "in.dlq", partitions: 1, expect: 1)
        #expect(dlq.count == 1)
        #expect(dlq.first?.value == "this is not json")
        #expect(dlq.first?.headers["__connect.errors.topic"] == "in")
        #expect(dlq.first?.headers["__connect.errors.offset"] == "1")
        #expect(dlq.first?.headers["h"] == "v")
        #expect(dlq.first?.headers["__connect.errors.exception.message"]?.contains("not JSON") == true)
        #expect(KafkaTestInspector.committed(brokers: cluster.bootstrap, group: "g", topic: "in", partitions: 1) == [3])
    }

    @Test("backpressure pauses every assigned partition while polling continues; release drains the rest")
    func backpressure() async throws {
        let cluster = KafkaMockCluster()
        cluster.createTopic("t", partitions: 4)
        let producer = try KafkaTestProducer(brokers: cluster.bootstrap)
        let sink = RecordingSink()
        sink.state.withLock { $0.backpressured = true }
        let c = RunningConsumer(KafkaConsumer(config: KafkaTest.config(brokers: cluster.bootstrap, topics: ["t"], group: "g"), sink: sink, logger: KafkaTest.logger))
        #expect(await KafkaTest.eventually { c.consumer.status.assigned == 4 && c.consumer.status.paused == 4 })
        for i in 0..<200 { try producer.send(topic: "t", partition: Int32(i % 4), #"{"n":\#(i)}"#) }
        try producer.flush()
        try await Task.sleep(for: .seconds(1))
        #expect(sink.events.count == 0)
        #expect(c.consumer.status.assigned == 4)
        sink.state.withLock { $0.backpressured = false }
        #expect(await KafkaTest.eventually { sink.events.count >= 200 })
        #expect(c.consumer.status.paused == 0)
        try await c.stop()
        #expect(sink.events.count == 200)
    }

    @Test("a failing journal: the batch is retried, no offset is stored meanwhile, nothing is lost")
    func failingSinkRetries() async throws {
        let cluster = KafkaMockCluster()
        cluster.createTopic("t", partitions: 1)
        let producer = try KafkaTestProducer(brokers: cluster.bootstrap)
        let sink = RecordingSink()
        sink.state.withLock { $0.failing = true }
        let c = RunningConsumer(KafkaConsumer(config: KafkaTest.config(brokers: cluster.bootstrap, topics: ["t"], group: "g"), sink: sink, logger: KafkaTest.logger))
        for i in 0..<20 { try producer.send(topic: "t", #"{"n":\#(i)}"#) }
        try producer.flush()
        #expect(await KafkaTest.eventually { sink.state.withLock { $0.calls } >= 2 })
        #expect(c.consumer.status.stored.isEmpty)
        #expect(c.consumer.status.paused == 1)
        sink.state.withLock { $0.failing = false }
        #expect(await KafkaTest.eventually { sink.events.count >= 20 })
        try await c.stop()
        #expect(sink.events.count == 20)
        #expect(KafkaTestInspector.committed(brokers: cluster.bootstrap, group: "g", topic: "t", partitions: 1) == [20])
    }

    @Test("two members in one group split the partitions; when one leaves the other takes over (eager and cooperative)",
          arguments: ["range", "cooperative-sticky"])
    func groupSplit(strategy: String) async throws {
        let cluster = KafkaMockCluster()
        cluster.createTopic("t", partitions: 4)
        let producer = try KafkaTestProducer(brokers: cluster.bootstrap)
        let config = KafkaTest.config(brokers: cluster.bootstrap, topics: ["t"], group: "g", extra: ["partition.assignment.strategy": strategy])
        let sinkA = RecordingSink()
        let sinkB = RecordingSink()
        let a = RunningConsumer(KafkaConsumer(config: config, sink: sinkA, logger: KafkaTest.logger))
        #expect(await KafkaTest.eventually { a.consumer.status.assigned == 4 })
        let b = RunningConsumer(KafkaConsumer(config: config, sink: sinkB, logger: KafkaTest.logger))
        #expect(await KafkaTest.eventually(.seconds(30)) { a.consumer.status.assigned == 2 && b.consumer.status.assigned == 2 })
        for i in 0..<100 { try producer.send(topic: "t", partition: Int32(i % 4), #"{"n":\#(i)}"#) }
        try producer.flush()
        #expect(await KafkaTest.eventually { sinkA.events.count + sinkB.events.count >= 100 })
        #expect(sinkA.events.count == 50)
        #expect(sinkB.events.count == 50)
        try await b.stop()
        #expect(await KafkaTest.eventually(.seconds(30)) { a.consumer.status.assigned == 4 })
        for i in 100..<200 { try producer.send(topic: "t", partition: Int32(i % 4), #"{"n":\#(i)}"#) }
        try producer.flush()
        #expect(await KafkaTest.eventually { sinkA.events.count >= 150 })
        try await a.stop()
        // Nothing lost: every message reached one of the sinks. Re-reads are allowed only for what a
        // member could not commit: on the mock cluster a member that leaves mid-commit can make the
        // coordinator fence the other's generation ("assignment lost"), and the survivor re-reads
        // its own uncommitted tail (at most the 100 messages of the second half); the deterministic
        // run ids make those duplicates at Airflow, never second runs.
        let all = sinkA.events.map(\.id) + sinkB.events.map(\.id)
        let expected = Set((0..<200).map { i in "t-\(i % 4)-\(i / 4)" })
        #expect(Set(all) == expected)
        #expect(all.count - 200 <= 100, "re-read more than the uncommitted tail: \(all.count - 200)")
    }
}
