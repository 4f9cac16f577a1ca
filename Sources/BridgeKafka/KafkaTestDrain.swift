import CRdKafka
import Foundation

@_spi(Testing)
extension KafkaTestInspector {
    /// Consumes `count` messages of `topic` from the beginning and only counts them: the bare
    /// librdkafka fetch rate, the ceiling a benchmark of the consumer is compared against.
    /// Returns the messages read and the seconds from the first message to the last.
    public static func drain(brokers: String, topic: String, partitions: Int32, count: Int, timeout: Duration = .seconds(60)) -> (messages: Int, seconds: Double) {
        let conf = rd_kafka_conf_new()!
        var errbuf = [CChar](repeating: 0, count: 256)
        rd_kafka_conf_set(conf, "bootstrap.servers", brokers, &errbuf, errbuf.count)
        rd_kafka_conf_set(conf, "group.id", "drain-\(UUID().uuidString)", &errbuf, errbuf.count)
        rd_kafka_conf_set(conf, "log_level", "3", &errbuf, errbuf.count)
        rd_kafka_conf_set(conf, "fetch.message.max.bytes", "4194304", &errbuf, errbuf.count)
        let rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errbuf, errbuf.count)!
        defer { rd_kafka_destroy(rk) }
        rd_kafka_poll_set_consumer(rk)
        let list = rd_kafka_topic_partition_list_new(partitions)!
        for p in 0..<partitions { rd_kafka_topic_partition_list_add(list, topic, p).pointee.offset = -2 }
        rd_kafka_assign(rk, list)
        rd_kafka_topic_partition_list_destroy(list)
        var n = 0
        var start: ContinuousClock.Instant?
        let deadline = ContinuousClock.now + timeout
        while n < count, ContinuousClock.now < deadline {
            guard let m = rd_kafka_consumer_poll(rk, 100) else { continue }
            if m.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                if start == nil { start = .now }
                n += 1
            }
            rd_kafka_message_destroy(m)
        }
        let d = start.map { ContinuousClock.now - $0 } ?? .zero
        rd_kafka_consumer_close(rk)
        return (n, Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
}
