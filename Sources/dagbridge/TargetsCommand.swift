import ArgumentParser
import BridgeAirflow
import BridgeCore
import BridgeConfig
import BridgeRules
import Foundation

/// `dagbridge targets check`
struct TargetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "targets",
        abstract: "Check the configured Airflow targets.",
        subcommands: [TargetsCheckCommand.self]
    )
}

/// `dagbridge targets check --config FILE [--dag D]... [--target T]...`
struct TargetsCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "For each target: is it reachable, do the credentials work, and do the DAGs exist unpaused?",
        discussion: "Prints a table; exit 0 when every check passed, 1 when any failed."
    )

    @OptionGroup var options: TargetsConfigOptions

    @Option(name: .customLong("dag"), help: "A DAG to look up on every checked target (repeatable).")
    var dags: [String] = []

    @Option(name: .customLong("target"), help: "Check only this target (repeatable; default all).")
    var only: [String] = []

    @Option(name: .long, help: "A rules folder: also check every DAG its rules trigger, on the rule's target.")
    var rules: String?

    /// DAGs the rules trigger, by target (constant dag_ids), and rules whose dag_id is a template.
    func dagsFromRules() throws -> (dags: [String: [String]], templated: [String: [String]]) {
        guard let rules else { return ([:], [:]) }
        let loaded = RuleSetLoader.load(directory: rules)
        guard let set = loaded.ruleSet else {
            for d in loaded.diagnostics { printError(d.description) }
            throw ValidationError("the rules in '\(rules)' have errors (dagbridge rules check --rules \(rules))")
        }
        var dags: [String: [String]] = [:]
        var templated: [String: [String]] = [:]
        for rule in set.rules {
            let t = rule.trigger
            if t.dagId.isConstant {
                if !(dags[t.target] ?? []).contains(t.dagId.text) { dags[t.target, default: []].append(t.dagId.text) }
            } else {
                templated[t.target, default: []].append(rule.name)
            }
        }
        return (dags, templated)
    }

    func run() async throws {
        let targets = try options.loadTargets()
        let fromRules = try dagsFromRules()
        for name in only where targets[name] == nil {
            throw ValidationError("no target '\(name)' in \(options.config) (targets: \(targets.keys.sorted().joined(separator: ", ")))")
        }
        let names = (only.isEmpty ? Array(targets.keys) : only).sorted()
        var rows: [[String]] = [["TARGET", "CHECK", "RESULT", "DETAIL"]]
        var problems = 0
        for name in names {
            let config = targets[name]!
            let client: AirflowClient
            do {
                client = try AirflowClient(config: config, transport: try makeTransport(for: config))
            } catch {
                rows.append([name, "auth", "FAIL", "\(error)"])
                problems += 1
                continue
            }
            let probe = await client.probe()
            let where_ = config.url.isEmpty ? "\(config.api)" : "\(config.url) (\(config.api))"
            switch probe {
            case .found:
                rows.append([name, "reachable + auth", "ok", where_])
            case .unsupported(let why):
                rows.append([name, "reachable + auth", "skip", why])
            case .notFound(let why):
                rows.append([name, "reachable + auth", "FAIL", "\(why): check url and api"])
                problems += 1
                continue
            case .failed(let r):
                rows.append([name, "reachable + auth", "FAIL", r.reason])
                problems += 1
                continue
            }
            for rule in fromRules.templated[name] ?? [] {
                rows.append([name, "rule \(rule)", "skip", "dag_id is a template: DAGs known only per event"])
            }
            var checkDags = dags
            for dag in fromRules.dags[name] ?? [] where !checkDags.contains(dag) { checkDags.append(dag) }
            for dag in checkDags {
                switch await client.getDAG(dag) {
                case .found(let json):
                    let paused = json["is_paused"].flatMap { v -> Bool? in if case .bool(let b) = v { return b } else { return nil } }
                    if paused == true {
                        rows.append([name, "DAG \(dag)", "FAIL", "paused: runs will queue until it is unpaused"])
                        problems += 1
                    } else {
                        rows.append([name, "DAG \(dag)", "ok", paused == nil ? "exists" : "exists, not paused"])
                    }
                case .notFound:
                    rows.append([name, "DAG \(dag)", "FAIL", "not found on this target"])
                    problems += 1
                case .unsupported(let why):
                    rows.append([name, "DAG \(dag)", "skip", why])
                case .failed(let r):
                    rows.append([name, "DAG \(dag)", "FAIL", r.reason])
                    problems += 1
                }
            }
        }
        print(Self.table(rows))
        if problems > 0 {
            print("\(problems) problem\(problems == 1 ? "" : "s") found")
            throw ExitCode(1)
        }
    }

    static func table(_ rows: [[String]]) -> String {
        var widths = [Int](repeating: 0, count: rows.first?.count ?? 0)
        for r in rows { for (i, c) in r.enumerated() where i < r.count - 1 { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i < r.count - 1 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0) : c }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
