import Synchronization

/// What was verified (a MAC or a digest of the signed content) inside its tolerance window; a
/// second delivery of the same signed content is refused.
///
/// An entry stays remembered for twice the tolerance (a timestamp may lie up to `tolerance` in
/// the past or the future). Only verified deliveries are remembered, so unsigned traffic cannot
/// fill it. Memory is bounded by time and by size: expired entries are swept every 30 s, and at
/// ``capacity`` the half closest to expiry is forgotten (about 48 bytes per entry).
final class ReplayCache: Sendable {
    /// The first 128 bits of what was verified.
    struct Key: Hashable {
        let high: UInt64
        let low: UInt64

        init(_ bytes: [UInt8]) {
            var h: UInt64 = 0
            var l: UInt64 = 0
            for (i, b) in bytes.prefix(16).enumerated() {
                if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
            }
            high = h
            low = l
        }
    }

    private struct State {
        var expiry: [Key: Double] = [:]
        var nextSweep: Double = 0
    }
    // Mutex makes the cache safe to share between request handlers.
    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 200_000) {
        self.capacity = capacity
    }

    /// How many entries are held (tests, metrics).
    var count: Int { state.withLock { $0.expiry.count } }

    /// Remembers `verified` for `ttl` seconds.
    /// - Throws: a rejection when it was seen and has not expired.
    func check(_ verified: [UInt8], now: Double, ttl: Double) throws(WebhookVerifier.Rejection) {
        let key = Key(verified)
        let capacity = self.capacity
        let fresh = state.withLock { s -> Bool in
            if now >= s.nextSweep || s.expiry.count >= capacity {
                s.expiry = s.expiry.filter { $0.value > now }
                if s.expiry.count >= capacity {
                    let keep = s.expiry.sorted { $0.value > $1.value }.prefix(capacity / 2)
                    s.expiry = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
                }
                s.nextSweep = now + 30
            }
            if let until = s.expiry[key], until > now { return false }
            s.expiry[key] = now + ttl
            return true
        }
        guard fresh else {
            throw WebhookVerifier.Rejection(publicMessage: "replayed delivery", detail: "signed content already seen inside the tolerance window")
        }
    }
}
