import BridgeConfig
import BridgeCore
import Foundation

/// Settings of the journal (the `store:` section of `dagbridge.yaml`).
///
/// Keys:
/// - `path` (string, default `./var/dagbridge.sqlite`): the SQLite file; its folder is created when missing.
/// - `durability` (`full` | `normal`, default `full`): SQLite `synchronous` mode. `full` syncs the
///   write-ahead log on every (group) commit, so an accepted event survives a power cut; `normal`
///   survives a process crash but may lose the last commits on power loss.
/// - `retention` (duration, default `7d`): how long delivered and duplicate jobs (and their events)
///   are kept. Dead jobs are kept until purged.
/// - `high_water` (integer, default 10000): when pending + in-flight jobs exceed it, sources are told
///   to slow down (webhook 503 + Retry-After, Kafka pauses).
/// - `low_water` (integer, default 8000): backpressure clears when the queue falls below it.
/// - `busy_timeout` (duration, default `5s`): how long a reader or the CLI waits for a lock.
/// - `backend` (`sqlite` | `postgres`, default `sqlite`): where the journal lives. `postgres` shares
///   one journal between replicas (see ``PostgresJournal``) and reads:
///   - `url` (required, a secret reference such as `${env:DAGBRIDGE_DATABASE_URL}`):
///     `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=verify-full&sslrootcert=FILE`.
///   - `password` (optional secret reference): the password, when the URL holds none.
///   - `pool` (integer, default 8): connections per replica.
///   - `lease` (duration, default `2m`): how long a claim lasts without renewal; a dead replica's
///     jobs are due again on the others after it. Keep it well above the targets' timeouts (the
///     owner renews it every third of the lease while a call runs).
///   - `connect_timeout` (duration, default `5s`).
///   With `postgres`, `durability: full` sets `synchronous_commit = on` for the journal's
///   sessions and `normal` sets it `off`.
public struct StoreConfig: Sendable, Equatable {
    /// Where the journal lives.
    public enum Backend: String, Sendable, Equatable, CaseIterable {
        case sqlite
        case postgres
    }

    /// SQLite `synchronous` setting.
    public enum Durability: String, Sendable, Equatable, CaseIterable {
        /// `synchronous = FULL`: every commit is on disk before `enqueue` returns.
        case full
        /// `synchronous = NORMAL`: commits survive a crash of the process, not of the machine.
        case normal
    }

    /// The SQLite file.
    public var path: String
    /// SQLite `synchronous` mode.
    public var durability: Durability
    /// Seconds delivered/duplicate jobs are kept.
    public var retention: Double
    /// Backpressure starts above this many pending + in-flight jobs.
    public var highWater: Int
    /// Backpressure ends below this many pending + in-flight jobs.
    public var lowWater: Int
    /// Seconds to wait for a database lock.
    public var busyTimeout: Double
    /// `sqlite` (the file at ``path``) or `postgres` (``postgres``).
    public var backend: Backend = .sqlite
    /// The database of a `postgres` journal.
    public var postgres: PostgresSettings?
    /// Connections per replica (`postgres`).
    public var pool: Int = 8
    /// Seconds a claim lasts without renewal (`postgres`).
    public var lease: Double = 120
    /// Seconds to wait for a connection (`postgres`).
    public var connectTimeout: Double = 5

    /// Where the journal is, safe to log and show: the file, or the database URL without its password.
    public var location: String {
        switch backend {
        case .sqlite: path
        case .postgres: postgres.map(\.description) ?? "postgres (no url)"
        }
    }


    /// A configuration with the documented defaults, overridable per argument.
    public init(
        path: String = "./var/dagbridge.sqlite", durability: Durability = .full, retention: Double = 7 * 86400,
        highWater: Int = 10_000, lowWater: Int = 8_000, busyTimeout: Double = 5
    ) {
        self.path = path
        self.durability = durability
        self.retention = retention
        self.highWater = highWater
        self.lowWater = lowWater
        self.busyTimeout = busyTimeout
    }
}

extension StoreConfig {
    /// This configuration with a relative `path` taken from `configFile`'s folder, as `serve`
    /// reads it, so every command given the same `--config` opens the same journal.
    public func resolvingPath(relativeTo configFile: String) -> StoreConfig {
        var c = self
        c.path = ConfigPath.resolve(path, relativeTo: configFile)
        return c
    }
}
