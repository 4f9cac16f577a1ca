import ArgumentParser
import BridgeServer
import Foundation

/// The `dagbridge` command tree. Each subcommand's `run()` calls into the libraries.
///
/// Exit codes: 0 ok, 1 problems found (or the operation failed), 2 usage error.
@main
struct Dagbridge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dagbridge",
        abstract: "Turn webhooks and Kafka messages into Apache Airflow DAG runs.",
        version: DagbridgeVersion.string,
        subcommands: [
            RulesCommand.self,
            TriggerCommand.self,
            TargetsCommand.self,
            DLQCommand.self,
            DispatchCommand.self,
            StoreCommand.self,
            ConfigCommand.self,
            ServeCommand.self,
            VersionCommand.self,
        ]
    )

    /// Parses arguments and runs the command, mapping failures to dagbridge's exit codes.
    static func main() async {
        // `serve` runs its tasks on NIO's event loops (one thread hop less per request);
        // DAGBRIDGE_EXECUTOR=pool keeps Swift's own cooperative pool.
        if CommandLine.arguments.dropFirst().first == "serve" {
            switch ProcessInfo.processInfo.environment["DAGBRIDGE_EXECUTOR"] ?? "" {
            case "", "nio": ConcurrencyExecutor.useEventLoops()
            case "pool": break
            case let other:
                FileHandle.standardError.write(Data("error: DAGBRIDGE_EXECUTOR must be 'nio' (the default) or 'pool', found '\(other)'\n".utf8))
                Foundation.exit(2)
            }
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                // Usage problems exit 2 (argument-parser's default is 64).
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// The version string printed by `dagbridge version` and `--version`.
enum DagbridgeVersion {
    static let string = "0.1.0"
}

/// `dagbridge version`
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    func run() {
        print("dagbridge \(DagbridgeVersion.string)")
    }
}

/// Exit with status 1 after printing a message: the "problems found" exit.
struct Failure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
