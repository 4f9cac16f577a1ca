public import Logging
import ServiceLifecycle
import UnixSignals

extension Dispatcher {
    /// Runs the dispatcher alone in a service group until SIGTERM or SIGINT, then shuts it down
    /// gracefully (stop taking jobs, wait for calls in flight up to the deadline).
    ///
    /// For `dagbridge dispatch` (a maintenance/test command); `serve` puts the dispatcher in its
    /// own service group with the other services.
    public func runUntilSignalled(logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: self)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
