@_spi(Testing) public import BridgeKafka
import CRdKafka
import Foundation

// The test kit drives librdkafka directly, as a client of its own; the product's wrapper
// (BridgeKafka/RdKafka/) exposes no C types for it to reuse.

/// librdkafka's in-process mock cluster plus a producer, for tests and benchmarks.
public final class KafkaMockCluster: @unchecked Sendable {
    // Immutable after init; librdkafka's handles are thread-safe.
    private let rk: OpaquePointer
    private let cluster: OpaquePointer
    /// `host:port` list to give consumers.
    public let bootstrap: String

    public init(brokers: Int32 = 1) {
        let conf = rd_kafka_conf_new()!
        var errbuf = [CChar](repeating: 0, count: 256)
        rd_kafka_conf_set(conf, "log_level", "3", &errbuf, errbuf.count)
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errbuf, errbuf.count)!
        cluster = rd_kafka_mock_cluster_new(rk, brokers)!
        bootstrap = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        // The cluster belongs to the handle that created it: destroy the cluster first.
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(rk)
    }

    /// Creates a topic with `partitions` partitions.
    public func createTopic(_ name: String, partitions: Int32) {
        rd_kafka_mock_topic_create(cluster, name, partitions, 1)
    }
}

/// A plain producer for tests and benchmarks (mock cluster or a real broker).
public final class KafkaTestProducer: @unchecked Sendable {
    // librdkafka producer handles are thread-safe; nothing else is mutable.
    private let rk: OpaquePointer

    public init(brokers: String, properties: [String: String] = [:]) throws(KafkaError) {
        let conf = rd_kafka_conf_new()!
        var errbuf = [CChar](repeating: 0, count: 256)
        for (k, v) in ["bootstrap.servers": brokers, "linger.ms": "5", "log_level": "3"].merging(properties, uniquingKeysWith: { _, b in b }) {
            if rd_kafka_conf_set(conf, k, v, &errbuf, errbuf.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(.config, "\(k): \(errorText(errbuf))")
            }
        }
        guard let h = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errbuf, errbuf.count) else {
            throw KafkaError(.client, errorText(errbuf))
        }
        rk = h
    }

    deinit {
        rd_kafka_flush(rk, 10_000)
        rd_kafka_destroy(rk)
    }

    /// Queues one message (partition `nil` = by key / sticky).
    public func send(topic: String, partition: Int32? = nil, key: String? = nil, value: [UInt8], headers: [(String, String)] = []) throws(KafkaError) {
        let hdrs = headers.isEmpty ? nil : rd_kafka_headers_new(headers.count)
        for (k, v) in headers { rd_kafka_header_add(hdrs, k, -1, v, v.utf8.count) }
        let keyBytes = key.map { Array($0.utf8) }
        while true {
            let err = value.withUnsafeBytes { v in
                (keyBytes ?? []).withUnsafeBytes { k in
                    crdkafka_producev(
                        rk, topic, partition ?? crdkafka_partition_unassigned(), v.baseAddress, v.count,
                        keyBytes == nil ? nil : k.baseAddress, keyBytes?.count ?? 0, hdrs)
                }
            }
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                rd_kafka_poll(rk, 50)
                continue
            }
            if let hdrs { rd_kafka_headers_destroy(hdrs) }
            throw KafkaError(.produce, String(cString: rd_kafka_err2str(err)))
        }
    }

    /// Queues a string message.
    public func send(topic: String, partition: Int32? = nil, key: String? = nil, _ value: String, headers: [(String, String)] = []) throws(KafkaError) {
        try send(topic: topic, partition: partition, key: key, value: Array(value.utf8), headers: headers)
    }

    /// Waits until everything queued is acknowledged.
    public func flush(timeout: Duration = .seconds(30)) throws(KafkaError) {
        let err = rd_kafka_flush(rk, Int32(timeout.components.seconds * 1000))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(.produce, "flush: \(String(cString: rd_kafka_err2str(err)))") }
    }
}

/// Reads what a consumer group committed, and reads topics from the start (for DLQ checks).
public enum KafkaTestInspector {
    /// Committed offsets of `group` for partitions `0..<partitions` of `topic` (-1001 = none).
    public static func committed(brokers: String, group: String, topic: String, partitions: Int32) -> [Int64] {
        let conf = rd_kafka_conf_new()!
        var errbuf = [CChar](repeating: 0, count: 256)
        rd_kafka_conf_set(conf, "bootstrap.servers", brokers, &errbuf, errbuf.count)
        rd_kafka_conf_set(conf, "group.id", group, &errbuf, errbuf.count)
        rd_kafka_conf_set(conf, "log_level", "3", &errbuf, errbuf.count)
        let rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errbuf, errbuf.count)!
        defer { rd_kafka_destroy(rk) }
        let list = rd_kafka_topic_partition_list_new(partitions)!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for p in 0..<partitions { rd_kafka_topic_partition_list_add(list, topic, p) }
        _ = rd_kafka_committed(rk, list, 10_000)
        return (0..<partitions).map { crdkafka_tpl_elem(list, $0)!.pointee.offset }
    }

    /// Every message of `topic` (partitions `0..<partitions`) from the beginning, as (value, headers).
    public static func readAll(brokers: String, topic: String, partitions: Int32, expect: Int, timeout: Duration = .seconds(20)) -> [(value: String, headers: [String: String])] {
        let rk = fromBeginning(brokers: brokers, topic: topic, partitions: partitions)
        defer { rd_kafka_destroy(rk) }
        var out: [(String, [String: String])] = []
        let deadline = ContinuousClock.now + timeout
        while out.count < expect, ContinuousClock.now < deadline {
            guard let m = rd_kafka_consumer_poll(rk, 100) else { continue }
            defer { rd_kafka_message_destroy(m) }
            guard m.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            let value = m.pointee.payload.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: m.pointee.len), as: UTF8.self) } ?? ""
            out.append((value, Dictionary(KafkaMessageHeaders.of(m).map { ($0.0, String(decoding: $0.1, as: UTF8.self)) }, uniquingKeysWith: { a, _ in a })))
        }
        rd_kafka_consumer_close(rk)
        return out
    }

    /// A consumer (no group membership) assigned every partition of `topic` from the first offset;
    /// the caller destroys it.
    static func fromBeginning(brokers: String, topic: String, partitions: Int32, properties: [String: String] = [:]) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errbuf = [CChar](repeating: 0, count: 256)
        let base = ["bootstrap.servers": brokers, "group.id": "inspector-\(UUID().uuidString)", "log_level": "3"]
        for (k, v) in base.merging(properties, uniquingKeysWith: { _, b in b }) { rd_kafka_conf_set(conf, k, v, &errbuf, errbuf.count) }
        let rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errbuf, errbuf.count)!
        rd_kafka_poll_set_consumer(rk)
        let list = rd_kafka_topic_partition_list_new(partitions)!
        for p in 0..<partitions { rd_kafka_topic_partition_list_add(list, topic, p).pointee.offset = -2 }
        rd_kafka_assign(rk, list)
        rd_kafka_topic_partition_list_destroy(list)
        return rk
    }
}

/// The text of a NUL-terminated error buffer librdkafka filled.
private func errorText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
