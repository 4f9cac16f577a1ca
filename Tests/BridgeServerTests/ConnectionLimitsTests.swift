import BridgeConfig
import NIOCore
import Testing

@testable import BridgeServer

/// The decisions of ``ConnectionDeadlines`` without a clock or a socket (10 s header, 30 s body,
/// 75 s idle), and the `server:` keys that set them.
@Suite struct ConnectionDeadlinesTests {
    static let limits = ConnectionLimits()

    func at(_ seconds: Double) -> NIODeadline { .uptimeNanoseconds(UInt64(1_000_000_000 + seconds * 1e9)) }

    @Test func aConnectionThatSendsPartOfItsHeadIsClosedAtTheHeaderLimitFromItsStart() {
        var d = ConnectionDeadlines(Self.limits)
        #expect(d.start(now: at(0)) == .schedule(at(10)))
        // Bytes keep arriving (a header at a time) but the head never completes: no extension.
        for t in stride(from: 1.0, to: 10, by: 1) { #expect(d.readComplete(now: at(t)) == .none) }
        #expect(d.timerFired(now: at(10)) == .close(.header))
    }

    @Test func aTricklingBodyIsClosedAtTheBodyLimitFromItsHead() {
        var d = ConnectionDeadlines(Self.limits)
        _ = d.start(now: at(0))
        d.headReceived()
        #expect(d.readComplete(now: at(2)) == .none)  // the armed header timer (10 s) fires first
        #expect(d.deadline?.phase == .body)
        for t in stride(from: 3.0, to: 32, by: 1) { #expect(d.readComplete(now: at(t)) == .none) }
        #expect(d.timerFired(now: at(10)) == .schedule(at(32)))
        #expect(d.timerFired(now: at(32)) == .close(.body))
    }

    @Test func anIdleKeepAliveConnectionIsClosedAtTheIdleLimitAfterItsLastAnswer() {
        var d = ConnectionDeadlines(Self.limits)
        _ = d.start(now: at(0))
        d.headReceived()
        d.endReceived()
        #expect(d.readComplete(now: at(1)) == .none)
        #expect(d.deadline == nil)  // being answered: no limit, however long the route takes
        #expect(d.timerFired(now: at(10)) == .none)
        #expect(d.responseEnded(now: at(50)) == .schedule(at(125)))
        #expect(d.timerFired(now: at(125)) == .close(.idle))
    }

    @Test func bytesOnAnIdleConnectionStartTheHeaderLimitOfTheNextRequest() {
        var d = ConnectionDeadlines(Self.limits)
        _ = d.start(now: at(0))
        d.headReceived()
        d.endReceived()
        _ = d.readComplete(now: at(1))
        _ = d.responseEnded(now: at(2))
        #expect(d.timerFired(now: at(10)) == .schedule(at(77)))
        // The next request's first bytes at 50 s: its head is due at 60 s, before the idle limit.
        #expect(d.readComplete(now: at(50)) == .schedule(at(60)))
        #expect(d.timerFired(now: at(60)) == .close(.header))
    }

    @Test func aRequestAnsweredBeforeItsBodyEndedKeepsItsBodyLimitThenGoesIdle() {
        var d = ConnectionDeadlines(Self.limits)
        _ = d.start(now: at(0))
        d.headReceived()
        _ = d.readComplete(now: at(1))
        #expect(d.responseEnded(now: at(1.1)) == .none)  // 413 before the body: still reading it
        #expect(d.deadline?.phase == .body)
        d.endReceived()
        _ = d.readComplete(now: at(5))
        #expect(d.deadline?.phase == .idle)
    }

    @Test("keep-alive requests that arrive in one read each never re-arm the timer: one clock reading, no timer work per request")
    func keepAliveRequestsDoNotTouchTheTimer() {
        var d = ConnectionDeadlines(Self.limits)
        #expect(d.start(now: at(0)) == .schedule(at(10)))
        var actions: [ConnectionDeadlines.Action] = []
        for i in 0..<10_000 {
            let t = Double(i) * 0.0009
            d.headReceived()
            d.endReceived()
            actions.append(d.readComplete(now: at(t)))
            actions.append(d.responseEnded(now: at(t + 0.0005)))
        }
        #expect(actions.allSatisfy { $0 == .none })
        // The header timer fires once, finds the connection idle and moves to the idle deadline.
        #expect(d.timerFired(now: at(10)) == .schedule(at(9999 * 0.0009 + 0.0005 + 75)))
    }
}

@Suite struct ConnectionLimitsConfigTests {
    func parse(_ yaml: String) -> (ServiceConfig.Server, [String]) {
        let (node, d0) = YAMLLoader.parse(yaml, file: "c.yaml")
        var diags = Diagnostics()
        diags.append(contentsOf: d0)
        let server = node.map { ServiceConfig.Server($0, resolvePath: { $0 }, resolver: SecretResolver(environment: [:]), diagnostics: &diags) }
        return (server ?? ServiceConfig.Server(), diags.items.filter { $0.severity == .error }.map(\.description))
    }

    @Test func defaultsAndValues() {
        let (defaults, e0) = parse("listen: 127.0.0.1:8080")
        #expect(e0.isEmpty)
        #expect(defaults.connections.headerTimeout == .seconds(10))
        #expect(defaults.connections.bodyTimeout == .seconds(30))
        #expect(defaults.connections.idleTimeout == .seconds(75))
        #expect(defaults.connections.maxConnections == 512)
        let (set, e1) = parse("header_timeout: 2s\nbody_timeout: 1m\nidle_timeout: 500ms\nmax_connections: 64")
        #expect(e1.isEmpty, "\(e1)")
        #expect(set.connections.headerTimeout == .seconds(2))
        #expect(set.connections.bodyTimeout == .seconds(60))
        #expect(set.connections.idleTimeout == .milliseconds(500))
        #expect(set.connections.maxConnections == 64)
    }

    @Test(arguments: [
        ("header_timeout: 0s", "c.yaml:1:17: error: header_timeout must be more than 0s and at most 24h (the longest wait for a request's head), found '0s'"),
        ("body_timeout: 0", "body_timeout must be more than 0s and at most 24h"),
        ("idle_timeout: 2d", "idle_timeout must be more than 0s and at most 24h (how long a keep-alive connection waits for its next request), found '2d'"),
        ("body_timeout: fast", "expected a duration like 30s, 5m, 24h or 7d, found 'fast'"),
        ("header_timeout: -1s", "expected a duration"),
        ("max_connections: 0", "max_connections must be a whole number from 1 to 1000000 (the most connections open at once; more are refused), found '0'"),
        ("max_connections: lots", "max_connections must be a whole number from 1 to 1000000"),
        ("max_connections: 2.5", "max_connections must be a whole number"),
        ("max_connections: [1]", "max_connections must be a whole number from 1 to 1000000 (the most connections open at once; more are refused), found a list"),
        ("idle_timout: 5s", "unknown key 'idle_timout'; did you mean 'idle_timeout'?"),
        ("max_conections: 5", "unknown key 'max_conections'; did you mean 'max_connections'?"),
    ])
    func badValuesSayWhatToFix(yaml: String, message: String) {
        let (server, errors) = parse(yaml)
        #expect(errors.contains { $0.contains(message) }, "\(errors)")
        #expect(errors.allSatisfy { $0.hasPrefix("c.yaml:1:") }, "\(errors)")
        #expect(server.connections == ConnectionLimits())  // a refused value leaves the default
    }

    @Test func theOpenFileLimitMustLeaveRoomForTheConnections() {
        #expect(OpenFileLimit.warning(maxConnections: 512, limit: 1024) == nil)
        #expect(OpenFileLimit.warning(maxConnections: 512, limit: nil) == nil)
        let warning = OpenFileLimit.warning(maxConnections: 1000, limit: 1024)
        #expect(warning?.contains("server.max_connections is 1000 but this process may open only 1024 files") == true, "\(warning ?? "")")
        #expect(OpenFileLimit.current.map { $0 > 0 } ?? true)
    }
}
