public import BridgeConfig

extension ConnectionLimits {
    /// Reads the connection keys of a `server:` section (the rest of it is
    /// ``ServiceConfig/Server/init(_:resolvePath:resolver:diagnostics:)``'s):
    ///
    /// - `header_timeout` (duration, default 10s): from a connection's start, or the first byte of a
    ///   later request, until the request's head has arrived
    /// - `body_timeout` (duration, default 30s): from a request's head until its whole body has arrived
    /// - `idle_timeout` (duration, default 75s): how long a keep-alive connection waits for its next request
    /// - `max_connections` (whole number, default 512): connections open at once; more are closed at once
    ///
    /// A duration must be more than zero and at most 24h, `max_connections` at least 1.
    public init(_ section: inout ConfigSection, diagnostics diags: inout Diagnostics) {
        self.init()
        Self.readTimeout(&section, "header_timeout", "the longest wait for a request's head", into: &headerTimeout, &diags)
        Self.readTimeout(&section, "body_timeout", "the longest wait for a request's body after its head", into: &bodyTimeout, &diags)
        Self.readTimeout(&section, "idle_timeout", "how long a keep-alive connection waits for its next request", into: &idleTimeout, &diags)
        if let m = section["max_connections"] {
            if case .scalar(let text, _) = m.kind, let v = Int(text), (1...Self.maxConnectionsCeiling).contains(v) {
                maxConnections = v
            } else {
                diags.error(
                    "max_connections must be a whole number from 1 to \(Self.maxConnectionsCeiling) (the most connections open at once; "
                        + "more are refused), found \(m.describeValue)", at: m)
            }
        }
    }

    private static func readTimeout(
        _ section: inout ConfigSection, _ key: String, _ what: String, into value: inout Duration, _ diags: inout Diagnostics
    ) {
        guard let node = section[key], let seconds = node.duration(&diags) else { return }
        guard seconds > 0, seconds <= 86400 else {
            diags.error("\(key) must be more than 0s and at most 24h (\(what)), found \(node.describeValue)", at: node)
            return
        }
        value = .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }
}
