import BridgeAirflow
import BridgeCore
import BridgeHTTP
import Foundation
import Testing

/// The Kafka front door end to end: a real broker (Tansu), `dagbridge serve` with a Kafka source
/// (librdkafka 2.16 on `LD_LIBRARY_PATH`, see ``KafkaBroker``) and real Apache Airflow 3 as the
/// target; every run is read back from Airflow. Skipped with `DAGBRIDGE_AIRFLOW_TESTS=0`.
@Suite(
    "Kafka → dagbridge serve → real Airflow 3", .serialized, .onTestThreads,
    .enabled(if: ProcessInfo.processInfo.environment["DAGBRIDGE_AIRFLOW_TESTS"] != "0", "real-Airflow tests disabled by DAGBRIDGE_AIRFLOW_TESTS=0"),
    .enabled(if: KafkaBroker.suitesRun, KafkaBroker.skipReason))
struct KafkaAirflowTests {
    static func writeConfig(dir: String, port: Int, broker: String, airflow: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir + "/rules", withIntermediateDirectories: true)
        try """
        rules:
          - name: paid
            source: [orders]
            match: { kafka: { topic: [orders] }, body: { status: [paid] } }
            trigger: { target: af, dag_id: paused_dag, conf: { n: "{{ body.n }}", partition: "{{ kafka.partition }}" } }
        """.write(toFile: dir + "/rules/r.yaml", atomically: true, encoding: .utf8)
        let path = dir + "/dagbridge.yaml"
        try """
        server: { listen: "127.0.0.1:\(port)", shutdown_timeout: 5s }
        store: { path: var/j.sqlite }
        targets:
          af:
            url: "\(airflow)"
            api: v2
            auth: { type: airflow-password, username: admin, password: admin }
            max_in_flight: 1
        \(kafkaSourcesYAML(broker: broker))
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(
        "paid orders become Airflow 3 runs with their conf; kill -9 and restart mid-way: each run exists once",
        .timeLimit(.minutes(6)))
    func ordersToRuns() async throws {
        let broker = try await KafkaBroker.start()
        defer { broker.stop() }
        try await broker.createTopic("orders", partitions: 2)
        let airflow = try await AirflowTestbed.start(port: 22182)
        defer { airflow.stop() }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let port = freePort(24_500..<25_000)
        let config = try Self.writeConfig(dir: dir.path, port: port, broker: broker.address, airflow: airflow.url)
        let log = dir.path + "/serve.log"
        var serve = try await KafkaServe.start(config: config, port: port, lib: broker.lib, log: log)
        defer { serve.terminate() }
        let http = try HTTPClient()
        defer { http.shutdown() }
        let client = try airflow3Reader(airflow.url, http)
        /// Message n (from `KafkaBroker.produce`, 2 partitions) and its run id and conf in Airflow.
        func runID(_ n: Int) -> String { "paid__orders-\(n % 2)-\(n / 2)" }
        func missing(_ range: Range<Int>) async -> [Int] {
            var out: [Int] = []
            for n in range where await client.getRun(dagId: "paused_dag", runId: runID(n)).json?["conf"] != ["n": .int(Int64(n)), "partition": .int(Int64(n % 2))] {
                out.append(n)
            }
            return out
        }

        try await broker.produce(topic: "orders", count: 20, partitions: 2)
        var left: [Int] = []
        #expect(await eventually(timeout: 90) { left = await missing(0..<20); return left.isEmpty }, "runs missing in Airflow: \(left); log: \(log)")
        // A crash, more orders while it is down, a restart: the uncommitted tail is read again and
        // Airflow answers 409 for it; the new orders become runs.
        try await serve.kill9()
        try await broker.produce(topic: "orders", count: 20, start: 20, partitions: 2)
        serve = try await KafkaServe.start(config: config, port: port, lib: broker.lib, log: log)
        #expect(await eventually(timeout: 90) { left = await missing(20..<40); return left.isEmpty }, "runs missing in Airflow: \(left); log: \(log)")
        let committed = try await broker.waitForCommitted([20, 20], seconds: 20)
        #expect(committed == [20, 20])
        // Exactly one run per order: nothing re-read became a second run.
        let list = await client.listRuns(dagId: "paused_dag")
        #expect(list.json?["total_entries"] == 40, "\(list)")
    }
}
