import BridgeStore
import Foundation

/// What one `bench-store` run measures (the command line).
///
/// `bench-store [SECONDS] [--backend sqlite|postgres|both] [--producers 1,16,256] [--seconds S]
/// [--durability full,normal] [--jobs N] [--workers K] [--claim-limit L] [--pool P]
/// [--sections enqueue,claim,dispatch]`. A bare number as the first argument is the seconds per
/// enqueue case, as before the options existed.
struct BenchOptions {
    enum Backends: String {
        case sqlite, postgres, both

        var list: [StoreConfig.Backend] {
            switch self {
            case .sqlite: [.sqlite]
            case .postgres: [.postgres]
            case .both: [.sqlite, .postgres]
            }
        }
    }

    enum Section: String, CaseIterable {
        /// Producers enqueuing events (one job each) for `seconds`.
        case enqueue
        /// Workers claiming and completing `jobs` pre-filled jobs.
        case claim
        /// The dispatcher delivering to an instant client and to the HTTP stub (SQLite only).
        case dispatch
    }

    /// `--backend` (default both).
    var backends = Backends.both
    /// `--producers` (default 1,16,256).
    var producers = [1, 16, 256]
    /// `--seconds`, or the first bare number (default 3): how long each enqueue case runs.
    var seconds = 3.0
    /// `--durability` (default full,normal): `full` fsyncs every commit (SQLite `synchronous = FULL`,
    /// PostgreSQL `synchronous_commit = on`); `normal` does not wait for it.
    var durabilities: [StoreConfig.Durability] = [.full, .normal]
    /// `--jobs` (default 50,000): jobs pre-filled for claim + complete.
    var jobs = 50_000
    /// `--workers` (default 16): concurrent claim + complete loops.
    var workers = 16
    /// `--claim-limit` (default 64): jobs per claim.
    var claimLimit = 64
    /// `--pool` (default the product's, 8): PostgreSQL connections per journal; the journal runs
    /// pool / 2 enqueue lanes and as many completion lanes.
    var pool = StoreConfig().pool
    /// `--sections` (default all).
    var sections = Set(Section.allCases)

    static let usage = """
        usage: bench-store [SECONDS] [--backend sqlite|postgres|both] [--producers 1,16,256] [--seconds S]
                           [--durability full,normal] [--jobs N] [--workers K] [--claim-limit L] [--pool P]
                           [--sections enqueue,claim,dispatch]
        """

    /// Reads the arguments; prints the usage and exits with 2 on a mistake.
    init(_ arguments: [String]) {
        var it = arguments.makeIterator()
        var first = true
        func fail(_ why: String) -> Never {
            FileHandle.standardError.write(Data("bench-store: \(why)\n\(Self.usage)\n".utf8))
            exit(2)
        }
        func list<T>(_ name: String, _ text: String?, _ parse: (String) -> T?) -> [T] {
            let parts = (text ?? "").split(separator: ",").map(String.init)
            let values = parts.compactMap(parse)
            if parts.isEmpty || values.count != parts.count { fail("\(name) takes a comma-separated list, found '\(text ?? "")'") }
            return values
        }
        func positive(_ name: String, _ text: String?) -> Int {
            guard let v = text.flatMap(Int.init), v > 0 else { fail("\(name) takes a positive integer, found '\(text ?? "")'") }
            return v
        }
        while let argument = it.next() {
            defer { first = false }
            switch argument {
            case "--backend":
                let v = it.next()
                guard let b = v.flatMap(Backends.init(rawValue:)) else { fail("--backend takes sqlite, postgres or both, found '\(v ?? "")'") }
                backends = b
            case "--producers":
                producers = list("--producers", it.next()) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
            case "--seconds":
                let v = it.next()
                guard let s = v.flatMap(Double.init), s > 0 else { fail("--seconds takes a positive number, found '\(v ?? "")'") }
                seconds = s
            case "--durability":
                durabilities = list("--durability", it.next(), StoreConfig.Durability.init(rawValue:))
            case "--jobs": jobs = positive("--jobs", it.next())
            case "--workers": workers = positive("--workers", it.next())
            case "--claim-limit": claimLimit = positive("--claim-limit", it.next())
            case "--pool": pool = positive("--pool", it.next())
            case "--sections": sections = Set(list("--sections", it.next(), Section.init(rawValue:)))
            case "-h", "--help":
                print(Self.usage)
                exit(0)
            default:
                if first, let s = Double(argument), s > 0 {
                    seconds = s
                } else {
                    fail("unknown argument '\(argument)'")
                }
            }
        }
    }
}
