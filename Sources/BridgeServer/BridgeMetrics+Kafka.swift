public import BridgeKafka
import Prometheus

/// Kafka consumer metrics: messages consumed per topic, lag per partition, paused partitions, rebalances.
extension BridgeMetrics: KafkaConsumerObserver {
    public func consumed(source: String, topic: String, count: Int) {
        registry.makeCounter(descriptor: d("kafka_messages_consumed", "total", "Kafka messages consumed, by topic"), labels: [("source", source), ("topic", topic)])
            .increment(by: Int64(count))
    }

    public func lag(source: String, topic: String, partition: Int32, lag: Int64) {
        registry.makeGauge(
            descriptor: d("kafka_consumer_lag", "messages", "High watermark minus the consumer's position, per assigned partition"),
            labels: [("source", source), ("topic", topic), ("partition", String(partition))]
        ).set(Double(lag))
    }

    public func unassigned(source: String, topic: String, partition: Int32) {
        // Another member reports this partition now; 0 here keeps sums across replicas right.
        lag(source: source, topic: topic, partition: partition, lag: 0)
    }

    public func paused(source: String, partitions: Int) {
        registry.makeGauge(descriptor: d("kafka_paused", "partitions", "Partitions paused because the journal is above high water"), labels: [("source", source)])
            .set(Double(partitions))
    }

    public func rebalance(source: String, kind: String) {
        registry.makeCounter(descriptor: d("kafka_rebalances", "total", "Consumer group rebalances (assign, revoke)"), labels: [("source", source), ("kind", kind)])
            .increment()
    }
}
