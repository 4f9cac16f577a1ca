import ArgumentParser
import BridgeAirflow
import BridgeConfig
import BridgeCore
import BridgeDispatch
import BridgeHTTP
import BridgeStore
import Foundation
import Logging

/// `dagbridge dispatch --config FILE` (hidden): only the dispatcher, over the store and targets of
/// a configuration file, until SIGTERM/SIGINT. For maintenance (drain a store without taking new
/// events) and for the crash tests; the service itself is `serve`.
struct DispatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch",
        abstract: "Deliver the jobs in the store (dispatcher only, no sources) until stopped.",
        shouldDisplay: false
    )

    @Option(help: "The service configuration file (its store: and targets: sections).")
    var config: String = "dagbridge.yaml"

    @Option(name: .customLong("shutdown-deadline"), help: "Seconds to wait for calls in flight on SIGTERM.")
    var shutdownDeadline: Double = 10

    @Option(name: .customLong("idle-poll"), help: "Longest sleep of an idle target lane, in seconds.")
    var idlePoll: Double = 1

    func run() async throws {
        let (root, problems) = YAMLLoader.load(path: config)
        var diags = Diagnostics()
        diags.append(contentsOf: problems)
        let store = StoreConfig.parse(root?["store"], diagnostics: &diags)
        var policies: [String: DispatchPolicy] = [:]
        let (targets, targetProblems) = TargetsConfig.load(path: config) { name, section, d in policies[name] = DispatchPolicy.parse(&section, &d) }
        diags.append(contentsOf: targetProblems)
        for d in diags.items { FileHandle.standardError.write(Data((d.description + "\n").utf8)) }
        guard let store, !diags.hasErrors else { throw Failure(message: "\(config): configuration has errors") }
        var logger = Logger(label: "dagbridge.dispatch")
        logger.logLevel = .notice
        let journal: any JournalStore
        do {
            journal = try await JournalOpener.open(store.resolvingPath(relativeTo: config), logger: logger)
        } catch {
            throw Failure(message: "\(error)")
        }
        let http = try HTTPClient()
        let registry = try AirflowTargets(targets, client: http)
        let dispatcher = Dispatcher(
            journal: journal, targets: DispatchTarget.all(clients: registry.clients, policies: policies),
            options: Dispatcher.Options(shutdownDeadline: .seconds(shutdownDeadline), idlePoll: .seconds(idlePoll)), logger: logger)
        try await dispatcher.runUntilSignalled(logger: logger)
        await http.shutdownAndWait()
    }
}
