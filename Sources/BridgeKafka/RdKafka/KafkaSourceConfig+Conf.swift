import BridgeCore
import CRdKafka

extension KafkaSourceConfig {
    /// A librdkafka configuration for this source's consumer (or its DLQ producer).
    /// - Throws: ``KafkaError`` naming the property librdkafka refused (values of secret properties are not shown).
    func makeConf(forProducer: Bool) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errbuf = [CChar](repeating: 0, count: 512)
        func set(_ key: String, _ value: String) throws(KafkaError) {
            if rd_kafka_conf_set(conf, key, value, &errbuf, errbuf.count) != RD_KAFKA_CONF_OK {
                let msg = String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                rd_kafka_conf_destroy(conf)
                let shown = Self.secretProperties.contains(key) ? "<redacted>" : value
                throw KafkaError(.config, "librdkafka property \(key)=\(shown): \(msg)")
            }
        }
        try set("bootstrap.servers", brokers.joined(separator: ","))
        try set("client.id", "dagbridge-\(name)")
        if !forProducer {
            try set("group.id", groupID)
            try set("enable.auto.offset.store", "false")
            try set("enable.auto.commit", "false")
            try set("auto.offset.reset", startLatest ? "latest" : "earliest")
            // Prefetch deeper than librdkafka's 100,000 messages (memory stays bounded by
            // queued.max.messages.kbytes, 64 MiB): with the default the fetcher stops and restarts
            // while the consumer catches up on a backlog, and the consumer waits a third of the time
            // (bench-kafka (a): 160k msg/s with the default, 240k with this). `librdkafka:` overrides it.
            try set("queued.min.messages", "1000000")
        } else {
            try set("enable.idempotence", "true")
        }
        for p in properties { try set(p.key, p.value.value) }
        return conf
    }

    /// What librdkafka says about this source's properties (names and values), or nil when it
    /// takes them all. The parser asks, so `config check` reports a misspelt property with its
    /// line instead of the consumer failing at start-up.
    func librdkafkaProblem() -> String? {
        do {
            rd_kafka_conf_destroy(try makeConf(forProducer: false))
            return nil
        } catch {
            return error.message
        }
    }
}
