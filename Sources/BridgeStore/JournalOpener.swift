public import Logging

/// Opens the journal a ``StoreConfig`` names: the SQLite file or the shared PostgreSQL database.
public enum JournalOpener {
    /// - Parameter migrate: bring a database's schema up to date (serve, `store migrate`); without
    ///   it an older schema is refused with what to run. SQLite files are always brought up to date.
    public static func open(_ config: StoreConfig, logger: Logger = Logger(label: "dagbridge.store"), migrate: Bool = true) async throws
        -> any JournalStore
    {
        switch config.backend {
        case .sqlite: try Journal(config: config, logger: logger)
        case .postgres: try await PostgresJournal.open(config: config, logger: logger, migrate: migrate)
        }
    }
}
