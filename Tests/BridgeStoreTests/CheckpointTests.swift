@_spi(Testing) @testable import BridgeStore
import BridgeCore
import Foundation
import Testing

@Suite("WAL checkpoints off the writer")
struct CheckpointTests {
    func burst(_ journal: Journal, _ prefix: String, _ n: Int) async throws {
        for i in 0..<n {
            _ = try await journal.enqueue(
                event: Event(id: "\(prefix)-\(i)", source: "s", rawBody: Array(String(repeating: "x", count: 800).utf8)),
                jobs: [TriggerJob(rule: "r", target: "t", dagId: "d", conf: ["i": .int(Int64(i))], dagRunId: "r__\(prefix)-\(i)")])
        }
    }

    @Test("commits never checkpoint; the background thread does, and the WAL then starts over")
    func walIsCheckpointedInTheBackground() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        // 300 commits, several WAL frames each; the writer's own automatic checkpoint is off.
        try await burst(journal, "a", 300)
        // The background thread catches up with every frame (however loaded the machine is).
        // A checkpoint that started after the burst has copied every frame.
        let before = journal.checkpointer.lastResult?.count ?? 0
        var caughtUp = false
        for _ in 0..<600 where !caughtUp {
            if let r = journal.checkpointer.lastResult, r.count > before + 1, r.frames > 0, r.frames == r.checkpointed { caughtUp = true } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(caughtUp, "\(String(describing: journal.checkpointer.lastResult))")
        // The next commit starts the WAL from the beginning: a few frames, not the whole history
        // (without background checkpoints the WAL would hold every frame of all 301 commits).
        try await burst(journal, "b", 1)
        let frames = try await journal.walFrames()
        #expect(frames > 0, "WAL frames after the restart: \(frames)")
        #expect(frames < 50, "WAL frames after the restart: \(frames)")
        #expect(try await journal.counts().pending == 301)
    }

    @Test("past the WAL limit the writer truncates the WAL between two group commits, while commits keep coming; nothing is lost")
    func walIsTruncatedByTheWriter() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let limit = 256 << 10
        let journal = try Journal(config: StoreConfig(path: dir.store), walLimit: limit)
        let wal = dir.store + "-wal"
        func walSize() -> Int { (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0 }
        // Eight producers commit without pause until the writer has truncated twice (each commit
        // adds a few frames, so the WAL passes the limit within a fraction of a second).
        let produced = try await withThrowingTaskGroup(of: Int.self) { group in
            for p in 0..<8 {
                group.addTask {
                    var n = 0
                    while journal.checkpointer.truncations < 2 && n < 1500 {
                        try await self.burst(journal, "p\(p)-\(n)", 1)
                        n += 1
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(journal.checkpointer.truncations >= 2, "truncations: \(journal.checkpointer.truncations), WAL \(walSize()) bytes")
        // Once the commits stop, the WAL ends below the limit (a truncation empties it).
        var settled = false
        for _ in 0..<200 where !settled {
            if walSize() <= limit { settled = true } else { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(settled, "WAL still \(walSize()) bytes")
        #expect(try await journal.counts().pending == produced)
    }
}
