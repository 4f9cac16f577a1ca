import Synchronization

/// Group commit for a database reached over the network: callers submit one item each and wait;
/// up to `lanes` flushes run at once, each taking every item queued when it starts (at most
/// `maxBatch`), as one statement. With many concurrent callers a round trip and a commit serve
/// many items; a lone caller pays one.
final class Batcher<Item: Sendable, Output: Sendable>: Sendable {
    typealias Flush = @Sendable ([Item]) async throws -> [Output]

    private struct Waiter: Sendable {
        let item: Item
        let continuation: CheckedContinuation<Output, any Error>
    }

    private struct State: Sendable {
        var queue: [Waiter] = []
        var running = 0
        var stats = WriterStats()
    }

    private let state = Mutex(State())
    private let flush: Flush
    /// When a flush of several items fails for a reason of one item (an SQL error, not a lost
    /// connection), each item is tried alone so only the bad one reports the error.
    private let isPerItem: @Sendable (any Error) -> Bool
    private let maxBatch: Int
    private let lanes: Int

    init(lanes: Int, maxBatch: Int, isPerItem: @escaping @Sendable (any Error) -> Bool, flush: @escaping Flush) {
        self.lanes = max(1, lanes)
        self.maxBatch = max(1, maxBatch)
        self.isPerItem = isPerItem
        self.flush = flush
    }

    var stats: WriterStats { state.withLock { $0.stats } }

    func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { s -> Bool in
                s.queue.append(Waiter(item: item, continuation: continuation))
                guard s.running < lanes else { return false }
                s.running += 1
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch: [Waiter] = state.withLock { s in
                if s.queue.isEmpty {
                    s.running -= 1
                    return []
                }
                let n = min(maxBatch, s.queue.count)
                let b = Array(s.queue.prefix(n))
                s.queue.removeFirst(n)
                s.stats.batches += 1
                s.stats.operations += n
                s.stats.largestBatch = max(s.stats.largestBatch, n)
                return b
            }
            if batch.isEmpty { return }
            await run(batch)
        }
    }

    private func run(_ batch: [Waiter]) async {
        do {
            let out = try await flush(batch.map(\.item))
            precondition(out.count == batch.count, "a flush returns one output per item")
            for (w, o) in zip(batch, out) { w.continuation.resume(returning: o) }
        } catch {
            guard batch.count > 1, isPerItem(error) else {
                for w in batch { w.continuation.resume(throwing: error) }
                return
            }
            for w in batch {
                do {
                    let out = try await flush([w.item])
                    w.continuation.resume(returning: out[0])
                } catch {
                    w.continuation.resume(throwing: error)
                }
            }
        }
    }
}
