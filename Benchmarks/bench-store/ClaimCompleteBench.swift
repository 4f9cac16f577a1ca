import BridgeCore
import BridgeStore
import Foundation

/// Claim + complete: `jobs` jobs are in the journal; K workers each loop `claimDue(limit:)` and
/// complete every claimed job as delivered, the completions of one claim concurrently (as the
/// dispatcher completes calls that run side by side), until nothing is due.
struct ClaimResult {
    var backend: StoreConfig.Backend
    var durability: StoreConfig.Durability
    var jobs: Int
    var workers: Int
    var limit: Int
    var perSecond: Double
    var claims: Int
    var prefillSeconds: Double
    var writer: WriterStats
    var cpu: CPUMeter.Reading
    var wal: BenchCluster.WALStats?

    static let table = Table(columns: [
        ("backend", 9), ("durability", 11), ("jobs", 8), ("workers", 8), ("jobs/s", 9), ("claims", 8), ("commits", 8),
        ("ops/commit", 11), ("largest", 8), ("fsyncs", 8), ("ms/fsync", 9), ("CPU s/1k: bench", 16), ("pg", 7), ("total", 7),
    ])

    var cells: [String] {
        let k = Double(max(1, jobs)) / 1000
        return [
            backend.rawValue, durability.rawValue, "\(jobs)", "\(workers)", fmt(perSecond), "\(claims)", "\(writer.batches)",
            fmt(Double(writer.operations) / Double(max(1, writer.batches)), 1), "\(writer.largestBatch)",
            wal.map { fmt($0.syncs) } ?? "-", wal.map { fmt($0.syncMilliseconds / max(1, $0.syncs), 2) } ?? "-",
            fmt(cpu.process / k, 3), backend == .postgres ? fmt(cpu.server / k, 3) : "-", fmt((cpu.process + cpu.server) / k, 3),
        ]
    }
}

func benchClaimComplete(_ j: BenchJournal, jobs: Int, workers: Int, limit: Int) async throws -> ClaimResult {
    let journal = j.journal
    // Pre-fill (not measured): 4 writers, 500 events of one job each per call.
    let prefillStart = ContinuousClock.now
    let chunk = 500
    try await withThrowingTaskGroup(of: Void.self) { group in
        for w in 0..<4 {
            group.addTask {
                var from = w * chunk
                while from < jobs {
                    let entries = (from..<min(jobs, from + chunk)).map { i in
                        JobStoreEntry(event: event("c\(i)"), jobs: [job("c\(i)")], failures: [])
                    }
                    try await journal.enqueueBatch(entries)
                    from += 4 * chunk
                }
            }
        }
        try await group.waitForAll()
    }
    let prefill = (ContinuousClock.now - prefillStart).seconds
    if let cluster = j.cluster {
        // What autovacuum would do soon after such a bulk load (so it does not run during the
        // measurement), and no checkpoint of the pre-fill in the measurement either.
        try await cluster.psql("VACUUM ANALYZE", database: j.database ?? "")
        try await cluster.checkpoint()
    }
    let walBefore = try await j.walStats()
    let statsBefore = j.writerStats()
    let cpuBefore = j.meter.read()
    let start = ContinuousClock.now
    let (done, claims) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
        for _ in 0..<workers {
            group.addTask {
                var done = 0, claims = 0
                while true {
                    let batch = try await journal.claimDue(target: "prod", limit: limit, now: Date())
                    claims += 1
                    // Nothing due: what is left is in flight with the other workers.
                    if batch.isEmpty { return (done, claims) }
                    try await withThrowingTaskGroup(of: Void.self) { g in
                        for claimed in batch {
                            g.addTask { try await journal.complete(jobID: claimed.id, attempt: deliveredAttempt(), transition: .delivered) }
                        }
                        try await g.waitForAll()
                    }
                    done += batch.count
                }
            }
        }
        var total = (0, 0)
        for try await (n, c) in group { total = (total.0 + n, total.1 + c) }
        return total
    }
    let elapsed = (ContinuousClock.now - start).seconds
    let cpu = j.meter.read() - cpuBefore
    let stats = j.writerStats()
    let delivered = try await journal.counts().delivered
    guard done == jobs, delivered == jobs else {
        throw BridgeError(.io, "claim + complete on \(j.backend.rawValue): \(done) jobs completed, \(delivered) delivered, of \(jobs)")
    }
    var wal: BenchCluster.WALStats?
    if let walBefore {
        await j.closeJournal()
        try await Task.sleep(for: .milliseconds(300))  // the backends exit and report their counters
        wal = try await j.walStats().map { $0 - walBefore }
    }
    var writer = WriterStats()
    writer.batches = stats.batches - statsBefore.batches
    writer.operations = stats.operations - statsBefore.operations
    writer.largestBatch = stats.largestBatch
    return ClaimResult(
        backend: j.backend, durability: j.durability, jobs: jobs, workers: workers, limit: limit, perSecond: Double(jobs) / elapsed,
        claims: claims, prefillSeconds: prefill, writer: writer, cpu: cpu, wal: wal)
}
