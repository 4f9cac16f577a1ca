import GRDB

extension Journal {
    /// The versioned schema. Never edit a registered migration; add a new one.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: events, jobs, attempts") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        id INTEGER PRIMARY KEY,
                        source TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        received_at REAL NOT NULL,
                        envelope TEXT NOT NULL,
                        raw_body BLOB NOT NULL,
                        UNIQUE (source, event_id)
                    );
                    CREATE TABLE jobs (
                        id INTEGER PRIMARY KEY,
                        event_ref INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        rule TEXT NOT NULL,
                        target TEXT NOT NULL,
                        dag_id TEXT NOT NULL,
                        conf TEXT NOT NULL,
                        dag_run_id TEXT NOT NULL,
                        logical_date TEXT,
                        note TEXT,
                        retry TEXT,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL,
                        age_from REAL NOT NULL,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL,
                        last_status INTEGER,
                        last_reason TEXT
                    );
                    CREATE INDEX jobs_due ON jobs (target, state, next_attempt_at, attempts);
                    CREATE INDEX jobs_event ON jobs (event_ref);
                    CREATE TABLE attempts (
                        id INTEGER PRIMARY KEY,
                        job_id INTEGER NOT NULL,
                        at REAL NOT NULL,
                        duration REAL NOT NULL,
                        http_status INTEGER,
                        outcome TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        answer TEXT NOT NULL
                    );
                    CREATE INDEX attempts_job ON attempts (job_id);
                    """)
        }
        m.registerMigration("v2: dead-letter queue filters, replays and the operator audit log") { db in
            try db.execute(
                sql: """
                    ALTER TABLE jobs ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX jobs_state_updated ON jobs (state, updated_at);
                    CREATE TABLE audit (
                        id INTEGER PRIMARY KEY,
                        at REAL NOT NULL,
                        actor TEXT NOT NULL,
                        action TEXT NOT NULL,
                        filters TEXT NOT NULL,
                        options TEXT NOT NULL,
                        job_count INTEGER NOT NULL
                    );
                    CREATE TABLE audit_jobs (
                        audit_id INTEGER NOT NULL,
                        job_id INTEGER NOT NULL,
                        detail TEXT
                    );
                    CREATE INDEX audit_jobs_job ON audit_jobs (job_id);
                    """)
        }
        m.registerMigration("v3: event lookup by id and dead-letter pages by rule or target") { db in
            // Event lookup without a source (the console, GET /admin/events/{id}) scanned every event;
            // PostgreSQL has had events_event_id from its first version. Filtered dead-letter pages
            // walk these newest first instead of every dead job.
            try db.execute(
                sql: """
                    CREATE INDEX events_event_id ON events (event_id);
                    CREATE INDEX jobs_state_rule_updated ON jobs (state, rule, updated_at);
                    CREATE INDEX jobs_state_target_updated ON jobs (state, target, updated_at);
                    """)
        }
        return m
    }

    /// Columns read into a ``StoredJob`` by ``decodeJob(_:)``, in order.
    static let jobColumns = """
        id, event_ref, rule, target, dag_id, conf, dag_run_id, logical_date, note, retry, state, attempts, \
        next_attempt_at, age_from, created_at, updated_at, last_status, last_reason, replays
        """
}

extension Journal {
    /// Names of the registered migrations, oldest first.
    @_spi(Testing) public static var migrationNames: [String] { migrator.migrations }

    /// Creates (or migrates) a store file only up to `migration`, to test upgrades of old files.
    @_spi(Testing) public static func createSchema(path: String, upTo migration: String) throws {
        let pool = try DatabasePool(path: path)
        try migrator.migrate(pool, upTo: migration)
    }

    /// Runs raw SQL on a store file (tests only: old-schema rows, clock games).
    @_spi(Testing) public static func execute(path: String, sql: String) throws {
        let pool = try DatabasePool(path: path)
        try pool.write { db in try db.execute(sql: sql) }
    }

    /// Names of the migrations applied to an open journal.
    @_spi(Testing) public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Journal.migrator.appliedMigrations(db) }
    }
}
