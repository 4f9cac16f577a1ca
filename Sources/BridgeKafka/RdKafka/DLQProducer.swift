import CRdKafka
import Foundation
import Logging

/// Produces poison messages to a source's `dlq_topic`, with Kafka-Connect-style error headers
/// (`__connect.errors.topic`, `.partition`, `.offset`, `.exception.message`, `.connector.name`, `.stage`).
/// Used only on the consumer thread.
final class DLQProducer {
    let topic: String
    let logger: Logger
    private let rk: OpaquePointer

    init(config: KafkaSourceConfig, topic: String, logger: Logger) throws(KafkaError) {
        self.topic = topic
        self.logger = logger
        let conf = try config.makeConf(forProducer: true)
        var errbuf = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errbuf, errbuf.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.client, "cannot create the dead-letter producer: \(errorText(errbuf))")
        }
        rk = handle
    }

    deinit {
        rd_kafka_flush(rk, 10_000)
        rd_kafka_destroy(rk)
    }

    /// Queues one record: the original key, value and headers plus the error headers.
    func produce(_ m: KafkaMessage, reason: String, source: String) {
        let headers = rd_kafka_headers_new(m.headers.count + 6)
        for (k, v) in m.headers { _ = v.withUnsafeBytes { rd_kafka_header_add(headers, k, -1, $0.baseAddress, $0.count) } }
        let errors: [(String, String)] = [
            ("__connect.errors.topic", m.topic), ("__connect.errors.partition", String(m.partition)),
            ("__connect.errors.offset", String(m.offset)), ("__connect.errors.connector.name", "dagbridge:\(source)"),
            ("__connect.errors.stage", "dagbridge"), ("__connect.errors.exception.message", reason),
        ]
        for (k, v) in errors { _ = rd_kafka_header_add(headers, k, -1, v, v.utf8.count) }
        var err = RD_KAFKA_RESP_ERR_NO_ERROR
        for attempt in 0..<100 {
            err = m.value.withUnsafeBytes { value in
                (m.key ?? []).withUnsafeBytes { key in
                    crdkafka_producev(
                        rk, topic, crdkafka_partition_unassigned(), value.baseAddress, value.count,
                        m.key == nil ? nil : key.baseAddress, m.key == nil ? 0 : key.count, headers)
                }
            }
            guard err == RD_KAFKA_RESP_ERR__QUEUE_FULL, attempt < 99 else { break }
            rd_kafka_poll(rk, 100)
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_headers_destroy(headers)
            logger.error("cannot queue a dead-letter record for \(topic): \(String(cString: rd_kafka_err2str(err)))")
            failed = true
        }
    }

    private var failed = false

    /// Waits until every queued record is acknowledged. Returns `false` when some could not be delivered.
    @discardableResult
    func flush() -> Bool {
        let err = rd_kafka_flush(rk, 10_000)
        defer { failed = false }
        return err == RD_KAFKA_RESP_ERR_NO_ERROR && !failed
    }
}
