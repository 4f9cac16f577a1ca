public import Foundation

/// A token bucket: `rate` tokens per second, holding at most `burst`.
public struct RateLimiter: Sendable, Equatable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var last: Date

    /// - Parameters:
    ///   - rate: requests per second (> 0).
    ///   - burst: most requests at once after a quiet spell; default one second's worth (at least 1).
    public init(rate: Double, burst: Double? = nil, now: Date = Date()) {
        self.rate = rate
        self.burst = Swift.max(1, burst ?? rate)
        self.tokens = self.burst
        self.last = now
    }

    private mutating func refill(_ now: Date) {
        let dt = now.timeIntervalSince(last)
        if dt > 0 {
            tokens = Swift.min(burst, tokens + dt * rate)
            last = now
        }
    }

    /// Whole tokens available now.
    public mutating func available(now: Date) -> Int {
        refill(now)
        return Int(tokens.rounded(.down))
    }

    /// Takes one token (call only after ``available(now:)`` said there is one).
    public mutating func take(now: Date) {
        refill(now)
        tokens -= 1
    }

    /// When the next whole token will be there.
    public mutating func nextToken(now: Date) -> Date {
        refill(now)
        if tokens >= 1 { return now }
        return now.addingTimeInterval((1 - tokens) / rate)
    }
}
