import BridgeCore
@_spi(Testing) import BridgeKafka
import BridgeKafkaTesting
import BridgeRules
import BridgeServer
import BridgeDispatch
import BridgeIntake
import BridgeWebhooks
import BridgeStore
import Foundation
import Logging
import Synchronization
import Testing

/// The Kafka source as the service runs it (consumer + rules + journal) on librdkafka's mock
/// cluster: messages no rule matches are screened out on the raw value, before any event is built,
/// and the batches are written two at a time. Neither may change what ends up in the journal.
@Suite("Kafka ingress: raw screening and pipelined batches", .serialized)
struct KafkaIngressTests {
    /// Rules reading every envelope member the screen has to supply: body, headers, kafka, id, source.
    static let rules = """
        rules:
          - name: paid
            match:
              body: { status: [paid], total: [{ numeric: [">=", 100] }] }
            trigger: { target: prod, dag_id: fulfil }
          - name: flagged
            match:
              headers: { x-flag: [urgent] }
            trigger: { target: prod, dag_id: escalate }
          - name: partition-three
            match:
              kafka: { partition: [3], key: [{ prefix: "vip-" }] }
            trigger: { target: prod, dag_id: vip }
          - name: by-id
            match:
              id: [{ suffix: "-7777" }]
              source: [orders]
            trigger: { target: prod, dag_id: by_id }
          - name: other-source
            source: [payments]
            match:
              body: { status: [refund] }
            trigger: { target: prod, dag_id: refund }
        """

    @Test("only matching messages become events; poison is kept; every offset is stored; received counts all")
    func screening() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let cluster = KafkaMockCluster()
        cluster.createTopic("orders", partitions: 4)
        let producer = try KafkaTestProducer(brokers: cluster.bootstrap, properties: ["linger.ms": "5"])
        let total = 12_000
        var expected = Set<String>()  // dag_run_ids
        var poison = 0
        for i in 0..<total {
            let partition = Int32(i % 4)
            var headers = [("x-id", "m-\(i)")]
            var key: String? = "k-\(i)"
            let value: String
            switch i % 10 {
            case 0:
                value = #"{"status":"paid","total":\#(100 + i % 50),"items":[{"sku":"a"}]}"#
                expected.insert("paid__m-\(i)")
            case 1:
                value = #"{"status":"paid","total":99.5}"#  // below the bound
            case 2:
                value = #"{"status":"pending","total":500}"#
                headers.append(("X-Flag", "urgent"))  // header names match case-insensitively
                expected.insert("flagged__m-\(i)")
            case 3 where partition == 3:
                value = #"{"status":"pending"}"#
                key = "vip-\(i)"
                expected.insert("partition-three__m-\(i)")
            case 4:
                value = #"{"status":"refund"}"#  // only a rule for another source would take it
            case 5 where i % 1000 == 5:
                value = i % 2000 == 5 ? "not json {" : ""
                poison += 1
            default:
                value = #"{"status":"pending","nested":{"deep":[1,2,{"x":null}]},"status":"still pending"}"#
            }
            if i == 7777 { expected.insert("by-id__m-7777") }
            try producer.send(topic: "orders", partition: partition, key: key, value, headers: headers)
        }
        try producer.flush()

        let journal = try Journal(path: dir.store)
        let loaded = RuleSetLoader.load(sources: [(Self.rules, "rules.yaml")])
        let ruleSet = try #require(loaded.ruleSet, "\(loaded.diagnostics)")
        let metrics = BridgeMetrics()
        let sink = CountingSink(KafkaIngress(rules: RuleSetHolder(ruleSet), store: journal, metrics: metrics, logger: Logger(label: "test")))
        var config = KafkaSourceConfig(name: "orders", brokers: [cluster.bootstrap], topics: ["orders"], groupID: "g")
        config.eventID = .header("x-id")
        config.batchSize = 500  // many batches, so two are often in flight
        let consumer = KafkaConsumer(config: config, sink: sink, observer: metrics, logger: Logger(label: "test"))
        let task = Task { try await consumer.run() }
        let ends = ["orders/0": 3000, "orders/1": 3000, "orders/2": 3000, "orders/3": 3000] as [String: Int64]
        #expect(await eventually(timeout: 60) { consumer.status.stored == ends }, "\(consumer.status.stored)")
        consumer.stop()
        try await task.value

        let jobs = try await journal.jobs(matching: JobFilter(state: .pending))
        let runIDs = jobs.map(\.job.dagRunId)
        #expect(runIDs.count == expected.count, "no event twice, none missing")
        let missing = expected.subtracting(runIDs), extra = Set(runIDs).subtracting(expected)
        #expect(missing.isEmpty && extra.isEmpty, "missing \(missing.count) (e.g. \(missing.sorted().prefix(3))), extra \(extra.count) (e.g. \(extra.sorted().prefix(3)))")
        let dead = try await journal.jobs(matching: JobFilter(state: .dead))
        #expect(dead.count == poison)
        #expect(dead.allSatisfy { $0.job.rule == KafkaIngress.poisonRule })
        #expect(consumer.status.deadLetters == poison)
        #expect(sink.built == expected.count + poison, "only messages that can match, and poison, were built into events")
        let text = metrics.render()
        #expect(text.contains(#"dagbridge_events_received_total{source="orders"} \#(total)"#), "\(text)")
        #expect(text.contains(#"dagbridge_kafka_messages_consumed_total{source="orders",topic="orders"} \#(total)"#), "\(text)")
        #expect(text.contains(#"dagbridge_kafka_paused_partitions{source="orders"} 0"#), "never paused: the gauge is there, at 0")
    }

    @Test("an event id from a body path: still screened when no rule reads id; not screened when one does")
    func bodyPathEventID() async throws {
        for readsID in [false, true] {
            let dir = try TempDir()
            defer { dir.cleanup() }
            let cluster = KafkaMockCluster()
            cluster.createTopic("orders", partitions: 2)
            let producer = try KafkaTestProducer(brokers: cluster.bootstrap)
            for i in 0..<400 {
                try producer.send(topic: "orders", partition: Int32(i % 2), #"{"order":{"id":"o-\#(i)"},"status":"\#(i % 4 == 0 ? "paid" : "new")"}"#)
            }
            try producer.flush()
            let rules = """
                rules:
                  - name: paid
                    match: { body: { status: [paid] }\(readsID ? ", id: [{ prefix: \"o-\" }]" : "") }
                    trigger: { target: prod, dag_id: fulfil }
                """
            let ruleSet = try #require(RuleSetLoader.load(sources: [(rules, "r.yaml")]).ruleSet)
            let journal = try Journal(path: dir.store)
            let sink = CountingSink(KafkaIngress(rules: RuleSetHolder(ruleSet), store: journal, metrics: BridgeMetrics(), logger: Logger(label: "test")))
            var config = KafkaSourceConfig(name: "orders", brokers: [cluster.bootstrap], topics: ["orders"], groupID: "g")
            config.eventID = .bodyPath(["order", "id"])
            let consumer = KafkaConsumer(config: config, sink: sink, logger: Logger(label: "test"))
            let task = Task { try await consumer.run() }
            #expect(await eventually(timeout: 60) { consumer.status.stored == ["orders/0": 200, "orders/1": 200] })
            consumer.stop()
            try await task.value
            let runs = Set(try await journal.jobs(matching: JobFilter(state: .pending)).map(\.job.dagRunId))
            #expect(runs == Set(stride(from: 0, to: 400, by: 4).map { "paid__o-\($0)" }), "ids from the body either way")
            #expect(sink.built == (readsID ? 400 : 100), "screened unless a rule reads id")
        }
    }
}

/// Forwards to a sink and counts the records it is handed (the messages built into events).
final class CountingSink: KafkaEventSink {
    let inner: any KafkaEventSink
    private let count = Mutex(0)
    init(_ inner: any KafkaEventSink) { self.inner = inner }
    var built: Int { count.withLock { $0 } }
    var isBackpressured: Bool { inner.isBackpressured }
    func screener() -> (any KafkaScreener)? { inner.screener() }
    func screenedOut(_ n: Int, source: String) { inner.screenedOut(n, source: source) }
    func accept(_ records: [KafkaRecord]) async throws -> [(index: Int, reason: String)] {
        count.withLock { $0 += records.count }
        return try await inner.accept(records)
    }
}
