#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import BridgeHTTP
import BridgeCore

/// Adds credentials to requests for one target.
public protocol RequestAuthorizer: Sendable {
    /// Adds credentials to a request about to be sent, fetching or refreshing them when needed.
    /// - Throws: ``AirflowError`` when no credentials can be had (never naming a secret).
    func authorize(_ request: inout HTTPRequest) async throws(AirflowError)
    /// Drops cached credentials after the target answered 401; returns `true` when fresh ones can be fetched.
    func invalidate() async -> Bool
}

/// Credentials that never change: none, basic, static bearer, a custom header.
struct StaticAuthorizer: RequestAuthorizer {
    let header: (name: String, value: String)?

    init(_ auth: AuthConfig) {
        switch auth {
        case .basic(let user, let password):
            header = ("Authorization", "Basic " + Base64.encode(Array("\(user):\(password.value)".utf8)))
        case .bearer(let token, let raw):
            header = ("Authorization", raw ? token.value : "Bearer \(token.value)")
        case .header(let name, let value):
            header = (name, value.value)
        default:
            header = nil
        }
    }

    func authorize(_ request: inout HTTPRequest) async throws(AirflowError) {
        if let header { request.headers.append(header) }
    }

    func invalidate() async -> Bool { false }
}

/// A token with the time it stops being usable.
struct CachedToken: Sendable {
    var value: String
    /// Seconds since 1970 after which the token must not be used (refresh margin already applied).
    var refreshAt: Double
}

/// Caches one token; concurrent callers share one fetch; a 401 invalidates it.
actor TokenCache {
    private var current: CachedToken?
    private var pending: Task<Result<CachedToken, AirflowError>, Never>?
    private var generation = 0
    /// How many fetches ran (tests check that many triggers share one).
    private(set) var fetchCount = 0
    private let now: @Sendable () -> Double

    init(now: @escaping @Sendable () -> Double = { Clock.now() }) {
        self.now = now
    }

    /// A valid token, fetched with `fetch` when none is cached or it is due for refresh.
    func token(_ fetch: @escaping @Sendable () async throws(AirflowError) -> CachedToken) async throws(AirflowError) -> String {
        if let c = current, c.refreshAt > now() { return c.value }
        if let pending {
            return try await pending.value.get().value
        }
        fetchCount += 1
        let gen = generation
        let task = Task { () -> Result<CachedToken, AirflowError> in
            do throws(AirflowError) {
                return .success(try await fetch())
            } catch {
                return .failure(error)
            }
        }
        pending = task
        let result = await task.value
        pending = nil
        if case .success(let t) = result, gen == generation { current = t }
        return try result.get().value
    }

    /// Forgets the cached token.
    func invalidate() {
        current = nil
        generation += 1
    }

    /// Replaces the cached token (tests: plant a stale token the server will refuse).
    func set(_ token: CachedToken) {
        current = token
    }
}

/// Wall-clock seconds since 1970.
enum Clock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
