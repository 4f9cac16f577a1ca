import Synchronization

/// Signatures seen inside their tolerance window; an exact replay is refused.
///
/// A signature stays remembered for twice the tolerance (a timestamp may lie up to
/// `tolerance` in the past or the future). Memory is bounded: expired entries are
/// swept, and past ``capacity`` the oldest are forgotten first.
final class ReplayCache: Sendable {
    private struct State {
        var expiry: [String: Double] = [:]
        var nextSweep: Double = 0
    }
    // Mutex makes the cache safe to share between request handlers.
    private let state = Mutex(State())
    static let capacity = 200_000

    func check(_ key: String, now: Double, ttl: Double) throws(WebhookVerifier.Rejection) {
        let fresh = state.withLock { s -> Bool in
            if now >= s.nextSweep || s.expiry.count >= Self.capacity {
                s.expiry = s.expiry.filter { $0.value > now }
                if s.expiry.count >= Self.capacity {
                    let keep = s.expiry.sorted { $0.value > $1.value }.prefix(Self.capacity / 2)
                    s.expiry = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
                }
                s.nextSweep = now + 30
            }
            if let until = s.expiry[key], until > now { return false }
            s.expiry[key] = now + ttl
            return true
        }
        guard fresh else {
            throw WebhookVerifier.Rejection(publicMessage: "replayed delivery", detail: "signature already seen inside the tolerance window")
        }
    }
}
