import Foundation

/// Where a consumer's batches run through the sink (rules, rendering, preparing the journal write):
/// one serial dispatch queue per consumer.
///
/// `dagbridge serve` makes NIO's event loops Swift's global executor. Without this preference a
/// batch of up to `batch_size` matched records would be evaluated on an event loop and hold up
/// that loop's HTTP requests for the whole batch.
final class SinkExecutor: TaskExecutor, @unchecked Sendable {  // the queue is thread-safe; nothing else is stored
    private let queue: DispatchQueue
    private static let key = DispatchSpecificKey<Bool>()

    init(label: String) {
        queue = DispatchQueue(label: label)
        queue.setSpecific(key: Self.key, value: true)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// `true` on a sink executor's queue (a test looks from inside the sink).
    static var isCurrent: Bool { DispatchQueue.getSpecific(key: key) ?? false }
}

extension KafkaConsumer {
    /// `true` when called on a consumer's sink executor; tests check the sink runs there.
    @_spi(Testing) public static var isOnSinkExecutor: Bool { SinkExecutor.isCurrent }
}
