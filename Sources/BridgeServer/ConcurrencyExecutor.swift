import NIOCore
import NIOPosix

/// Where `dagbridge serve` runs its Swift tasks.
public enum ConcurrencyExecutor {
    /// Makes NIO's event loops Swift Concurrency's global executor, so a request's handler runs
    /// on the event loop that read it instead of hopping to the cooperative pool and back.
    /// Call once, first thing in the process. Returns false if the runtime refused.
    @discardableResult
    public static func useEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
