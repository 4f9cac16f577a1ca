import ArgumentParser
import BridgeConfig
import BridgeCore
import BridgeRules
import Foundation

/// `dagbridge rules check|test`
struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Validate rule files and try them on example events.",
        subcommands: [RulesCheckCommand.self, RulesTestCommand.self]
    )
}

/// Options shared by the rules subcommands.
struct RulesOptions: ParsableArguments {
    @Option(name: .long, help: "The rules folder.")
    var rules: String = "rules"

    @Option(name: .long, help: "Comma-separated known target names; rules naming others are errors.")
    var targets: String?

    var targetSet: Set<String>? {
        targets.map { Set($0.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }) }
    }

    func validate() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: rules, isDirectory: &isDir), isDir.boolValue else {
            throw ValidationError("rules folder '\(rules)' does not exist (pass --rules DIR)")
        }
    }

    func load() -> RuleSetLoader.Loaded {
        RuleSetLoader.load(directory: rules, options: .init(targets: targetSet))
    }
}

/// `dagbridge rules check [--rules DIR] [--targets a,b]`: every problem as `file:line:col: error: message`.
struct RulesCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate every rule file and print all problems.",
        discussion: "Exit status: 0 clean, 1 problems found, 2 usage error."
    )

    @OptionGroup var options: RulesOptions

    func run() throws {
        let loaded = options.load()
        for d in loaded.diagnostics { printError(d.description) }
        let errors = loaded.diagnostics.filter { $0.severity == .error }.count
        if errors > 0 {
            printError("\(errors) error\(errors == 1 ? "" : "s") in \(options.rules)")
            throw ExitCode(1)
        }
        let n = loaded.ruleSet?.rules.count ?? 0
        print("ok: \(n) rule\(n == 1 ? "" : "s") in \(loaded.files.count) file\(loaded.files.count == 1 ? "" : "s")")
    }
}

/// `dagbridge rules test --event FILE`: the DAG-run requests an event would produce.
struct RulesTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Show the DAG-run requests the rules would make for an example event.",
        discussion: """
            FILE is the event body (JSON, or any text), or - for standard input. CloudEvents are
            recognised from ce-* headers (binary mode) or a body with "specversion" and "id"
            (structured mode). Exit status: 0 ok, 1 a matched rule failed to render, 2 usage error.
            """
    )

    @OptionGroup var options: RulesOptions

    @Option(name: .long, help: "The event body file, or - for standard input.")
    var event: String

    @Option(name: .long, help: "The source name the event arrives on.")
    var source: String = "cli"

    @Option(name: .long, help: "A header 'Name: value' (repeatable).")
    var header: [String] = []

    @Option(name: .long, help: "The event id (default: a delivery-id header, the CloudEvent id, or generated).")
    var id: String?

    @Option(name: .long, help: "Make it a Kafka event: TOPIC[:PARTITION[:OFFSET]].")
    var kafka: String?

    @Option(name: .long, help: "The Kafka message key (with --kafka).")
    var key: String?

    @Flag(name: .long, help: "Print exactly {\"matched\": [...], \"errors\": [...]}.")
    var json = false

    @Flag(name: .long, help: "For each rule that did not match, say which field failed and why.")
    var explain = false

    func validate() throws {
        for h in header where !h.contains(":") {
            throw ValidationError("--header '\(h)' must look like 'Name: value'")
        }
        if key != nil, kafka == nil { throw ValidationError("--key needs --kafka TOPIC") }
        if let k = kafka, parseKafka(k) == nil {
            throw ValidationError("--kafka '\(k)' must look like TOPIC[:PARTITION[:OFFSET]] with numbers")
        }
    }

    func parseKafka(_ text: String) -> Event.KafkaMetadata? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard let topic = parts.first, !topic.isEmpty, parts.count <= 3 else { return nil }
        let partition = parts.count > 1 ? Int32(parts[1]) : 0
        let offset = parts.count > 2 ? Int64(parts[2]) : 0
        guard let partition, let offset else { return nil }
        return Event.KafkaMetadata(topic: topic, partition: partition, offset: offset, key: key)
    }

    func run() throws {
        let loaded = options.load()
        guard let ruleSet = loaded.ruleSet else {
            for d in loaded.diagnostics { printError(d.description) }
            printError("the rules have errors; fix them first (dagbridge rules check --rules \(options.rules))")
            throw ExitCode(1)
        }
        let raw: [UInt8]
        if event == "-" {
            raw = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            guard let data = FileManager.default.contents(atPath: event) else {
                throw ValidationError("cannot read event file '\(event)'")
            }
            raw = Array(data)
        }
        let built = buildEvent(raw: raw)
        let result = ruleSet.evaluate(built)
        if json {
            var out = JSONObject()
            out["matched"] = .array(result.jobs.map(\.json))
            out["errors"] = .array(
                result.errors.map { e in
                    var o = JSONObject()
                    o["rule"] = .string(e.rule)
                    o["message"] = .string(e.message)
                    return .object(o)
                })
            if explain {
                out["not_matched"] = .array(
                    ruleSet.explainMisses(built).map { m in
                        var o = JSONObject()
                        o["rule"] = .string(m.rule)
                        o["reason"] = .string(m.reason)
                        return .object(o)
                    })
            }
            print(JSONWriter.string(.object(out), pretty: true))
        } else {
            printHuman(result, event: built, ruleSet: ruleSet)
        }
        if !result.errors.isEmpty { throw ExitCode(1) }
    }

    func buildEvent(raw: [UInt8]) -> Event {
        let headers = header.map { h in
            let i = h.firstIndex(of: ":")!
            return (String(h[..<i]), String(h[h.index(after: i)...]))
        }
        let (event, note) = Event.trial(source: source, headers: headers, rawBody: raw, id: id, kafka: kafka.flatMap(parseKafka))
        if let note { printError("note: \(note.replacingOccurrences(of: "the body", with: "the event file"))") }
        return event
    }

    func printHuman(_ result: RuleSet.Evaluation, event: Event, ruleSet: RuleSet) {
        print("event \(event.id) from source '\(event.source)': \(result.matched.count) rule(s) matched")
        for job in result.jobs {
            var body = JSONObject()
            body["dag_run_id"] = .string(job.dagRunId)
            body["logical_date"] = job.logicalDate.map(JSONValue.string) ?? .null
            if let note = job.note { body["note"] = .string(note) }
            body["conf"] = job.conf
            print("")
            print("rule '\(job.rule)' → target '\(job.target)'")
            print("POST /api/v2/dags/\(job.dagId)/dagRuns")
            print(JSONWriter.string(.object(body), pretty: true))
        }
        for e in result.errors {
            print("")
            print("rule '\(e.rule)' matched but cannot render: \(e.message)")
        }
        if explain {
            let misses = ruleSet.explainMisses(event)
            if !misses.isEmpty { print("") }
            for m in misses { print("rule '\(m.rule)' did not match: \(m.reason)") }
        }
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
