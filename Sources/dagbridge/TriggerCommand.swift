import ArgumentParser
import BridgeAirflow
import BridgeConfig
import BridgeCore
import BridgeDispatch
import BridgeHTTP
import Foundation

/// Options shared by commands that read `dagbridge.yaml`'s targets.
struct TargetsConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The service configuration file (dagbridge.yaml).")
    var config: String = "dagbridge.yaml"

    /// Loads the targets, printing diagnostics to standard error; throws a failure (exit 1) on errors.
    func loadTargets() throws -> [String: TargetConfig] {
        // The dispatcher's keys are checked too, so `targets check` reports every problem `serve` would.
        let (targets, diags) = TargetsConfig.load(path: config) { _, section, d in _ = DispatchPolicy.parse(&section, &d) }
        for d in diags { FileHandle.standardError.write(Data((d.description + "\n").utf8)) }
        if diags.contains(where: { $0.severity == .error }) {
            throw Failure(message: "\(config): configuration has errors")
        }
        return targets
    }
}

/// `dagbridge trigger`: create one DAG run by hand through a configured target.
struct TriggerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "Create one DAG run on a configured target.",
        discussion: """
            Sends one trigger exactly as the dispatcher would (same API flavour, auth and answer classification) \
            and prints the outcome and the run. Exit 0 when the run was created or already existed, 1 otherwise.
            """
    )

    @OptionGroup var options: TargetsConfigOptions

    @Option(help: "Target name (a key under 'targets:').")
    var target: String

    @Option(help: "The DAG to run.")
    var dag: String

    @Option(help: "The run's conf as a JSON object.")
    var conf: String = "{}"

    @Option(name: .customLong("run-id"), help: "The dag_run_id (default: manual__dagbridge__<time>).")
    var runId: String?

    @Option(name: .customLong("logical-date"), help: "ISO-8601 logical date (default: none; Airflow chooses).")
    var logicalDate: String?

    @Option(help: "A note shown on the run.")
    var note: String?

    func validate() throws {
        if let id = runId, !RunID.isValid(id) {
            throw ValidationError("--run-id '\(id)' uses characters Airflow refuses: use only letters, digits and _ . ~ : + -")
        }
        if let d = logicalDate, ISO8601.parse(d) == nil {
            throw ValidationError("--logical-date '\(d)' is not an ISO-8601 date such as 2024-05-01T12:00:00Z")
        }
        do {
            _ = try JSONParser.parse(conf)
        } catch {
            throw ValidationError("--conf is not valid JSON (\(error))")
        }
    }

    func run() async throws {
        let targets = try options.loadTargets()
        guard let config = targets[target] else {
            var msg = "no target '\(target)' in \(options.config)"
            if let s = didYouMean(target, targets.keys) { msg += "; did you mean '\(s)'?" }
            msg += " (targets: \(targets.keys.sorted().joined(separator: ", ")))"
            throw ValidationError(msg)
        }
        let confValue = try JSONParser.parse(conf)
        let id = runId ?? "manual__dagbridge__" + ISO8601.format(Date()).replacingOccurrences(of: "Z", with: "")
        let job = TriggerJob(rule: "manual", target: target, dagId: dag, conf: confValue, dagRunId: id, logicalDate: logicalDate, note: note)
        let transport = try makeTransport(for: config)
        let client = try AirflowClient(config: config, transport: transport)
        let result = await client.trigger(job)
        print(Self.render(result, job: job))
        switch result.outcome {
        case .delivered, .duplicate: return
        default: throw ExitCode(1)
        }
    }

    /// Outcome, reason, status, time and the run as Airflow described it.
    static func render(_ r: TriggerResult, job: TriggerJob) -> String {
        let outcome: String
        switch r.outcome {
        case .delivered: outcome = "delivered"
        case .duplicate: outcome = "duplicate (the run already existed)"
        case .retry(let after): outcome = "retry" + (after.map { " (Retry-After \(DurationText.format($0)))" } ?? "")
        case .permanent: outcome = "failed"
        }
        var lines = [
            "outcome: \(outcome)",
            "reason:  \(r.reason)",
            "target:  \(job.target)   dag: \(job.dagId)   run: \(job.dagRunId)",
            "status:  \(r.httpStatus.map(String.init) ?? "no answer")   time: \(DurationText.format(r.duration))",
        ]
        if case .delivered(let run?) = r.outcome {
            lines.append("run:")
            lines.append(JSONWriter.string(run, pretty: true))
        } else if !r.answer.isEmpty {
            lines.append("answer:  \(r.answer)")
        }
        return lines.joined(separator: "\n")
    }
}

/// The libcurl client configured for one target (its TLS, proxy, timeouts and Kerberos settings).
func makeTransport(for config: TargetConfig) throws -> any HTTPTransport {
    try HTTPClient(configuration: HTTPClientConfiguration(target: config))
}
