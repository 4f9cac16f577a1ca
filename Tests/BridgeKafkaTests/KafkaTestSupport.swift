import BridgeConfig
import BridgeCore
@_spi(Testing) import BridgeKafka
import Foundation
import Logging
import Synchronization

/// A sink that records what it accepts, with switches for backpressure and failure.
final class RecordingSink: KafkaEventSink {
    struct State {
        var events: [Event] = []
        var poison: [(Event, String)] = []
        var backpressured = false
        var failing = false
        var calls = 0
        /// Calls that did not run on the consumer's own sink executor.
        var callsElsewhere = 0
    }

    let state = Mutex(State())

    var isBackpressured: Bool { state.withLock { $0.backpressured } }

    func accept(_ records: [KafkaRecord]) async throws -> [(index: Int, reason: String)] {
        let onSinkExecutor = KafkaConsumer.isOnSinkExecutor
        return try state.withLock { s in
            s.calls += 1
            if !onSinkExecutor { s.callsElsewhere += 1 }
            if s.failing { throw KafkaError(.client, "journal down (test)") }
            var dead: [(Int, String)] = []
            for (i, r) in records.enumerated() {
                if let p = r.poison {
                    s.poison.append((r.event, p))
                    dead.append((i, p))
                } else {
                    s.events.append(r.event)
                }
            }
            return dead
        }
    }

    var events: [Event] { state.withLock { $0.events } }
    var calls: (all: Int, elsewhere: Int) { state.withLock { ($0.calls, $0.callsElsewhere) } }
    var poison: [(Event, String)] { state.withLock { $0.poison } }
}

enum KafkaTest {
    static let logger: Logger = {
        var l = Logger(label: "kafka-test")
        l.logLevel = ProcessInfo.processInfo.environment["KAFKA_TEST_LOG"] != nil ? .debug : .critical
        return l
    }()

    /// A source config for tests: fast group joins and commits.
    static func config(name: String = "orders", brokers: String, topics: [String], group: String, extra: [String: String] = [:]) -> KafkaSourceConfig {
        var c = KafkaSourceConfig(name: name, brokers: [brokers], topics: topics, groupID: group)
        c.commitInterval = 0.2
        let props = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "300", "topic.metadata.refresh.interval.ms": "1000", "log_level": "4"]
            .merging(extra, uniquingKeysWith: { _, b in b })
        c.properties = props.sorted { $0.key < $1.key }.map { ($0.key, Secret($0.value)) }
        return c
    }

    /// Polls `condition` until it holds or `timeout` passes (generous: under a full parallel test run the
    /// consumer task may wait seconds for a cooperative-pool thread before it even joins the group).
    static func eventually(_ timeout: Duration = .seconds(60), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }
}

/// Runs a consumer in a task; `stop()` ends it gracefully.
final class RunningConsumer: Sendable {
    let consumer: KafkaConsumer
    let task: Task<Void, any Error>

    init(_ consumer: KafkaConsumer) {
        self.consumer = consumer
        task = Task { try await consumer.run() }
    }

    func stop() async throws {
        consumer.stop()
        try await task.value
    }
}
