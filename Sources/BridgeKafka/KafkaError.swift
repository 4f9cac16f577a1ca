/// An error from the Kafka source: a code to branch on, a message a person can act on.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure (grows without breaking callers).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String { case config, client, subscribe, produce }
        private let value: Value
        private init(_ v: Value) { value = v }
        /// A property or setting librdkafka refused.
        public static let config = Code(.config)
        /// The client could not be created or failed fatally.
        public static let client = Code(.client)
        /// The topic subscription was refused.
        public static let subscribe = Code(.subscribe)
        /// A dead-letter record could not be produced.
        public static let produce = Code(.produce)
        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    public var description: String { "kafka \(code): \(message)" }
}
