import ArgumentParser
import BridgeConfig
import BridgeCore
import BridgeServer
import BridgeStore
import Foundation

/// `dagbridge dlq list|show|replay|purge`: the dead-letter queue, on the store file.
///
/// Safe while the service runs: the store is SQLite in WAL mode with a busy timeout, and every
/// change goes through one short transaction.
struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect, replay and purge dead jobs (the dead-letter queue).",
        discussion: """
            Times (--since, --until) are ISO-8601 (2026-05-01T12:00:00Z) or a duration ago (30m, 2h, 7d).
            Filters match the time a job died, its rule, its target, and a substring of its reason.
            """,
        subcommands: [DLQList.self, DLQShow.self, DLQReplay.self, DLQPurge.self]
    )
}

/// Where the dead-letter queue is: the store file (`--store PATH`, or the `store.path` of
/// `--config FILE`), or a running service's admin API (`--server URL --token T`).
struct StoreLocation: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store file (SQLite).", valueName: "path"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("The service configuration; its store.path is used.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Go through a running service's admin API instead of the file (http://host:port).", valueName: "url"))
    var server: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The admin token for --server (default: $DAGBRIDGE_ADMIN_TOKEN).", valueName: "token"))
    var token: String?

    func validate() throws {
        if store != nil, config != nil { throw ValidationError("give either --store or --config, not both") }
        if server != nil, store != nil || config != nil { throw ValidationError("give either --server or --store/--config, not both") }
        if let server {
            guard server.hasPrefix("http://") || server.hasPrefix("https://"), server.count > 8 else {
                throw ValidationError("--server: '\(server)' is not a URL; use http://host:port")
            }
            if adminToken == nil { throw ValidationError("--server needs the admin token: --token T or DAGBRIDGE_ADMIN_TOKEN") }
        } else if token != nil {
            throw ValidationError("--token is only used with --server")
        }
    }

    var adminToken: String? { token ?? ProcessInfo.processInfo.environment["DAGBRIDGE_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The store's settings: from `--store`, from the config file (a relative `store.path` is taken
    /// from the file's folder), or the default path.
    func storeConfig() throws -> StoreConfig {
        if let store { return StoreConfig(path: store) }
        guard let config else { return StoreConfig() }
        let (root, problems) = YAMLLoader.load(path: config)
        var diags = Diagnostics()
        diags.append(contentsOf: problems)
        let parsed = StoreConfig.parse(root?["store"], diagnostics: &diags)
        guard !diags.hasErrors, let parsed else {
            throw Failure(message: diags.items.map(\.description).joined(separator: "\n"))
        }
        return parsed.resolvingPath(relativeTo: config)
    }

    /// The rules folder named by `--config`'s `rules.path` (relative to the file's folder), for
    /// `replay --rerender` without `--rules`; nil without `--config`.
    func configRulesPath() throws -> String? {
        guard let config else { return nil }
        let (root, problems) = YAMLLoader.load(path: config)
        var diags = Diagnostics()
        diags.append(contentsOf: problems)
        let rules = ServiceConfig.Rules(root?["rules"], resolvePath: { ConfigPath.resolve($0, relativeTo: config) }, diagnostics: &diags)
        guard !diags.hasErrors else { throw Failure(message: diags.items.map(\.description).joined(separator: "\n")) }
        return rules.path
    }

    /// Opens the existing store (never creates an SQLite file; a database journal is migrated only
    /// by `serve` and `store migrate`, so an older schema is refused here with what to run).
    func open() async throws -> any JournalStore {
        let c = try storeConfig()
        if c.backend == .sqlite {
            guard FileManager.default.fileExists(atPath: c.path) else {
                throw Failure(message: "no store at '\(c.path)' (give --store PATH, --config FILE or --server URL)")
            }
        }
        do {
            return try await JournalOpener.open(c, migrate: false)
        } catch {
            throw Failure(message: "\(error)")
        }
    }

    /// Opens the existing SQLite file (commands that rewrite the file itself).
    func openSQLite(for command: String) throws -> Journal {
        let c = try storeConfig()
        guard c.backend == .sqlite else {
            throw Failure(message: "\(command) works on an SQLite store file; the store in \(config ?? "the config") is \(c.location)")
        }
        guard FileManager.default.fileExists(atPath: c.path) else {
            throw Failure(message: "no store at '\(c.path)' (give --store PATH or --config FILE)")
        }
        do {
            return try Journal(config: c)
        } catch {
            throw Failure(message: "\(error)")
        }
    }

    /// The file or the admin API.
    func backend() async throws -> any DLQBackend {
        if let server, let token = adminToken { return try AdminAPIBackend(server: server, token: token) }
        return LocalDLQBackend(journal: try await open())
    }
}

/// The filters shared by `list`, `replay --all` and `purge --all`.
struct JobFilterOptions: ParsableArguments {
    @Option(help: "Only jobs of this rule.")
    var rule: String?

    @Option(help: "Only jobs for this target.")
    var target: String?

    @Option(help: ArgumentHelp("Only jobs that died at or after this time (ISO-8601, or 2h / 7d ago).", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only jobs that died before this time (ISO-8601, or 2h / 7d ago).", valueName: "time"))
    var until: String?

    @Option(help: ArgumentHelp("Only jobs whose reason contains this text (case-insensitive).", valueName: "text"))
    var reason: String?

    @Option(help: "At most this many jobs, oldest first.")
    var limit: Int?

    var isEmpty: Bool { rule == nil && target == nil && since == nil && until == nil && reason == nil && limit == nil }

    func validate() throws {
        if let s = since, DLQTime.parse(s) == nil { throw ValidationError(DLQTime.problem("--since", s)) }
        if let u = until, DLQTime.parse(u) == nil { throw ValidationError(DLQTime.problem("--until", u)) }
        if let l = limit, l < 1 { throw ValidationError("--limit must be at least 1, found \(l)") }
    }

    func filter(state: JobState = .dead) -> JobFilter {
        JobFilter(
            state: state, rule: rule, target: target, since: since.flatMap { DLQTime.parse($0) }, until: until.flatMap { DLQTime.parse($0) },
            reason: reason, limit: limit)
    }
}

/// Times on the command line: ISO-8601, or a duration meaning "that long ago".
enum DLQTime {
    static func parse(_ text: String, now: Date = Date()) -> Date? { JobFilter.parseTime(text, now: now) }

    static func problem(_ option: String, _ value: String) -> String {
        "\(option): cannot read '\(value)' as a time; use ISO-8601 (2026-05-01T12:00:00Z) or a duration ago (30m, 2h, 7d)"
    }
}

/// Who runs a command, for the audit log: `--by`, or `user@host`.
enum DLQActor {
    static func name(_ given: String?) -> String {
        if let given, !given.trimmingSpaces.isEmpty { return given }
        let env = ProcessInfo.processInfo.environment
        let user = env["USER"] ?? env["LOGNAME"] ?? "unknown"
        return "\(user)@\(ProcessInfo.processInfo.hostName)"
    }
}

/// Parses job ids given as arguments.
enum DLQIDs {
    static func parse(_ items: [String]) throws -> [Int64] {
        try items.map {
            guard let v = Int64($0), v > 0 else { throw ValidationError("'\($0)' is not a job id (a positive whole number)") }
            return v
        }
    }
}

/// Output helpers.
enum DLQOutput {
    static func printJSON(_ value: JSONValue) {
        print(JSONWriter.string(value, pretty: true))
    }

    static func short(_ s: String?, _ n: Int = 80) -> String {
        guard let s else { return "-" }
        let oneLine = s.replacingOccurrences(of: "\n", with: " ")
        return oneLine.count <= n ? oneLine : String(oneLine.prefix(n - 1)) + "…"
    }
}
