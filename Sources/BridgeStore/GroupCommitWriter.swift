import GRDB
import Synchronization

/// Counters of the journal's single writer, to show that group commit happens.
public struct WriterStats: Sendable, Equatable {
    /// Transactions committed (one fsync each with `durability: full`).
    public var batches: Int = 0
    /// Write operations (enqueues, claims, completions…) carried by those transactions.
    public var operations: Int = 0
    /// The most operations committed in one transaction.
    public var largestBatch: Int = 0

    public init() {}
}

/// The one writer of a journal: every write operation is queued here and the
/// queue is drained on GRDB's writer dispatch queue (never on Swift's cooperative
/// pool), many operations per transaction.
///
/// While one transaction commits, new operations pile up; the next transaction
/// takes all of them. So with many concurrent callers one fsync serves many
/// operations, and a lone caller still pays only one. An operation that throws
/// rolls its batch back; the batch is then re-run one operation per transaction
/// so only the failing one reports the error.
final class GroupCommitWriter: Sendable {
    /// A queued operation. Its `body` runs on the writer queue only; `complete` is called once.
    final class Item: @unchecked Sendable {  // body/complete touched only on GRDB's serial writer queue
        let body: (Database) throws -> Void
        let complete: ((any Error)?) -> Void

        init(body: @escaping (Database) throws -> Void, complete: @escaping ((any Error)?) -> Void) {
            self.body = body
            self.complete = complete
        }
    }

    /// Holds an operation's result between the writer queue and the resumed caller.
    private final class Box<T>: @unchecked Sendable {  // written on the writer queue before the continuation resumes
        var value: T?
    }

    private struct State {
        var pending: [Item] = []
        /// Work that must run outside any transaction (a WAL truncation), before the next batch.
        var maintenance: [@Sendable (Database) -> Void] = []
        var draining = false
        var stats = WriterStats()
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    /// Most operations per transaction, so one transaction never holds the lock for long.
    private let maxBatch: Int

    init(pool: DatabasePool, maxBatch: Int = 2048) {
        self.pool = pool
        self.maxBatch = maxBatch
    }

    var stats: WriterStats { state.withLock { $0.stats } }

    /// Runs `body` inside a write transaction shared with other callers; returns once committed.
    func submit<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
            let box = Box<T>()
            let item = Item(
                body: { db in box.value = try body(db) },
                complete: { error in
                    if let error { cont.resume(throwing: error) } else { cont.resume(returning: box.value!) }
                })
            queue { $0.pending.append(item) }
        }
    }

    /// Adds work under the lock and starts draining unless a drain is already running.
    private func queue(_ add: (inout State) -> Void) {
        let start = state.withLock { s -> Bool in
            add(&s)
            if s.draining { return false }
            s.draining = true
            return true
        }
        if start { pool.asyncWriteWithoutTransaction { db in self.drain(db) } }
    }

    /// Runs `body` on the writer connection outside any transaction, between two group commits,
    /// without waiting for it. Nothing else writes meanwhile, so `body` never waits for the writer.
    func runBetweenCommits(_ body: @escaping @Sendable (Database) -> Void) {
        queue { $0.maintenance.append(body) }
    }

    private func drain(_ db: Database) {
        while true {
            let (maintenance, batch) = state.withLock { s -> ([@Sendable (Database) -> Void], [Item]) in
                let m = s.maintenance
                s.maintenance = []
                if s.pending.isEmpty {
                    if m.isEmpty { s.draining = false }
                    return (m, [])
                }
                let take = min(s.pending.count, maxBatch)
                let b = Array(s.pending.prefix(take))
                s.pending.removeFirst(take)
                s.stats.batches += 1
                s.stats.operations += b.count
                s.stats.largestBatch = max(s.stats.largestBatch, b.count)
                return (m, b)
            }
            for body in maintenance { body(db) }
            if batch.isEmpty {
                if maintenance.isEmpty { return }
                continue
            }
            run(batch, db)
        }
    }

    private func run(_ batch: [Item], _ db: Database) {
        do {
            try db.inTransaction(.immediate) {
                for item in batch { try item.body(db) }
                return .commit
            }
            for item in batch { item.complete(nil) }
        } catch {
            if batch.count == 1 {
                batch[0].complete(error)
                return
            }
            for item in batch {
                do {
                    try db.inTransaction(.immediate) {
                        try item.body(db)
                        return .commit
                    }
                    item.complete(nil)
                } catch {
                    item.complete(error)
                }
            }
        }
    }
}
