import BridgeCore
import CRdKafka
import Foundation

extension KafkaTestInspector {
    /// Consumes `count` messages of `topic` from the beginning and only counts them: the bare
    /// librdkafka fetch rate, the ceiling a benchmark of the consumer is compared against.
    /// Returns the messages read and the seconds from the first message to the last.
    public static func drain(brokers: String, topic: String, partitions: Int32, count: Int, timeout: Duration = .seconds(60)) -> (messages: Int, seconds: Double) {
        let rk = fromBeginning(brokers: brokers, topic: topic, partitions: partitions, properties: ["fetch.message.max.bytes": "4194304"])
        defer { rd_kafka_destroy(rk) }
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
        return (n, d.timeInterval)
    }
}
