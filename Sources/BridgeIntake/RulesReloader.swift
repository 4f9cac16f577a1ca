public import BridgeConfig
public import BridgeRules
public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
import UnixSignals

/// Reloads the rules on `SIGHUP`, on ``reload()`` (admin endpoint), and when a rule file changes
/// (polled every 2 s when `rules.watch` is on). A set with errors is rejected, its diagnostics
/// logged, and the last good set stays active.
public final class RulesReloader: Service, Sendable {
    let directory: String
    let options: RuleSetLoader.Options
    let holder: RuleSetHolder
    let watch: Bool
    let logger: Logger
    // Mutex around the outcome of the last reload (the console's overview shows it).
    private let last = Mutex<Reload?>(nil)

    /// One reload: when, whether the new set went live, and what the loader said.
    public struct Reload: Sendable {
        public var at: Date
        public var ok: Bool
        public var diagnostics: [Diagnostic]
    }

    /// The last reload since start (nil before the first).
    public var lastReload: Reload? { last.withLock { $0 } }

    /// - Parameters:
    ///   - directory: the rules folder.
    ///   - options: what the rules are checked against (targets, sources, size limits).
    ///   - watch: poll the folder for changes every 2 s.
    public init(directory: String, options: RuleSetLoader.Options, holder: RuleSetHolder, watch: Bool, logger: Logger) {
        self.directory = directory
        self.options = options
        self.holder = holder
        self.watch = watch
        self.logger = logger
    }

    /// Loads the rules folder again; returns the diagnostics (empty or warnings only on success).
    @discardableResult
    public func reload() -> (ok: Bool, diagnostics: [Diagnostic]) {
        let loaded = RuleSetLoader.load(directory: directory, options: options)
        last.withLock { $0 = Reload(at: Date(), ok: loaded.ruleSet != nil, diagnostics: loaded.diagnostics) }
        guard let set = loaded.ruleSet else {
            for d in loaded.diagnostics { logger.error("rules reload rejected; keeping the last good set", metadata: ["problem": "\(d)"]) }
            return (false, loaded.diagnostics)
        }
        holder.replace(set)
        logger.notice("rules reloaded", metadata: ["rules": "\(set.rules.count)", "generation": "\(holder.generation)"])
        return (true, loaded.diagnostics)
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals {
                    self.logger.notice("SIGHUP: reloading rules")
                    self.reload()
                }
            }
            if watch {
                group.addTask {
                    var last = RuleFiles.fingerprint(of: self.directory)
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(2))
                        let now = RuleFiles.fingerprint(of: self.directory)
                        if now != last {
                            last = now
                            self.reload()
                        }
                    }
                }
            }
            group.addTask { try? await gracefulShutdown() }
            _ = try await group.next()
            group.cancelAll()
        }
    }
}
