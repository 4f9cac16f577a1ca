import ArgumentParser

/// `dagbridge rules check|test`
struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Validate rule files and try them on example events.",
        subcommands: []
    )
}
