import ArgumentParser
import BridgeCore
import BridgeStore
import Foundation

/// `dagbridge store migrate`: brings the journal's schema up to date, before a rollout of a
/// newer dagbridge to a fleet (every replica also migrates at start-up, one at a time under a lock).
struct StoreMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring the journal's schema up to date (the PostgreSQL database, or the SQLite file).",
        discussion: """
            PostgreSQL: applies the schema versions the database lacks, under an advisory lock (replicas \
            starting meanwhile wait), and prints the version before and after. A database migrated by a newer \
            dagbridge is refused, and left as it is. SQLite: opening the file applies what it lacks (serve does \
            too); the file must exist. Safe while the service runs.
            """)

    @OptionGroup var location: StoreLocation

    func validate() throws {
        if location.server != nil { throw ValidationError("store migrate works on the journal itself: give --config FILE (or --store PATH), not --server") }
    }

    func run() async throws {
        let config = try location.storeConfig()
        switch config.backend {
        case .sqlite:
            guard FileManager.default.fileExists(atPath: config.path) else {
                throw Failure(message: "no store at '\(config.path)' (serve creates it; give --store PATH or --config FILE)")
            }
            do {
                _ = try Journal(config: config, logger: StoreCommand.logger)
            } catch {
                throw Failure(message: "\(error)")
            }
            print("the SQLite store at \(config.path) is at the latest schema (opening it applied any migration it lacked)")
        case .postgres:
            let logger = StoreCommand.logger
            let before: Int?, after: Int
            do {
                let journal: PostgresJournal
                do {
                    // Opens without migrating only when the schema is the one this dagbridge needs.
                    journal = try await PostgresJournal.open(config: config, logger: logger, migrate: false)
                    before = nil
                } catch let e as BridgeError where e.code == .config {
                    // Older (or newer) than this dagbridge: read which, then migrate; a newer one is refused.
                    before = try await PostgresJournal.schemaVersion(config: config, logger: logger)
                    journal = try await PostgresJournal.open(config: config, logger: logger, migrate: true)
                }
                let applied = try await journal.appliedMigrations()
                await journal.close()
                after = applied.max() ?? 0
            } catch {
                throw Failure(message: "\(error)")
            }
            if let before, before != after {
                print("journal schema at version \(after) (was \(before)) (\(config.location))")
            } else {
                print("journal schema already at version \(after) (\(config.location))")
            }
        }
    }
}
