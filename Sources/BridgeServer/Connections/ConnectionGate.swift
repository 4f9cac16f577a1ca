public import Logging
import NIOCore
import Synchronization

/// Why the server closed a connection on its own.
public enum ConnectionCut: String, Sendable, CaseIterable {
    /// Over `server.max_connections`: closed as soon as it was accepted.
    case refused
    /// The request's head did not arrive within `server.header_timeout`.
    case headerTimeout = "header_timeout"
    /// The request's body did not arrive within `server.body_timeout`.
    case bodyTimeout = "body_timeout"
    /// No next request within `server.idle_timeout` on a keep-alive connection.
    case idleTimeout = "idle_timeout"
}

/// The HTTP server's open connections: counts them, admits a new one while fewer than
/// `max_connections` are open, and reports the connections the server cut (refused or timed out).
///
/// Every accepted connection is counted until its channel closes, the refused ones included, so
/// the count never drifts from the sockets actually open. Connections are counted on the event loop
/// that sets them up, so of several arriving at the same moment which one is refused is not fixed;
/// more than `limit` are never admitted.
public final class ConnectionGate: Sendable {
    /// The most connections open at once.
    public let limit: Int
    private let open = Atomic<Int>(0)
    /// Uptime (ns) of the last "limit reached" warning, so a flood logs once a minute, not per connection.
    private let lastWarning = Atomic<UInt64>(0)
    private let onCut: @Sendable (ConnectionCut) -> Void
    private let logger: Logger

    /// - Parameters:
    ///   - limit: the most connections open at once (`server.max_connections`).
    ///   - onCut: called for every connection the server closes on its own (for metrics); on an event loop, so it must not block.
    public init(limit: Int, logger: Logger, onCut: @escaping @Sendable (ConnectionCut) -> Void = { _ in }) {
        self.limit = limit
        self.logger = logger
        self.onCut = onCut
    }

    /// Connections open now.
    public var openConnections: Int { open.load(ordering: .relaxed) }

    /// Counts an accepted connection until it closes; `false` when it is over the limit and must be closed.
    func admit(_ channel: any Channel) -> Bool {
        let count = open.add(1, ordering: .relaxed).newValue
        channel.closeFuture.whenComplete { _ in self.open.subtract(1, ordering: .relaxed) }
        guard count > limit else { return true }
        record(.refused)
        let now = NIODeadline.now().uptimeNanoseconds
        let last = lastWarning.load(ordering: .relaxed)
        if last == 0 || now &- last >= 60_000_000_000, lastWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged {
            logger.warning(
                "server.max_connections reached: refusing new connections until some close (logged at most once a minute; the metric dagbridge_http_connections_cut_total counts them)",
                metadata: ["max_connections": "\(limit)"])
        }
        return false
    }

    /// A connection the server closed on its own.
    func record(_ cut: ConnectionCut) {
        onCut(cut)
    }
}
