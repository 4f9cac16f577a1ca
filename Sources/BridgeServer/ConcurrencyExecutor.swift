import NIOCore
import NIOPosix
import Synchronization

/// Where `dagbridge serve` runs its Swift tasks.
public enum ConcurrencyExecutor {
    private static let chosen = Mutex("pool")

    /// The executor in use, for the start-up log line: `nio`, or `pool` (Swift's cooperative pool).
    public static var current: String { chosen.withLock { $0 } }

    /// Makes NIO's event loops Swift Concurrency's global executor, so a request's handler runs
    /// on the event loop that read it instead of hopping to the cooperative pool and back.
    /// Call once, first thing in the process. Returns false if the runtime refused (tasks then
    /// stay on the cooperative pool).
    @discardableResult
    public static func useEventLoops() -> Bool {
        let installed = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        chosen.withLock { $0 = installed ? "nio" : "pool (the runtime refused the event-loop executor)" }
        return installed
    }
}
