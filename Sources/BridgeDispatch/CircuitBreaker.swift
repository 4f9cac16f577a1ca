public import Foundation

/// A per-target circuit breaker: after `threshold` consecutive failures the target is open (no
/// calls) for `cooldown` seconds, then half-open: one probe call decides whether it closes again
/// (success) or re-opens (failure).
///
/// It is for outages, not overload: the lane decides what counts (``LaneState``). With an adaptive
/// concurrency limit an overload answer counts only when the lane was already down to one call in
/// flight; above that the limit shrinks instead, and such answers neither count nor reset the count.
///
/// A value type with no clock of its own; the dispatcher keeps it under its lane's lock.
public struct CircuitBreaker: Sendable, Equatable {
    /// The breaker's position.
    public enum State: Sendable, Equatable {
        /// Calls flow; `failures` consecutive retryable failures so far.
        case closed(failures: Int)
        /// No calls until `until`.
        case open(until: Date)
        /// One probe call allowed; `probing` while it is under way.
        case halfOpen(probing: Bool)
    }

    /// What the caller may do now.
    public enum Permission: Sendable, Equatable {
        /// Send as many calls as other limits allow.
        case allowed
        /// Send exactly one call: the probe.
        case probe
        /// Send nothing until this time (open), or until the probe answers (nil).
        case wait(until: Date?)
    }

    public let threshold: Int
    public let cooldown: Double
    public private(set) var state: State = .closed(failures: 0)

    /// - Parameters:
    ///   - threshold: consecutive retryable failures that open the breaker; 0 disables it.
    ///   - cooldown: seconds open before the probe.
    public init(threshold: Int, cooldown: Double) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    /// What may be sent at `now` (moves open → half-open when the cool-down is over).
    public mutating func permission(now: Date) -> Permission {
        switch state {
        case .closed: return .allowed
        case .open(let until):
            if now < until { return .wait(until: until) }
            state = .halfOpen(probing: false)
            return .probe
        case .halfOpen(let probing):
            return probing ? .wait(until: nil) : .probe
        }
    }

    /// Marks the probe as sent.
    public mutating func probeStarted() {
        if case .halfOpen = state { state = .halfOpen(probing: true) }
    }

    /// What a call's result means to the breaker.
    public enum Verdict: Sendable, Equatable {
        /// The target answered (even if the job is dead for its own reasons): closes it.
        case success
        /// Counts towards opening it.
        case failure
        /// Overload while the lane still slows down: changes nothing, except for the probe, which it fails.
        case neutral
    }

    /// Records a call's result: `failure` for a retryable failure (5xx, 429, timeout, connection
    /// error), otherwise success (the target answered, even if the job is dead for its own reasons).
    /// - Returns: the time until which the breaker is open when this call opened it, else nil.
    @discardableResult
    public mutating func record(failure: Bool, now: Date) -> Date? {
        record(failure ? .failure : .success, now: now)
    }

    /// Records a call's result.
    /// - Returns: the time until which the breaker is open when this call opened it, else nil.
    @discardableResult
    public mutating func record(_ verdict: Verdict, now: Date) -> Date? {
        guard threshold > 0 else { return nil }
        if verdict == .neutral, case .closed = state { return nil }
        let failure = verdict != .success
        switch state {
        case .closed(let n):
            if !failure {
                state = .closed(failures: 0)
                return nil
            }
            if n + 1 >= threshold {
                let until = now.addingTimeInterval(cooldown)
                state = .open(until: until)
                return until
            }
            state = .closed(failures: n + 1)
            return nil
        case .halfOpen:
            if failure {
                let until = now.addingTimeInterval(cooldown)
                state = .open(until: until)
                return until
            }
            state = .closed(failures: 0)
            return nil
        case .open:
            // A call that started before the breaker opened: its result changes nothing.
            return nil
        }
    }

    /// The position without its details, for the admin API and metrics.
    public enum Phase: String, Sendable, Equatable, CaseIterable {
        case closed
        case open
        case halfOpen = "half_open"

        /// The metric's value: 0 closed, 1 half-open, 2 open.
        public var gaugeValue: Int {
            switch self {
            case .closed: return 0
            case .halfOpen: return 1
            case .open: return 2
            }
        }
    }

    /// Where the breaker is.
    public var phase: Phase {
        switch state {
        case .closed: return .closed
        case .open: return .open
        case .halfOpen: return .halfOpen
        }
    }
}
