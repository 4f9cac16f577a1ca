import CRdKafka

/// The text of a NUL-terminated error buffer librdkafka filled.
func errorText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The linked librdkafka's version.
public enum KafkaVersion {
    /// `rd_kafka_version_str()`, e.g. `2.0.2`.
    public static var string: String { String(cString: rd_kafka_version_str()) }
}
