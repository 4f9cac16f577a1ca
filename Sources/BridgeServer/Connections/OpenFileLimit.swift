#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open files (`ulimit -n`), against which `server.max_connections` is checked
/// at start: above it, accepting fails with "too many open files" before the cap is reached, and the
/// journal and the outgoing connections fail with it.
enum OpenFileLimit {
    /// Files the service opens besides client connections: journal, event loops, Airflow and Kafka connections.
    static let reserve = 128

    /// The soft limit, or `nil` when there is none or it cannot be read.
    static var current: Int? {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < rlim_t(Int32.max) else { return nil }  // above: unlimited
        return Int(clamping: limit.rlim_cur)
    }

    /// What to log when `maxConnections` plus ``reserve`` does not fit in `limit`; `nil` when it fits.
    static func warning(maxConnections: Int, limit: Int?) -> String? {
        guard let limit, maxConnections + reserve > limit else { return nil }
        return "server.max_connections is \(maxConnections) but this process may open only \(limit) files, about \(reserve) of them "
            + "taken by the journal, event loops and outgoing connections: connections would fail with 'too many open files' "
            + "before the cap; raise the limit (systemd LimitNOFILE=, docker --ulimit nofile=, ulimit -n) or lower max_connections"
    }
}
