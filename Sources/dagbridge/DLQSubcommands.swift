import ArgumentParser
import BridgeConfig
import BridgeRules
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
        let journal = try location.open()
        let jobs = try await journal.jobs(matching: filters.filter(state: JobState(rawValue: state)!))
        if json {
            DLQOutput.printJSON(.array(jobs.map(\.summaryJSON)))
            return
        }
        if jobs.isEmpty {
            print("no \(state) jobs match")
            return
        }
        print("ID\tDIED\tRULE\tTARGET\tDAG\tRUN ID\tATTEMPTS\tREASON")
        for j in jobs {
            print(
                "\(j.id)\t\(ISO8601.format(j.updatedAt))\t\(j.job.rule)\t\(j.job.target)\t\(j.job.dagId)\t\(j.job.dagRunId)\t"
                    + "\(j.attempts)\t\(DLQOutput.short(j.lastReason))")
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
        let journal = try location.open()
        guard let job = try await journal.job(id: id) else { throw Failure(message: "no job \(id) in the store") }
        let event = try await journal.event(rowID: job.eventRef)
        let attempts = try await journal.attempts(jobID: id)
        let audit = try await journal.audit(jobID: id)
        if json {
            var o = JSONObject()
            var summary = job.summaryJSON
            if case .object(var s) = summary {
                s["logical_date"] = job.job.logicalDate.map(JSONValue.string) ?? .null
                s["note"] = job.job.note.map(JSONValue.string) ?? .null
                summary = .object(s)
            }
            o["job"] = summary
            o["request"] = job.job.json
            if let event {
                var e = JSONObject()
                e["source"] = .string(event.source)
                e["id"] = .string(event.eventID)
                e["received_at"] = .string(ISO8601.format(event.receivedAt))
                e["envelope"] = event.envelope
                e["raw_body"] = .string(String(decoding: event.rawBody, as: UTF8.self))
                o["event"] = .object(e)
            } else {
                o["event"] = .null
            }
            o["attempts"] = .array(attempts.map(\.json))
            o["audit"] = .array(audit.map(\.json))
            DLQOutput.printJSON(.object(o))
            return
        }
        print("job \(job.id): \(job.state.rawValue)")
        print("  rule \(job.job.rule), target \(job.job.target), dag \(job.job.dagId), run id \(job.job.dagRunId)")
        print("  created \(ISO8601.format(job.createdAt)), updated \(ISO8601.format(job.updatedAt)), attempts \(job.attempts), replays \(job.replays)")
        if let r = job.lastReason { print("  reason: \(r)") }
        print("request:")
        print(JSONWriter.string(job.job.json, pretty: true))
        if let event {
            print("event: source \(event.source), id \(event.eventID), received \(ISO8601.format(event.receivedAt))")
            print(JSONWriter.string(event.envelope, pretty: true))
        }
        print("attempts (\(attempts.count)):")
        for (i, a) in attempts.enumerated() {
            let status = a.httpStatus.map(String.init) ?? "-"
            print("  \(i + 1). \(ISO8601.format(a.at))  \(a.outcome)  HTTP \(status)  \(Int((a.duration * 1000).rounded()))ms  \(a.reason)")
            if !a.answer.isEmpty { print("     answer: \(DLQOutput.short(a.answer, 200))") }
        }
        print("operator actions (\(audit.count)):")
        for a in audit {
            print("  \(ISO8601.format(a.at))  \(a.action) by \(a.actor)  [\(a.filters)] \(a.options) \(a.detail ?? "")")
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

    /// The selected ids and the selection as typed, for the audit log.
    func resolve(_ journal: Journal) async throws -> ([Int64], String) {
        if all {
            let f = filters.filter()
            return (try await journal.jobs(matching: f).map(\.id), "--all " + f.description)
        }
        let ids = try DLQIDs.parse(ids)
        return (ids, "ids " + ids.map(String.init).joined(separator: ","))
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

    @Flag(help: "Render the request again from the stored event with the current rules (needs --rules).")
    var rerender = false

    @Option(help: ArgumentHelp("Rules folder for --rerender.", valueName: "dir"))
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
        if rerender, rules == nil { throw ValidationError("--rerender needs --rules DIR (the rules to render with)") }
        if rules != nil, !rerender { throw ValidationError("--rules is only used with --rerender") }
        if !(rate > 0) || !rate.isFinite { throw ValidationError("--rate must be a positive number of jobs per second") }
    }

    func run() async throws {
        var ruleSet: RuleSet?
        if rerender, let rules {
            let loaded = RuleSetLoader.load(directory: rules)
            guard let set = loaded.ruleSet else {
                for d in loaded.diagnostics { printError(d.description) }
                throw Failure(message: "the rules in \(rules) have errors; fix them before re-rendering")
            }
            ruleSet = set
        }
        let journal = try location.open()
        let (ids, selected) = try await selection.resolve(journal)
        if ids.isEmpty {
            if json { DLQOutput.printJSON(.array([])) } else { print("no dead jobs match") }
            return
        }
        let results: [DLQActionResult]
        if let ruleSet {
            // Render again from the stored event with the current version of the job's rule.
            results = try await journal.replay(
                ids: ids, actor: DLQActor.name(by), filters: selected,
                options: ReplayOptions(newRunID: newRunID, rate: rate, dryRun: dryRun, note: "rerender")
            ) { stored, event in
                guard let rule = ruleSet.rules.first(where: { $0.name == stored.job.rule }) else { return nil }
                switch ruleSet.render(rule, event: event.event) {
                case .success(let job): return job
                case .failure(let error): throw error
                }
            }
        } else {
            results = try await journal.replay(
                ids: ids, actor: DLQActor.name(by), filters: selected,
                options: ReplayOptions(newRunID: newRunID, rate: rate, dryRun: dryRun))
        }
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
        let journal = try location.open()
        let (ids, selected) = try await selection.resolve(journal)
        if ids.isEmpty {
            if json { DLQOutput.printJSON(.array([])) } else { print("no dead jobs match") }
            return
        }
        if !yes, !dryRun {
            throw Failure(
                message: "refusing to purge \(ids.count) job(s) without --yes "
                    + "(run with --dry-run to see which)")
        }
        let results = try await journal.purge(ids: ids, actor: DLQActor.name(by), filters: selected, dryRun: dryRun)
        try DLQReport.finish(results, json: json, verb: dryRun ? "would purge" : "purged")
    }
}

/// Prints replay/purge results; exit 1 when any job was not found or skipped.
enum DLQReport {
    static func finish(_ results: [DLQActionResult], json: Bool, verb: String) throws {
        if json {
            DLQOutput.printJSON(.array(results.map(\.json)))
        } else {
            for r in results {
                if r.ok {
                    var line = "job \(r.jobID): \(r.message)"
                    if let n = r.newRunID { line += ", run id \(n)" }
                    if let d = r.dueAt { line += ", due \(ISO8601.format(d))" }
                    print(line)
                } else {
                    print("job \(r.jobID): \(r.message)")
                }
            }
            print("\(verb) \(results.filter(\.ok).count) of \(results.count) job(s)")
        }
        if results.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }
}
