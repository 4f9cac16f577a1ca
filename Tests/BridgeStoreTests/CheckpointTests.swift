import BridgeStore
import BridgeCore
import Foundation
import Testing

@Suite("WAL checkpoints off the writer")
struct CheckpointTests {
    func walSize(_ dir: TempDir) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: dir.store + "-wal")[.size] as? Int) ?? 0
    }

    func burst(_ journal: Journal, _ prefix: String, _ n: Int) async throws {
        for i in 0..<n {
            _ = try await journal.enqueue(
                event: Event(id: "\(prefix)-\(i)", source: "s", rawBody: Array(String(repeating: "x", count: 800).utf8)),
                jobs: [TriggerJob(rule: "r", target: "t", dagId: "d", conf: ["i": .int(Int64(i))], dagRunId: "r__\(prefix)-\(i)")])
        }
    }

    @Test("commits never checkpoint; the background thread does, and the WAL is reused instead of growing")
    func walIsCheckpointedInTheBackground() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        try await burst(journal, "a", 400)
        let first = walSize(dir)
        #expect(first > 200_000, "\(first)")
        // Give the checkpointer a few rounds; the next commits then start the WAL from the beginning.
        try await Task.sleep(for: .milliseconds(600))
        try await burst(journal, "b", 400)
        let second = walSize(dir)
        // Without background checkpoints the WAL would hold both bursts (about twice the size).
        #expect(second < first + first / 2, "WAL grew from \(first) to \(second) bytes")
        #expect(try await journal.counts().pending == 800)
    }
}
