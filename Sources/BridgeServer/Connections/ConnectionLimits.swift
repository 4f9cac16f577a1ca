/// How long the HTTP server waits for a client, and how many connections it keeps open: the
/// `server:` keys `header_timeout`, `body_timeout`, `idle_timeout` and `max_connections`, read by
/// ``ServiceConfig/Server/init(_:resolvePath:resolver:diagnostics:)``.
///
/// A client that sends a request line and one header, then nothing, is closed at `header_timeout`;
/// one that trickles its body, at `body_timeout`; a keep-alive connection with no next request, at
/// `idle_timeout`. Each limit is a whole-phase deadline, not a gap between reads, so sending one
/// byte at a time does not stretch it. Above `max_connections` open connections a new one is
/// accepted and closed at once, so slow senders cannot hold sockets and memory without bound.
public struct ConnectionLimits: Sendable, Equatable {
    /// Longest time from a connection's start (TLS handshake included), or from the first byte of a
    /// later request on it, until the request's head (request line and headers) has arrived.
    /// The connection is then closed without an answer. Default 10 s: webhook senders write a
    /// request in one go, and nginx's `client_header_timeout` (60 s) is meant for browsers.
    public var headerTimeout: Duration = .seconds(10)
    /// Longest time from a request's head until the last byte of its body; the request is then
    /// abandoned (never handled with a partial body) and the connection closed. Default 30 s: a
    /// `max_body` of 1 MiB at 35 KB/s; raise it with `max_body` for slow links and large bodies.
    public var bodyTimeout: Duration = .seconds(30)
    /// Longest time a keep-alive connection may wait, after an answer, for the next request to
    /// begin. Default 75 s, nginx's `keepalive_timeout`: longer than the 60 s idle timeout of AWS
    /// load balancers, so a balancer never reuses a connection the service is closing.
    public var idleTimeout: Duration = .seconds(75)
    /// Most connections open at once; one more is closed as soon as it is accepted. Default 512,
    /// nginx's `worker_connections`: eight times the 64 concurrent clients that saturate a 2-core
    /// host, and within systemd's default limit of 1,024 open files, which the journal and the
    /// Airflow and Kafka connections share (`serve` warns when the limit leaves too little room).
    public var maxConnections = 512

    public init() {}

    /// The largest `max_connections` accepted in a config file.
    public static let maxConnectionsCeiling = 1_000_000
}
