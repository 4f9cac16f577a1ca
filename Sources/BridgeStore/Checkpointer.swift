import Foundation
import GRDB
import Logging
import Synchronization

/// Copies the WAL back into the database file from its own connection and thread, so commits
/// never do it.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages: that commit
/// (and every enqueue waiting for the next group commit) stalls for the copy and its fsyncs, tens
/// of milliseconds at the tail. The journal turns the automatic checkpoint off on its connections
/// and this thread runs `PRAGMA wal_checkpoint(PASSIVE)` instead, which never takes the write lock:
/// writers keep appending while it copies, and SQLite restarts the WAL from the start once a
/// checkpoint has caught up.
///
/// Under a steady stream of commits a passive checkpoint may never catch up, so once the WAL file
/// passes ``walLimit`` bytes it is truncated. Not from this thread: a `TRUNCATE` checkpoint from a
/// second connection must wait for the writer's lock, and while it waits SQLite holds back every
/// new commit (a 40–170 ms stall every few seconds under load). The truncation is handed to the
/// writer instead, which runs it between two group commits: nothing else writes then, the passive
/// checkpoints have already copied all but the last few frames, and it does not wait for readers
/// (a busy answer means "try again at the next round").
final class Checkpointer: Sendable {
    /// WAL size that triggers a truncation.
    let walLimit: Int
    /// Most WAL frames (4 KiB pages) a truncation may have to copy on the writer: ~4 MiB.
    static let handOffFrames = 1000

    private struct State {
        var stopped = false
        /// A truncation handed to the writer and not run yet.
        var truncating = false
        /// The last checkpoint's WAL frames and how many of them are in the database file.
        var last: (frames: Int, checkpointed: Int, count: Int)?
        var truncations = 0
    }
    private let state = Mutex(State())

    /// Starts the thread; `interval` is the pause between checkpoints in seconds.
    /// - Parameters:
    ///   - writer: runs the truncations.
    ///   - busyTimeout: the writer connection's busy timeout in seconds, restored after a truncation.
    init(path: String, interval: Double = 0.1, walLimit: Int = 64 << 20, writer: GroupCommitWriter, busyTimeout: Double, logger: Logger) throws {
        self.walLimit = walLimit
        var c = Configuration()
        c.busyMode = .timeout(1)
        c.label = "dagbridge.checkpoint"
        let queue = try DatabaseQueue(path: path, configuration: c)
        let wal = path + "-wal"
        let restoreTimeout = "PRAGMA busy_timeout = \(Int(busyTimeout * 1000))"
        let thread = Thread { [self] in
            var lastError: String?
            var overSince: Int?  // truncations completed when the WAL was last seen below the limit
            var roundsOver = 0
            while !self.isStopped {
                Thread.sleep(forTimeInterval: interval)
                if self.isStopped { break }
                // Frames the passive checkpoint left for the writer to copy (nil: it did not run).
                var remainder: Int?
                do {
                    let row = try queue.writeWithoutTransaction { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") }
                    if let row {
                        self.state.withLock { $0.last = (row[1], row[2], ($0.last?.count ?? 0) + 1) }
                        if row[0] as Int == 0 { remainder = max(0, row[1] - row[2] as Int) }
                    }
                    lastError = nil
                } catch {
                    let text = "\(error)"
                    if text != lastError { logger.warning("WAL checkpoint failed; will retry", metadata: ["error": "\(text)"]) }
                    lastError = text
                }
                let size = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
                guard size > walLimit else {
                    overSince = nil
                    roundsOver = 0
                    continue
                }
                // Say so once if the WAL stays above the limit for long (readers holding old snapshots).
                let done = self.truncations
                if overSince != done {
                    overSince = done
                    roundsOver = 0
                }
                roundsOver += 1
                if roundsOver == Int(30 / interval) {
                    logger.warning(
                        "the WAL stays above its limit; a long read may be holding checkpoints back",
                        metadata: ["wal_bytes": "\(size)", "limit": "\(walLimit)"])
                }
                // The writer copies what the passive checkpoint left; hand it over only when that is
                // a few frames, unless the WAL has grown far past the limit.
                guard (remainder ?? Int.max) <= Self.handOffFrames || size > 4 * walLimit else { continue }
                let claimed = self.state.withLock { s -> Bool in
                    if s.truncating { return false }
                    s.truncating = true
                    return true
                }
                guard claimed else { continue }
                writer.runBetweenCommits { db in
                    defer { self.state.withLock { $0.truncating = false } }
                    do {
                        try db.execute(sql: "PRAGMA busy_timeout = 0")
                        defer {
                            do { try db.execute(sql: restoreTimeout) } catch {
                                logger.error("cannot restore the writer's busy timeout", metadata: ["error": "\(error)"])
                            }
                        }
                        let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                        if let row, row[0] as Int == 0 { self.state.withLock { $0.truncations += 1 } }
                    } catch {
                        logger.debug("WAL truncation deferred", metadata: ["error": "\(error)"])
                    }
                }
            }
        }
        thread.name = "dagbridge-checkpoint"
        thread.start()
    }

    /// The WAL frames and checkpointed frames seen by the last passive checkpoint, and how many
    /// have run (nil before the first).
    var lastResult: (frames: Int, checkpointed: Int, count: Int)? { state.withLock { $0.last } }

    /// WAL truncations completed by the writer.
    var truncations: Int { state.withLock { $0.truncations } }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    /// Ends the thread after its current pause.
    func stop() { state.withLock { $0.stopped = true } }
}
