import BridgeCore
import BridgeStore
import Foundation

/// N producers each enqueue events (one job each) back to back for a fixed time.
struct EnqueueResult {
    var backend: StoreConfig.Backend
    var durability: StoreConfig.Durability
    var producers: Int
    var events: Int
    var perSecond: Double
    /// Enqueue latency, milliseconds.
    var p50: Double
    var p99: Double
    var writer: WriterStats
    var cpu: CPUMeter.Reading
    var wal: BenchCluster.WALStats?

    static let table = Table(columns: [
        ("backend", 9), ("durability", 11), ("producers", 10), ("events", 8), ("events/s", 10), ("p50 ms", 8), ("p99 ms", 8),
        ("ev/commit", 10), ("largest", 8), ("fsyncs", 8), ("ms/fsync", 9), ("CPU s/1k: bench", 16), ("pg", 7), ("total", 7),
    ])

    var cells: [String] {
        let k = Double(max(1, events)) / 1000
        return [
            backend.rawValue, durability.rawValue, "\(producers)", "\(events)", fmt(perSecond), fmt(p50, 2), fmt(p99, 2),
            fmt(Double(writer.operations) / Double(max(1, writer.batches)), 1), "\(writer.largestBatch)",
            wal.map { fmt($0.syncs) } ?? "-", wal.map { fmt($0.syncMilliseconds / max(1, $0.syncs), 2) } ?? "-",
            fmt(cpu.process / k, 3), backend == .postgres ? fmt(cpu.server / k, 3) : "-", fmt((cpu.process + cpu.server) / k, 3),
        ]
    }
}

func benchEnqueue(_ j: BenchJournal, producers: Int, seconds: Double) async throws -> EnqueueResult {
    let journal = j.journal
    if let cluster = j.cluster { try await cluster.checkpoint() }
    let walBefore = try await j.walStats()
    let statsBefore = j.writerStats()
    let cpuBefore = j.meter.read()
    let start = ContinuousClock.now
    let end = start.advanced(by: .milliseconds(Int64(seconds * 1000)))
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for p in 0..<producers {
            group.addTask {
                var lat: [Double] = []
                var i = 0
                while ContinuousClock.now < end {
                    let id = "\(p)-\(i)"
                    let t0 = ContinuousClock.now
                    _ = try await journal.enqueue(event: event(id), jobs: [job(id)])
                    lat.append((ContinuousClock.now - t0).seconds)
                    i += 1
                }
                return lat
            }
        }
        var all: [Double] = []
        for try await l in group { all += l }
        return all.sorted()
    }
    let elapsed = (ContinuousClock.now - start).seconds
    let cpu = j.meter.read() - cpuBefore
    let stats = j.writerStats()
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
    return EnqueueResult(
        backend: j.backend, durability: j.durability, producers: producers, events: latencies.count,
        perSecond: Double(latencies.count) / elapsed, p50: percentile(latencies, 0.5) * 1000, p99: percentile(latencies, 0.99) * 1000,
        writer: writer, cpu: cpu, wal: wal)
}
