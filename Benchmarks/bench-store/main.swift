// bench-store: durable enqueue throughput, claim + complete throughput and dispatch throughput of the
// journal, on SQLite and on PostgreSQL side by side in one run.
//
//   swift run -c release bench-store [SECONDS] [--backend sqlite|postgres|both] [--producers 1,16,256]
//       [--seconds S] [--durability full,normal] [--jobs N] [--workers K] [--claim-limit L] [--pool P]
//       [--sections enqueue,claim,dispatch]
//
// Every case gets a fresh journal: a new SQLite file in a temporary folder, or a new database in a
// throwaway PostgreSQL cluster on this machine (BridgeStoreTesting's PostgresServer: 127.0.0.1, fsync
// and synchronous_commit on; `full` keeps synchronous_commit on for the journal's sessions, `normal`
// turns it off), stopped at the end, when a case fails and on Ctrl-C.
//
// Enqueue: N producers each enqueue events (one job each) back to back for S seconds.
// Claim + complete: N jobs pre-filled, then K workers loop claimDue(limit: L) and complete every
// claimed job as delivered (the completions of one claim concurrently) until none is due.
// Both report the group-commit statistics and CPU seconds per 1,000 events or jobs: this process
// (getrusage) and the PostgreSQL server's processes (/proc/PID/stat); PostgreSQL cases also the WAL
// fsyncs they caused (pg_stat_wal).
// Dispatch (SQLite): jobs delivered through the dispatcher to an instant in-process client, and
// through the Airflow client and libcurl to scripts/recording-target.py.
import BridgeCore
import BridgeStore
import BridgeStoreTesting
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

let options = BenchOptions(Array(CommandLine.arguments.dropFirst()))
var backends = options.backends.list
var cluster: BenchCluster?
if backends.contains(.postgres), !options.sections.subtracting([.dispatch]).isEmpty {
    do {
        cluster = try await BenchCluster.start()
    } catch {
        // Asked for both on a machine without PostgreSQL (and not under CI=true): SQLite alone.
        guard options.backends == .both, !PostgresServer.isRequired else {
            FileHandle.standardError.write(Data("bench-store: \(error)\n".utf8))
            exit(1)
        }
        say("postgres: skipped: \(error) (scripts/setup.sh --test installs it)")
        backends.removeAll { $0 == .postgres }
    }
}

func run(_ options: BenchOptions, backends: [StoreConfig.Backend], cluster: BenchCluster?) async throws {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    say("bench-store: \(cores) cores; \(fmt(options.seconds, 1)) s per enqueue case, one job per event, \(body.count)-byte body")
    if let cluster {
        say(
            "postgres: \(cluster.version) on this machine (127.0.0.1, no TLS), fsync = on, synchronous_commit = on (full) / off (normal); "
                + "pool \(options.pool) (\(min(2, options.pool)) enqueue and \(min(2, options.pool)) completion lanes); cluster \(cluster.dataDir)")
    }
    say("sqlite: WAL, synchronous = FULL (full) / NORMAL (normal), one writer with group commit")
    if options.sections.contains(.enqueue) {
        say("")
        say("enqueue: producers each enqueue one event with one job, back to back")
        EnqueueResult.table.header()
        for durability in options.durabilities {
            for producers in options.producers {
                for backend in backends {
                    let r = try await BenchJournal.with(backend, durability: durability, pool: options.pool, cluster: cluster, label: "enqueue") {
                        try await benchEnqueue($0, producers: producers, seconds: options.seconds)
                    }
                    EnqueueResult.table.row(r.cells)
                }
            }
        }
    }
    if options.sections.contains(.claim) {
        say("")
        say(
            "claim + complete: \(options.jobs) jobs pre-filled; \(options.workers) workers loop claimDue(limit: \(options.claimLimit)) "
                + "and complete each claimed job as delivered")
        ClaimResult.table.header()
        for durability in options.durabilities {
            for backend in backends {
                let r = try await BenchJournal.with(backend, durability: durability, pool: options.pool, cluster: cluster, label: "claim") {
                    try await benchClaimComplete($0, jobs: options.jobs, workers: options.workers, limit: options.claimLimit)
                }
                ClaimResult.table.row(r.cells)
            }
        }
    }
    if options.sections.contains(.enqueue) || options.sections.contains(.claim) {
        say("")
        say("ev/commit, ops/commit, largest: operations per group commit (SQLite: every write, claims included; PostgreSQL:")
        say("  enqueues or completions per statement; each PostgreSQL claim is a transaction of its own). fsyncs, ms/fsync:")
        say("  WAL fsyncs of the cluster during the case and their average time (pg_stat_wal). CPU s/1k: CPU seconds per")
        say("  1,000 events or jobs, this process (bench, getrusage) and the PostgreSQL server's processes (pg, /proc).")
    }
    if options.sections.contains(.dispatch), backends.contains(.sqlite) {
        say("")
        try await runDispatchSection()
    }
}

do {
    try await run(options, backends: backends, cluster: cluster)
} catch {
    await cluster?.stop()
    FileHandle.standardError.write(Data("bench-store: \(error)\n".utf8))
    exit(1)
}
await cluster?.stop()
