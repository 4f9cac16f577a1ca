import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// One Kafka source as a `Service`: a consumer-group member that turns messages into events, hands
/// them to a ``KafkaEventSink`` (rules + journal), and stores each partition's offset only after
/// that message and every earlier one of its partition are durable.
///
/// librdkafka's blocking calls run on a dedicated thread, never on Swift's cooperative pool. The
/// thread polls, decodes a batch, waits for the sink, stores the offsets, commits them every
/// `commit_interval`, on partition revocation and on shutdown. While the sink is backpressured
/// (or failing), the assigned partitions are paused and the thread keeps polling, so the group
/// membership survives any slowdown of Airflow.
public final class KafkaConsumer: Service, Sendable {
    /// A snapshot of the consumer's state, for tests and the admin API.
    public struct Status: Sendable, Equatable {
        public var assigned = 0
        public var paused = 0
        public var consumed = 0
        public var rebalances = 0
        public var deadLetters = 0
        /// Offsets stored (next offset to read) per `topic/partition`.
        public var stored: [String: Int64] = [:]
    }

    public let config: KafkaSourceConfig
    let sink: any KafkaEventSink
    let observer: any KafkaConsumerObserver
    let logger: Logger
    let stopping = Atomic<Bool>(false)
    let state = Mutex(Status())

    public init(config: KafkaSourceConfig, sink: any KafkaEventSink, observer: any KafkaConsumerObserver = NoKafkaObserver(), logger: Logger) {
        self.config = config
        self.sink = sink
        self.observer = observer
        var log = logger
        log[metadataKey: "source"] = "\(config.name)"
        self.logger = log
    }

    /// The current status.
    public var status: Status { state.withLock { $0 } }

    /// Runs the consumer thread until graceful shutdown or cancellation, then commits and leaves the group.
    /// - Throws: ``KafkaError`` when the client cannot be created or subscribed.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, any Error>) in
                    let thread = Thread { [self] in
                        do {
                            let loop = try ConsumerLoop(owner: self)
                            loop.run()
                            cont.resume()
                        } catch {
                            cont.resume(throwing: error)
                        }
                    }
                    thread.name = "kafka-\(config.name)"
                    thread.start()
                }
            } onCancel: {
                stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Asks the consumer thread to finish its batch, commit and leave the group.
    public func stop() { stopping.store(true, ordering: .relaxed) }
}
