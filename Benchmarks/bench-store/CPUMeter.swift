import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// CPU seconds (user + system) spent so far by this process and, when a PostgreSQL data folder is
/// given, by that cluster's server processes. Two readings give what a case cost.
///
/// The server: the postmaster is the process whose command line holds the data folder
/// (`postgres -D DIR/data`); its backends, walwriter, checkpointer and so on are its children,
/// which rename themselves (`postgres: dagbridge db 127.0.0.1(…) idle`) so their command lines do
/// not hold it. The sum is the postmaster's own time, plus what its exited children used (`cutime`
/// and `cstime`: the postmaster reaps every child), plus the time of the children alive now. A
/// backend that ends between two readings thus moves from the last sum into `cutime`, and no time
/// is lost or counted twice.
struct CPUMeter {
    struct Reading {
        /// This process.
        var process: Double
        /// The PostgreSQL server processes (0 without a data folder).
        var server: Double

        static func - (a: Reading, b: Reading) -> Reading {
            Reading(process: a.process - b.process, server: a.server - b.server)
        }
    }

    /// The cluster's data folder, or nil (SQLite: nothing outside this process).
    let dataDir: String?

    func read() -> Reading {
        Reading(process: Self.processSeconds(), server: dataDir.map(Self.serverSeconds) ?? 0)
    }

    /// `getrusage(RUSAGE_SELF)`: user + system seconds of every thread of this process.
    static func processSeconds() -> Double {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(u.ru_utime) + s(u.ru_stime)
    }

    private static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// The fields of `/proc/PID/stat` after the command name (which may hold spaces): index 0 is
    /// field 3 (state), 1 the parent pid, 11 and 12 utime and stime, 13 and 14 cutime and cstime.
    private static func stat(_ pid: String) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else {
            return nil
        }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 14 ? fields : nil
    }

    /// The pids whose command line holds `dataDir` as an argument (the postmaster: `postgres -D DIR`).
    static func postmasters(dataDir: String, among pids: [String]? = nil) -> Set<String> {
        var found = Set<String>()
        for pid in pids ?? allPids() {
            guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            // Arguments are NUL-separated.
            let args = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if args.contains(where: { $0 == dataDir || $0 == dataDir + "/" }) { found.insert(pid) }
        }
        return found
    }

    private static func allPids() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { $0.allSatisfy(\.isNumber) } ?? []
    }

    static func serverSeconds(dataDir: String) -> Double {
        let pids = allPids()
        let postmasters = postmasters(dataDir: dataDir, among: pids)
        var ticksUsed = 0.0
        for pid in pids {
            guard let f = stat(pid) else { continue }
            let own = (Double(f[11]) ?? 0) + (Double(f[12]) ?? 0)
            if postmasters.contains(pid) {
                ticksUsed += own + (Double(f[13]) ?? 0) + (Double(f[14]) ?? 0)
            } else if postmasters.contains(String(f[1])) {
                ticksUsed += own
            }
        }
        return ticksUsed / ticks
    }
}
