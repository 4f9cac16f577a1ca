import ArgumentParser
import BridgeStore
import Foundation

/// `dagbridge store copy`: moves a SQLite journal into an empty PostgreSQL journal, ids and all,
/// when a single node becomes a fleet.
struct StoreCopy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a SQLite journal into an empty PostgreSQL journal, keeping ids. Run it with the service stopped.",
        discussion: """
            Copies every event (envelope and raw body), job (state, attempts, replays, reason, run id), attempt \
            and audit entry, keeping their ids, so dlq show ID and the audit log's links still work; then sets \
            the database's id sequences past the copied ids. Jobs in flight become pending and due at once. \
            The target is written in one transaction: a copy that fails leaves it empty, and a target that \
            already holds a journal is refused (copy into an empty database, or drop schema dagbridge first). \
            The target's schema is created when missing.

            Stop the service first: events it accepts after the copy starts would stay behind in the file. \
            Then switch the configuration to the PostgreSQL store and start the fleet.
            """)

    @Option(name: .customLong("from-config"), help: ArgumentHelp("The configuration whose store (SQLite) is copied.", valueName: "file"))
    var fromConfig: String?

    @Option(name: .customLong("from-store"), help: ArgumentHelp("The SQLite store file to copy (instead of --from-config).", valueName: "path"))
    var fromStore: String?

    @Option(name: .customLong("to-config"), help: ArgumentHelp("The configuration whose store (backend: postgres) receives the copy.", valueName: "file"))
    var toConfig: String

    @Option(help: ArgumentHelp("Rows per INSERT statement.", valueName: "rows"))
    var chunk: Int = 1000

    func validate() throws {
        if fromConfig != nil, fromStore != nil { throw ValidationError("give either --from-config or --from-store, not both") }
        if fromConfig == nil, fromStore == nil { throw ValidationError("name the journal to copy: --from-config FILE or --from-store PATH") }
        if !(1...100_000).contains(chunk) { throw ValidationError("--chunk must be from 1 to 100000, found \(chunk)") }
    }

    func run() async throws {
        // The same reading of a config file (a relative store.path from the file's folder) as --config everywhere.
        let source = try StoreLocation.parse(fromStore.map { ["--store", $0] } ?? ["--config", fromConfig ?? ""]).storeConfig()
        let target = try StoreLocation.parse(["--config", toConfig]).storeConfig()
        let sourceName = fromStore ?? fromConfig ?? ""
        guard source.backend == .sqlite else {
            throw Failure(
                message: "store copy reads a SQLite journal; the store in \(sourceName) is PostgreSQL (\(source.location)): "
                    + "copy one database into another with pg_dump")
        }
        guard target.backend == .postgres else {
            throw Failure(
                message: "store copy writes into a PostgreSQL journal; the store in \(toConfig) is the SQLite file \(target.path): "
                    + "to move a SQLite journal to another file, copy the file with the service stopped")
        }
        guard FileManager.default.fileExists(atPath: source.path) else {
            throw Failure(message: "no store at '\(source.path)' (give --from-store PATH or --from-config FILE)")
        }
        let counts: JournalCopy.Counts
        do {
            let from = try Journal(config: source, logger: StoreCommand.logger)
            let to = try await PostgresJournal.open(config: target, logger: StoreCommand.logger, migrate: true)
            print("copying \(source.path) into \(target.location)")
            do {
                counts = try await JournalCopy.copy(from: from, to: to, chunk: chunk) { p in
                    FileHandle.standardError.write(Data("  \(p)\n".utf8))
                }
            } catch {
                await to.close()
                throw error
            }
            await to.close()
        } catch {
            throw Failure(message: "\(error)")
        }
        print(counts)
    }
}
