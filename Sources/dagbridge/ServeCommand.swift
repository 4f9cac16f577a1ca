import ArgumentParser
import BridgeConfig
import BridgeRules
import BridgeIntake
import BridgeServer
import BridgeStore
import Foundation
import Logging

/// `dagbridge serve --config FILE`: the service (webhooks, dispatcher, admin API, metrics).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the service: webhook ingress, dispatcher, admin API, health and metrics.",
        discussion: "SIGTERM/SIGINT shut down gracefully; SIGHUP reloads the rules.")

    @Option(name: .long, help: "The service configuration file.")
    var config: String = "dagbridge.yaml"

    func validate() throws {
        guard FileManager.default.isReadableFile(atPath: config) else {
            throw ValidationError("cannot read config file '\(config)' (pass --config FILE)")
        }
    }

    func run() async throws {
        let started = ContinuousClock.now
        // Before the service allocates: large blocks get their own mapping and go back when freed.
        let malloc = AllocatorTuning.apply(environment: ProcessInfo.processInfo.environment)
        let (loaded, diags) = ServiceConfig.load(path: config)
        for d in diags { printError(d.description) }
        guard let loaded else { throw Failure(message: "\(config): the configuration has errors (dagbridge config check --config \(config))") }
        let format = loaded.logging.format
        let level = loaded.logging.level
        LoggingSystem.bootstrap { label in StructuredLogHandler(label: label, format: format, level: level) }
        let logger = Logger(label: "dagbridge")
        let service: DagbridgeService
        do {
            service = try await DagbridgeService(config: loaded, logger: logger)
        } catch {
            throw Failure(message: "cannot start: \(error)")
        }
        let d = ContinuousClock.now - started
        logger.notice(
            "dagbridge \(DagbridgeVersion.string) starting",
            metadata: [
                "listen": "\(loaded.server.host):\(loaded.server.port)", "targets": "\(loaded.targets.count)",
                "webhooks": "\(loaded.webhooks.count)", "kafka": "\(loaded.kafka.count)", "rules": "\(service.rules.ruleSet.rules.count)",
                "store": "\(loaded.store.location)", "executor": "\(ConcurrencyExecutor.current)", "malloc": "\(malloc)", "startup_ms": "\(d.components.attoseconds / 1_000_000_000_000_000 + d.components.seconds * 1000)",
            ])
        try await service.run()
    }
}
