import ArgumentParser
import BridgeConfig
import BridgeRules
import BridgeServer
import Foundation

/// `dagbridge config check --config FILE`: the service config and its rules, validated together.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Validate the service configuration.", subcommands: [ConfigCheckCommand.self])
}

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate dagbridge.yaml and its rules together (targets and sources named by rules must exist).",
        discussion: "Exit status: 0 clean, 1 problems found, 2 usage error."
    )

    @Option(name: .long, help: "The service configuration file.")
    var config: String = "dagbridge.yaml"

    func validate() throws {
        guard FileManager.default.isReadableFile(atPath: config) else {
            throw ValidationError("cannot read config file '\(config)' (pass --config FILE)")
        }
    }

    func run() throws {
        let (loaded, diags) = ServiceConfig.load(path: config)
        var all = diags
        var ruleCount = 0
        if let loaded {
            let rules = RuleSetLoader.load(directory: loaded.rules.path, options: loaded.ruleOptions)
            all += rules.diagnostics
            ruleCount = rules.ruleSet?.rules.count ?? 0
        }
        for d in all { printError(d.description) }
        let errors = all.filter { $0.severity == .error }.count
        if errors > 0 || loaded == nil {
            printError("\(errors) error\(errors == 1 ? "" : "s")")
            throw ExitCode(1)
        }
        let kafka = loaded!.kafka.isEmpty ? "" : ", \(loaded!.kafka.count) kafka source(s)"
        print("ok: \(loaded!.targets.count) target(s), \(loaded!.webhooks.count) webhook source(s)\(kafka), \(ruleCount) rule(s)")
    }
}
