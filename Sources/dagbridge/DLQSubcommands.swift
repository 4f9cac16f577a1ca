import ArgumentParser
import BridgeConfig
import BridgeRules
import BridgeServer
import BridgeCore
import BridgeStore
import Foundation

/// `dagbridge dlq list`
struct DLQList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List dead jobs (or jobs in another state with --state).",
        discussion: "Example: dagbridge dlq list --store var/dagbridge.sqlite --target prod --since 2h")

    @OptionGroup var location: StoreLocation
    @OptionGroup var filters: JobFilterOptions

    @Option(help: "Job state to list: pending, in_flight, delivered, duplicate or dead.")
    var state: String = "dead"

    @Flag(help: "Print JSON (an array of job summaries).")
    var json = false

    func validate() throws {
        if JobState(rawValue: state) == nil {
            throw ValidationError(
                "--state: unknown state '\(state)' (use \(JobState.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    func run() async throws {
        let jobs = try await location.backend().list(filters.filter(state: JobState(rawValue: state)!))
        if json {
            DLQOutput.printJSON(.array(jobs))
            return
        }
        if jobs.isEmpty {
            print("no \(state) jobs match")
            return
        }
        print("ID\tDIED\tRULE\tTARGET\tDAG\tRUN ID\tATTEMPTS\tREASON")
        for j in jobs {
            let f = { (k: String) in j[k].map { $0.stringValue ?? JSONWriter.string($0) } ?? "-" }
            print(
                "\(f("id"))\t\(f("updated_at"))\t\(f("rule"))\t\(f("target"))\t\(f("dag_id"))\t\(f("dag_run_id"))\t"
                    + "\(f("attempts"))\t\(DLQOutput.short(j["reason"]?.stringValue))")
        }
        print("\(jobs.count) job(s)")
    }
}

/// `dagbridge dlq show ID`
struct DLQShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a job's full history: request, event, attempts, operator actions.",
        discussion: "Example: dagbridge dlq show 42 --json")

    @OptionGroup var location: StoreLocation

    @Argument(help: "The job id (from `dlq list`).")
    var id: String

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let id = try DLQIDs.parse([self.id])[0]
        guard let detail = try await location.backend().show(id: id) else { throw Failure(message: "no job \(id) in the store") }
        if json {
            DLQOutput.printJSON(detail)
            return
        }
        let job = detail["job"] ?? .null
        let f = { (v: JSONValue?) in v.map { $0.stringValue ?? JSONWriter.string($0) } ?? "-" }
        print("job \(f(job["id"])): \(f(job["state"]))")
        print("  rule \(f(job["rule"])), target \(f(job["target"])), dag \(f(job["dag_id"])), run id \(f(job["dag_run_id"]))")
        print(
            "  created \(f(job["created_at"])), updated \(f(job["updated_at"])), attempts \(f(job["attempts"])), replays \(f(job["replays"]))")
        if let r = job["reason"]?.stringValue { print("  reason: \(r)") }
        print("request:")
        print(JSONWriter.string(detail["request"] ?? .null, pretty: true))
        if let event = detail["event"], event != .null {
            print("event: source \(f(event["source"])), id \(f(event["id"])), received \(f(event["received_at"]))")
            print(JSONWriter.string(event["envelope"] ?? .null, pretty: true))
        }
        let attempts = detail["attempts"]?.arrayValue ?? []
        print("attempts (\(attempts.count)):")
        for (i, a) in attempts.enumerated() {
            print("  \(i + 1). \(f(a["at"]))  \(f(a["outcome"]))  HTTP \(f(a["http_status"]))  \(f(a["duration_ms"]))ms  \(f(a["reason"]))")
            if let answer = a["answer"]?.stringValue, !answer.isEmpty { print("     answer: \(DLQOutput.short(answer, 200))") }
        }
        let audit = detail["audit"]?.arrayValue ?? []
        print("operator actions (\(audit.count)):")
        for a in audit {
            print("  \(f(a["at"]))  \(f(a["action"])) by \(f(a["by"]))  [\(f(a["filters"]))] \(f(a["options"])) \(a["detail"]?.stringValue ?? "")")
        }
    }
}

/// Selection shared by `replay` and `purge`: ids, or `--all` with filters.
struct JobSelection: ParsableArguments {
    @Argument(help: "Job ids (from `dlq list`).")
    var ids: [String] = []

    @Flag(help: "Every dead job matching the filters.")
    var all = false

    @OptionGroup var filters: JobFilterOptions

    func validate() throws {
        if all == !ids.isEmpty { throw ValidationError("give job ids or --all (with optional filters), not both or neither") }
        if !all, !filters.isEmpty { throw ValidationError("filters (--rule, --target, --since, …) apply only with --all") }
        _ = try DLQIDs.parse(ids)
    }

    /// The selection as the admin API's request.
    func request() throws -> AdminDLQRequest {
        AdminDLQRequest(selection: all ? .filter(filters.filter()) : .ids(try DLQIDs.parse(ids)))
    }
}

/// `dagbridge dlq replay`
struct DLQReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Send dead (or other finished) jobs again, with fresh attempts.",
        discussion: """
            By default the same request is sent with the same dag_run_id, so a replay never creates a second run
            (Airflow answers 409 if the run exists: the job ends 'duplicate'). --new-run-id appends __r<n> to the
            run id to create a new run on purpose. Replayed jobs become due at --rate per second. --all selects dead
            jobs; ids may also name delivered or duplicate jobs (sent again with the same run id: duplicate).
            Examples:
              dagbridge dlq replay 42 43
              dagbridge dlq replay --all --target prod --since 2h --dry-run
            """)

    @OptionGroup var location: StoreLocation
    @OptionGroup var selection: JobSelection

    @Flag(help: "Render the request again from the stored event with the current rules (--rules, or the rules.path of --config).")
    var rerender = false

    @Option(help: ArgumentHelp("Rules folder for --rerender (default: the rules.path of --config).", valueName: "dir"))
    var rules: String?

    @Flag(name: .customLong("new-run-id"), help: "Give each job a new run id (<run id>__r<n>): creates a new DAG run.")
    var newRunID = false

    @Flag(name: .customLong("dry-run"), help: "Show what would be replayed; change nothing.")
    var dryRun = false

    @Option(help: "Replayed jobs per second, so a bulk replay cannot starve live traffic.")
    var rate: Double = 50

    @Option(help: ArgumentHelp("Who replays, for the audit log (default user@host).", valueName: "name"))
    var by: String?

    @Flag(help: "Print JSON (one result per job).")
    var json = false

    func validate() throws {
        if rerender, rules == nil, location.server == nil, location.config == nil {
            throw ValidationError(
                "--rerender needs the rules to render with: --rules DIR, or --config FILE (its rules.path); through --server the service's rules are used")
        }
        if rules != nil, !rerender { throw ValidationError("--rules is only used with --rerender") }
        if rules != nil, location.server != nil { throw ValidationError("--rules cannot be used with --server: the service re-renders with its own rules") }
        if !(rate > 0) || !rate.isFinite { throw ValidationError("--rate must be a positive number of jobs per second") }
    }

    func run() async throws {
        var ruleSet: RuleSet?
        // An explicit --rules wins over the config's rules.path.
        if rerender, location.server == nil, let rules = try rules ?? location.configRulesPath() {
            let loaded = RuleSetLoader.load(directory: rules)
            guard let set = loaded.ruleSet else {
                for d in loaded.diagnostics { printError(d.description) }
                throw Failure(message: "the rules in \(rules) have errors; fix them before re-rendering")
            }
            ruleSet = set
        }
        var request = try selection.request()
        request.newRunID = newRunID
        request.rate = rate
        request.dryRun = dryRun
        request.rerender = rerender
        request.by = by
        let results = try await location.backend().replay(request, rules: ruleSet)
        try DLQReport.finish(results, json: json, verb: dryRun ? "would replay" : "replayed")
    }
}

/// `dagbridge dlq purge`
struct DLQPurge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge", abstract: "Delete dead jobs for good (needs --yes).",
        discussion: """
            Examples:
              dagbridge dlq purge 42 --yes
              dagbridge dlq purge --all --until 30d --dry-run
            """)

    @OptionGroup var location: StoreLocation
    @OptionGroup var selection: JobSelection

    @Flag(help: "Really delete.")
    var yes = false

    @Flag(name: .customLong("dry-run"), help: "Show what would be purged; change nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Who purges, for the audit log (default user@host).", valueName: "name"))
    var by: String?

    @Flag(help: "Print JSON (one result per job).")
    var json = false

    func run() async throws {
        let backend = try await location.backend()
        var request = try selection.request()
        request.by = by
        if !yes, !dryRun {
            // Say how many would go, without deleting anything.
            request.dryRun = true
            let n = try await backend.purge(request).count
            if n == 0 {
                print("no dead jobs match")
                return
            }
            throw Failure(message: "refusing to purge \(n) job(s) without --yes (run with --dry-run to see which)")
        }
        request.yes = yes
        request.dryRun = dryRun
        let results = try await backend.purge(request)
        try DLQReport.finish(results, json: json, verb: dryRun ? "would purge" : "purged")
    }
}

/// Prints replay/purge results; exit 1 when any job was not found or skipped.
enum DLQReport {
    static func finish(_ results: [JSONValue], json: Bool, verb: String) throws {
        let ok = results.filter { $0["ok"] == true }
        if json {
            DLQOutput.printJSON(.array(results))
        } else if results.isEmpty {
            print("no dead jobs match")
        } else {
            for r in results {
                let id = r["id"].map { JSONWriter.string($0) } ?? "?"
                var line = "job \(id): \(r["message"]?.stringValue ?? "")"
                if r["ok"] == true {
                    if let n = r["new_run_id"]?.stringValue { line += ", run id \(n)" }
                    if let d = r["due_at"]?.stringValue { line += ", due \(d)" }
                }
                print(line)
            }
            print("\(verb) \(ok.count) of \(results.count) job(s)")
        }
        if ok.count < results.count { throw ExitCode(1) }
    }
}
