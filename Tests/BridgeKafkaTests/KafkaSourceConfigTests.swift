import BridgeConfig
import BridgeCore
@_spi(Testing) import BridgeKafka
import Testing

@Suite("sources.kafka configuration")
struct KafkaSourceConfigTests {
    /// Parses `sources.kafka` from a dagbridge.yaml text; the sources and every diagnostic as `file:line:col: error: …`.
    func parse(_ yaml: String, env: [String: String] = [:]) -> ([KafkaSourceConfig], [String]) {
        let (root, problems) = YAMLLoader.parse(yaml, file: "dagbridge.yaml")
        var d = Diagnostics()
        d.append(contentsOf: problems)
        guard let node = root?["sources"]?["kafka"] else { return ([], d.items.map(\.description)) }
        let sources = KafkaSourceConfig.parseList(node, resolver: SecretResolver(environment: env), diagnostics: &d)
        return (sources, d.items.map(\.description))
    }

    @Test("every key is read; defaults for the rest; secrets resolved and never shown")
    func everyKey() throws {
        let (sources, problems) = parse(
            """
            sources:
              kafka:
                - name: orders
                  brokers: kafka-1:9092, kafka-2:9092
                  topics: [orders, "^shop\\\\..*"]
                  group_id: dagbridge
                  event_id: header:Idempotency-Key
                  format: bytes-base64
                  start: latest
                  dlq_topic: orders.dlq
                  commit_interval: 2s
                  batch_size: 500
                  librdkafka: { security.protocol: SASL_SSL, sasl.mechanism: PLAIN, sasl.username: u, sasl.password: "${env:KPW}" }
                - name: plain
                  brokers: [127.0.0.1:9092]
                  topics: t
                  group_id: g
            """, env: ["KPW": "hunter2"])
        #expect(problems.isEmpty, "\(problems)")
        let o = try #require(sources.first)
        #expect(o.brokers == ["kafka-1:9092", "kafka-2:9092"])
        #expect(o.topics == ["orders", "^shop\\..*"])
        #expect(o.eventID == .header("idempotency-key"))
        #expect(o.format == .bytesBase64)
        #expect(o.startLatest)
        #expect(o.dlqTopic == "orders.dlq")
        #expect(o.commitInterval == 2)
        #expect(o.batchSize == 500)
        #expect(o.properties.first { $0.key == "sasl.password" }?.value.value == "hunter2")
        #expect(!o.description.contains("hunter2"))
        #expect(o.description.contains("sasl.password=<redacted>"))
        let p = try #require(sources.last)
        #expect(p.topics == ["t"])
        #expect(p.eventID == .coordinates)
        #expect(p.format == .json)
        #expect(!p.startLatest)
        #expect(p.dlqTopic == nil)
    }

    @Test(
        "bad input: a clear message at the right line and column",
        arguments: [
            ("kafka: { name: x }", "2:10: error: 'kafka' must be a list of sources"),
            ("kafka: [just-a-string]", "must be a mapping with name, brokers, topics and group_id"),
            ("kafka:\n    - { name: x, topics: [t], group_id: g }", "3:7: error: missing 'brokers'"),
            ("kafka:\n    - { name: x, brokers: b:1, group_id: g }", "missing 'topics'"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t] }", "missing 'group_id'"),
            ("kafka:\n    - { name: x, brokers: [], topics: [t], group_id: g }", "'brokers' is empty"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [], group_id: g }", "'topics' is empty"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, topic: u }", "did you mean 'topics'"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, event_id: offset }", "event_id 'offset' must be coordinates, header:NAME or body:PATH"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, format: avro }", "format must be json, string or bytes-base64"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, start: beginning }", "start must be earliest or latest"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, dlq_topic: '' }", "dlq_topic is empty"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, commit_interval: 10ms }", "commit_interval must be at least 100ms"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, batch_size: 0 }", "batch_size"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, librdkafka: [a] }", "'librdkafka' must be a mapping"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, librdkafka: { group.id: other } }", "librdkafka property 'group.id' is set by dagbridge: use 'group_id'"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, librdkafka: { enable.auto.commit: 'true' } }", "'enable.auto.commit' is set by dagbridge"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, librdkafka: { no.such.property: 1 } }", "no.such.property"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, librdkafka: { session.timeout.ms: soon } }", "session.timeout.ms"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g, librdkafka: { sasl.password: '${env:NOPE}' } }", "environment variable NOPE is not set"),
            ("kafka:\n    - { name: x, brokers: b:1, topics: [t], group_id: g }\n    - { name: x, brokers: b:1, topics: [u], group_id: g }", "duplicate source name 'x'"),
        ])
    func rejects(yaml: String, expected: String) {
        let (sources, problems) = parse("sources:\n  " + yaml)
        #expect(problems.contains { $0.contains(expected) }, "\(problems)")
        #expect(problems.allSatisfy { $0.hasPrefix("dagbridge.yaml:") })
        // A bad source is not started; of two with one name, the first is kept.
        #expect(sources.count == (expected.contains("duplicate") ? 1 : 0))
    }

    @Test("a property librdkafka refuses is reported; the secret beside it is not shown")
    func secretValueNotShown() {
        let (_, problems) = parse(
            """
            sources:
              kafka:
                - { name: x, brokers: b:1, topics: [t], group_id: g, librdkafka: { ssl.key.password: s3cr3t-value, session.timeout.ms: soon } }
            """)
        #expect(!problems.isEmpty)
        #expect(!problems.joined().contains("s3cr3t-value"), "\(problems)")
    }
}
