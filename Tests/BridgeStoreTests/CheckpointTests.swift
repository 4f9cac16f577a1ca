@testable import BridgeStore
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
}
