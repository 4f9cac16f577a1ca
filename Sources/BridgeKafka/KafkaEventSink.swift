public import BridgeCore

/// One consumed message as the sink sees it: the event, or why it is poison.
public struct KafkaRecord: Sendable {
    /// The event built from the message (for a poison message, its body is the value as a string).
    public var event: Event
    /// Why the message cannot be processed (not JSON when JSON is expected); `nil` when it is fine.
    public var poison: String?

    public init(event: Event, poison: String? = nil) {
        self.event = event
        self.poison = poison
    }
}

/// Where a Kafka consumer delivers its messages: rules + journal in the service, a recorder in tests.
public protocol KafkaEventSink: Sendable {
    /// A first look for one batch (taken with the rules in force when the batch is processed), or
    /// `nil` to build and accept every message. Default: `nil`.
    func screener() -> (any KafkaScreener)?
    /// `count` messages of a batch were screened out: counted as received, their offsets stored
    /// like any other, never built into events or accepted.
    func screenedOut(_ count: Int, source: String)
    /// Processes a batch in order and returns only when every resulting job and dead letter is durable.
    /// - Returns: for each record that became a dead letter (poison, or a rule that cannot render), its
    ///   index in `records` and the reason, so the consumer can also produce it to the `dlq_topic`.
    /// - Throws: when the batch could not be made durable; the consumer retries it and stores no offset.
    func accept(_ records: [KafkaRecord]) async throws -> [(index: Int, reason: String)]
    /// `true` while the journal is above its high-water mark (until it falls below low water).
    var isBackpressured: Bool { get }
}

/// A cheap first look at a JSON message before the consumer builds its event (on the consumer thread).
public protocol KafkaScreener {
    /// The envelope members ``mayProduce(rawBody:envelopeBase:source:)`` reads; the consumer builds only these.
    var fields: Event.EnvelopeFields { get }
    /// `false` when nothing can come of the message; `true` for a value that is not JSON (it becomes a poison record).
    /// - Parameter envelopeBase: the envelope without `body`, holding at least ``fields``.
    func mayProduce(rawBody: UnsafeRawBufferPointer, envelopeBase: JSONObject, source: String) -> Bool
}

extension KafkaEventSink {
    public func screener() -> (any KafkaScreener)? { nil }
    public func screenedOut(_ count: Int, source: String) {}
}

/// Receives the consumer's metrics (Prometheus in the service).
public protocol KafkaConsumerObserver: Sendable {
    /// `count` messages consumed from `topic`.
    func consumed(source: String, topic: String, count: Int)
    /// Consumer lag (high watermark minus position) of one assigned partition.
    func lag(source: String, topic: String, partition: Int32, lag: Int64)
    /// A partition left the assignment: its lag gauge should go.
    func unassigned(source: String, topic: String, partition: Int32)
    /// How many partitions are paused now.
    func paused(source: String, partitions: Int)
    /// A rebalance (`assign` or `revoke`) happened.
    func rebalance(source: String, kind: String)
}

/// An observer that records nothing.
public struct NoKafkaObserver: KafkaConsumerObserver {
    public init() {}
    public func consumed(source: String, topic: String, count: Int) {}
    public func lag(source: String, topic: String, partition: Int32, lag: Int64) {}
    public func unassigned(source: String, topic: String, partition: Int32) {}
    public func paused(source: String, partitions: Int) {}
    public func rebalance(source: String, kind: String) {}
}
