import Foundation
import GRDB
import Logging
import Synchronization

/// Copies the WAL back into the database file from its own connection and thread, so the writer
/// never does it.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages: that commit
/// (and every enqueue waiting for the next group commit) stalls for the copy and its fsyncs, tens
/// of milliseconds at the tail. The journal turns the automatic checkpoint off on its connections
/// and this thread runs `PRAGMA wal_checkpoint(PASSIVE)` instead, which never takes the write lock:
/// writers keep appending while it copies, and SQLite restarts the WAL from the start once a
/// checkpoint has caught up. Under a steady stream of commits a passive checkpoint may never
/// catch up, so once the WAL file passes ``walLimit`` bytes one `TRUNCATE` checkpoint (which
/// waits briefly for the writer, then resets the file) bounds it.
final class Checkpointer: Sendable {
    /// WAL size that triggers a blocking `TRUNCATE` checkpoint.
    static let walLimit = 64 << 20

    private let stopped = Mutex(false)
    /// The last checkpoint's WAL frames and how many of them are in the database file.
    private let last = Mutex<(frames: Int, checkpointed: Int, count: Int)?>(nil)

    /// Starts the thread; `interval` is the pause between checkpoints in seconds.
    init(path: String, interval: Double = 0.1, logger: Logger) throws {
        var c = Configuration()
        c.busyMode = .timeout(1)
        c.label = "dagbridge.checkpoint"
        let queue = try DatabaseQueue(path: path, configuration: c)
        let wal = path + "-wal"
        let thread = Thread { [self] in
            var lastError: String?
            while !self.isStopped {
                Thread.sleep(forTimeInterval: interval)
                if self.isStopped { break }
                do {
                    let size = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
                    let mode = size > Self.walLimit ? "TRUNCATE" : "PASSIVE"
                    let row = try queue.writeWithoutTransaction { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(\(mode))") }
                    if let row { self.last.withLock { $0 = (row[1], row[2], ($0?.count ?? 0) + 1) } }
                    lastError = nil
                } catch {
                    let text = "\(error)"
                    if text != lastError { logger.warning("WAL checkpoint failed; will retry", metadata: ["error": "\(text)"]) }
                    lastError = text
                }
            }
        }
        thread.name = "dagbridge-checkpoint"
        thread.start()
    }

    /// The WAL frames and checkpointed frames seen by the last checkpoint, and how many
    /// checkpoints have run (nil before the first).
    var lastResult: (frames: Int, checkpointed: Int, count: Int)? { last.withLock { $0 } }

    private var isStopped: Bool { stopped.withLock { $0 } }

    /// Ends the thread after its current pause.
    func stop() { stopped.withLock { $0 = true } }
}
