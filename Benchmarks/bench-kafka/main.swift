// bench-kafka: messages/s consumed, matched and journaled by one Kafka source, on librdkafka's
// in-process mock cluster (16 partitions), with the real rules engine and a real journal file.
//
//   swift run -c release bench-kafka [messages] [cases, default "0abc"]
//
// (0) baseline: the same messages only fetched and counted by a bare librdkafka consumer (the
//     ceiling the mock cluster and librdkafka allow on this machine).
// (a) no rule matches: consume + decode + match only, no journal write.
// (b) every message matches one rule: one job per message, journaled (durability full) before
//     the offset is stored.
// (c) slow target: no dispatcher drains the journal (high water 20,000): the consumer pauses its
//     partitions at high water, keeps polling (group membership kept), and the lag grows.
//
// BENCH_BROKERS=host:port runs the same cases against a real broker instead (topics orders-0,
// orders-a, orders-b, orders-c with 16 partitions must exist): scripts/bench-kafka-tansu.sh does that
// with a local Tansu broker and librdkafka 2.16.
@_spi(Testing) import BridgeKafka
import BridgeKafkaTesting
import BridgeCore
import BridgeRules
import BridgeIntake
import BridgeServer
import BridgeStore
import Foundation
import Logging
import Synchronization

let total = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 200_000
let cases = CommandLine.arguments.dropFirst(2).first ?? "0abc"
// BENCH_PROPS="key=value,…": extra librdkafka properties for the consumer under test, e.g.
// BENCH_PROPS=queued.min.messages=100000 for librdkafka's default prefetch instead of dagbridge's.
let extraProperties: [(String, String)] = (ProcessInfo.processInfo.environment["BENCH_PROPS"] ?? "").split(separator: ",").compactMap { p in
    let kv = p.split(separator: "=", maxSplits: 1)
    return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
}
// 16 partitions: the mock cluster keeps at most ~5 MB per partition and drops older messages beyond that.
let partitions: Int32 = 16

let externalBrokers = ProcessInfo.processInfo.environment["BENCH_BROKERS"]

/// A topic holding the case's messages: a fresh mock cluster's `orders`, or `orders-<case>` on the
/// external broker. The cluster (if any) must live as long as the consumer.
func makeTopic(_ name: String) -> (bootstrap: String, topic: String, cluster: KafkaMockCluster?) {
    if let externalBrokers { return (externalBrokers, "orders-\(name)", nil) }
    let cluster = KafkaMockCluster()
    cluster.createTopic("orders", partitions: partitions)
    return (cluster.bootstrap, "orders", cluster)
}

let rulesText = """
    rules:
      - name: orders-paid
        match:
          kafka:
            topic: [{ prefix: orders }]
          body:
            status: [{ equals-ignore-case: paid }]
            total: [{ numeric: [">=", 100] }]
            region: [eu, us]
        trigger:
          target: prod
          dag_id: fulfil_order
          conf:
            order_id: "{{ body.order_id }}"
            total: "{{ body.total | float }}"
            partition: "{{ kafka.partition }}"
            offset: "{{ kafka.offset }}"
    """

func message(_ i: Int, status: String) -> String {
    #"{"order_id":"o-\#(i)","status":"\#(status)","total":\#(100 + i % 900),"region":"eu","customer":{"email":"a\#(i)@example.com"},"items":[{"sku":"SKU-\#(i % 50)","qty":1}]}"#
}

final class LagObserver: KafkaConsumerObserver {
    let lags = Mutex([String: Int64]())
    func consumed(source: String, topic: String, count: Int) {}
    func lag(source: String, topic: String, partition: Int32, lag: Int64) { lags.withLock { $0["\(topic)/\(partition)"] = lag } }
    func unassigned(source: String, topic: String, partition: Int32) {}
    func paused(source: String, partitions: Int) {}
    func rebalance(source: String, kind: String) {}
    var total: Int64 { lags.withLock { $0.values.reduce(0, +) } }
}

func run(name: String, status: String, count: Int, highWater: Int = Int(Int32.max), until: @escaping (KafkaConsumer, Journal) -> Bool) async throws
    -> (seconds: Double, status: KafkaConsumer.Status, jobs: Int, lag: Int64)
{
    let (bootstrap, topic, cluster) = makeTopic(name)
    defer { withExtendedLifetime(cluster) {} }
    let producer = try KafkaTestProducer(brokers: bootstrap, properties: ["linger.ms": "20", "batch.num.messages": "10000"])
    for i in 0..<count { try producer.send(topic: topic, partition: Int32(i) % partitions, message(i, status: status)) }
    try producer.flush()
    let dir = NSTemporaryDirectory() + "bench-kafka-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var logger = Logger(label: "bench-kafka")
    logger.logLevel = .error
    let journal = try Journal(config: StoreConfig(path: dir + "/journal.sqlite", durability: .full, highWater: highWater, lowWater: highWater / 2), logger: logger)
    let loaded = RuleSetLoader.load(sources: [(rulesText, "bench.yaml")])
    let holder = RuleSetHolder(loaded.ruleSet!)
    let sink = KafkaIngress(rules: holder, store: journal, metrics: BridgeMetrics(), logger: logger)
    var config = KafkaSourceConfig(name: "orders", brokers: [bootstrap], topics: [topic], groupID: "bench-\(name)")
    config.properties = [("session.timeout.ms", Secret("6000")), ("log_level", Secret("3")), ("fetch.message.max.bytes", Secret("4194304"))]
    for p in extraProperties { config.properties.append((p.0, Secret(p.1))) }
    let lag = LagObserver()
    let consumer = KafkaConsumer(config: config, sink: sink, observer: lag, logger: logger)
    let task = Task { try await consumer.run() }
    // Time from the first consumed message (the group join is not the consumer's throughput).
    while consumer.status.consumed == 0 { try await Task.sleep(for: .milliseconds(1)) }
    let start = ContinuousClock.now
    while !until(consumer, journal) { try await Task.sleep(for: .milliseconds(2)) }
    let d = ContinuousClock.now - start
    let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    try await Task.sleep(for: .milliseconds(highWater == Int(Int32.max) ? 1100 : 3000))  // lag reports (and, for (c), time to show the pause holds)
    let status = consumer.status
    consumer.stop()
    try await task.value
    try await journal.refreshCounters()
    return (seconds, status, journal.queueDepth, lag.total)
}

func storedSum(_ c: KafkaConsumer) -> Int64 { c.status.stored.values.reduce(0, +) }

print("bench-kafka: \(total) messages (~200 B JSON) over \(partitions) partitions, \(externalBrokers.map { "broker \($0)" } ?? "mock cluster"), librdkafka \(KafkaVersion.string)")
if cases.contains("0") {
    let (bootstrap, topic, cluster) = makeTopic("0")
    let producer = try KafkaTestProducer(brokers: bootstrap, properties: ["linger.ms": "20", "batch.num.messages": "10000"])
    for i in 0..<total { try producer.send(topic: topic, partition: Int32(i) % partitions, message(i, status: "pending")) }
    try producer.flush()
    let base = KafkaTestInspector.drain(brokers: bootstrap, topic: topic, partitions: partitions, count: total)
    withExtendedLifetime(cluster) {}
    print(String(format: "(0) bare librdkafka fetch:  %8.0f msg/s  (%d messages in %.2f s; the ceiling for (a) and (b))", Double(base.messages) / base.seconds, base.messages, base.seconds))
}
if cases.contains("a") {
    let a = try await run(name: "a", status: "pending", count: total) { c, _ in storedSum(c) >= Int64(total) }
    print(String(format: "(a) no rule matches:        %8.0f msg/s  (%d messages in %.2f s; offsets stored for all)", Double(total) / a.seconds, total, a.seconds))
}
if cases.contains("b") {
    let b = try await run(name: "b", status: "paid", count: total) { c, _ in storedSum(c) >= Int64(total) }
    print(String(format: "(b) one job per message:    %8.0f msg/s  (%d jobs journaled, durability full, in %.2f s)", Double(total) / b.seconds, b.jobs, b.seconds))
}
if cases.contains("c") {
    let slow = min(total, 100_000)
    let c = try await run(name: "c", status: "paid", count: slow, highWater: 20_000) { c, _ in c.status.paused > 0 }
    print(
        "(c) target slower than input (nothing drains, high water 20000): paused \(c.status.paused) of \(partitions) partitions at "
            + "\(c.jobs) jobs; consumed \(c.status.consumed) of \(slow) and holding 3 s later; lag \(c.lag) messages; "
            + "still assigned \(c.status.assigned) partitions (membership kept); resumes below low water 10000")
}
