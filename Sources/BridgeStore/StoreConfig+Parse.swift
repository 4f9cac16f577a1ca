public import BridgeConfig
import BridgeCore

extension StoreConfig {
    /// Reads the `store:` section; a missing section (nil) gives the defaults.
    ///
    /// Every problem is recorded in `diagnostics` (unknown keys with a did-you-mean suggestion,
    /// bad values with what is expected); returns `nil` when there was any.
    public static func parse(_ node: ConfigNode?, resolver: SecretResolver = SecretResolver(), diagnostics: inout Diagnostics) -> StoreConfig? {
        var config = StoreConfig()
        guard let node, !node.isNull else { return config }
        guard node.mapping != nil else {
            diagnostics.error("expected a mapping, found \(node.describeValue)", at: node)
            return nil
        }
        let before = diagnostics.items.count
        var section = ConfigSection(node)
        if let n = section["path"], let s = n.string(&diagnostics) {
            if s.trimmingSpaces.isEmpty {
                diagnostics.error("store path must not be empty", at: n)
            } else {
                config.path = s
            }
        }
        if let n = section["durability"], let s = n.string(&diagnostics) {
            if let d = Durability(rawValue: s.lowercased()) {
                config.durability = d
            } else {
                diagnostics.error("durability must be 'full' or 'normal', found '\(s)'", at: n)
            }
        }
        if let n = section["retention"], let d = n.duration(&diagnostics) {
            if d <= 0 { diagnostics.error("retention must be longer than 0s", at: n) } else { config.retention = d }
        }
        if let n = section["busy_timeout"], let d = n.duration(&diagnostics) { config.busyTimeout = d }
        if let n = section["high_water"], let v = n.int(&diagnostics, in: 1...Int(Int32.max)) { config.highWater = v }
        if let n = section["low_water"], let v = n.int(&diagnostics, in: 0...Int(Int32.max)) { config.lowWater = v }
        if let n = section["backend"], let s = n.string(&diagnostics) {
            if let b = Backend(rawValue: s.lowercased()) {
                config.backend = b
            } else {
                diagnostics.error("backend must be 'sqlite' or 'postgres', found '\(s)'", at: n)
            }
        }
        let url = section["url"], password = section["password"]
        let pool = section["pool"], lease = section["lease"], connect = section["connect_timeout"]
        if config.backend == .postgres {
            if let url, let secret = resolver.resolve(url, &diagnostics) {
                do {
                    var settings = try PostgresSettings.parse(url: secret)
                    if let password, let p = resolver.resolve(password, &diagnostics) {
                        if settings.password != nil {
                            diagnostics.error("the password is given twice: in the url and as store.password; keep one", at: password)
                        }
                        settings.password = p
                    }
                    config.postgres = settings
                } catch {
                    diagnostics.error(error.message, at: url)
                }
            } else if url == nil {
                diagnostics.error(
                    "backend 'postgres' needs url (e.g. url: \"${env:DAGBRIDGE_DATABASE_URL}\" holding postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full)",
                    at: node)
            }
            if let pool, let v = pool.int(&diagnostics, in: 1...1000) { config.pool = v }
            if let lease, let d = lease.duration(&diagnostics) {
                if d < 5 { diagnostics.error("lease must be at least 5s (keep it well above the targets' timeouts)", at: lease) } else { config.lease = d }
            }
            if let connect, let d = connect.duration(&diagnostics) {
                if d <= 0 { diagnostics.error("connect_timeout must be longer than 0s", at: connect) } else { config.connectTimeout = d }
            }
            if let p = node["path"] {
                diagnostics.error("path is the SQLite file; with backend 'postgres' the journal is in the database at url (remove path)", at: p)
            }
        } else {
            for (key, n) in [("url", url), ("password", password), ("pool", pool), ("lease", lease), ("connect_timeout", connect)] {
                if let n { diagnostics.error("\(key) is read only with backend: postgres (this store is SQLite)", at: n) }
            }
        }
        section.reportUnknown(&diagnostics)
        if config.lowWater > config.highWater {
            diagnostics.error(
                "low_water (\(config.lowWater)) must not be above high_water (\(config.highWater))",
                at: node["low_water"] ?? node)
        }
        return diagnostics.items.count == before ? config : nil
    }
}
