public import Foundation

/// How many calls a lane may have in flight, adapted to what the target shows (`concurrency: adaptive`),
/// or always `max_in_flight` (`concurrency: fixed`).
///
/// The adaptive limit is TCP's congestion window applied to calls (AIMD, additive increase and
/// multiplicative decrease) with TCP Vegas' queueing estimate as a latency guard:
///
/// - It starts at 1 and grows while the limit is actually used and answers stay fast: by one per
///   answer up to the slow-start threshold (it doubles per round), then by one per round.
/// - An overload answer (5xx, 429, 408, a timeout after the request was sent) halves the level that
///   call saw (every failure of a round asks for the same level, so a round cuts once). The limit then
///   does not grow past the level it was cut to for 30 s, or 20 times as long as the failed call took
///   if that is longer (doubling, up to 10 min, while probes keep failing): one failing probe of an
///   Airflow on SQLite stalls it for its 5 s busy wait, so probing may cost about 5 % of the time.
/// - Rising latency shrinks it by one per round: Vegas' estimate of the calls waiting in the target,
///   `limit × (1 − baseline / latency)` (baseline: the fastest answer of the last 30–60 s, latency: a
///   moving average), above ``queueHigh``. Below ``queueLow`` the limit may grow.
/// - A target that cannot be reached (the request was never sent) halves it without blocking the
///   level: that is an outage, which the circuit breaker handles; afterwards the limit grows again.
///
/// Why AIMD with a Vegas guard rather than a pure gradient limiter: Airflow's answers carry an
/// explicit overload signal (a 500 from a locked SQLite, a 503/429 from a proxy, a timeout) that
/// arrives seconds late, and an Airflow with one API worker shows queueing as latency long before it
/// fails; AIMD reacts to the first, the Vegas guard to the second, and both are a few lines of
/// arithmetic that a unit test can drive with a simulated target.
public struct ConcurrencyLimit: Sendable, Equatable {
    /// What a finished call says about the target.
    public enum Signal: Sendable, Equatable {
        /// The target answered (delivered, duplicate, or refused for the job's own reasons) after `latency` seconds.
        case answered(latency: Double)
        /// The target is overloaded: 5xx, 429, 408, or a timeout after the request was sent; the
        /// failed call took `latency` seconds.
        case overloaded(latency: Double)
        /// The target could not be reached: the request was never sent (refused, DNS, TLS, connect timeout).
        case unreachable
    }

    /// What a call carries from its start to its end.
    public struct Ticket: Sendable, Equatable {
        /// The call's number (calls that started before a cut do not cut again).
        var seq: UInt64
        /// The limit when it started.
        public var limitAtStart: Int
        /// Whether the limit was in use when it started (only then may an answer grow it).
        var busy: Bool
    }

    /// A change of the limit, for the lane's log line.
    public struct Change: Sendable, Equatable {
        public var from: Int
        public var to: Int
        /// `overload`, `latency`, `unreachable`, or `recovered` (back at the maximum).
        public var reason: String

        public init(from: Int, to: Int, reason: String) {
            self.from = from
            self.to = to
            self.reason = reason
        }
    }

    /// Vegas' bounds on the estimated calls waiting in the target.
    public static let queueLow = 1.0
    public static let queueHigh = 2.0
    /// Seconds a level that overloaded stays blocked at first (at least), and at most.
    public static let firstBlock = 30.0
    /// A first block lasts at least this many times the failed call's duration.
    public static let probeCostFactor = 20.0
    public static let longestBlock = 600.0
    /// The baseline is the fastest answer of the last one to two of these windows (seconds).
    public static let baselineWindow = 30.0

    /// `max_in_flight`.
    public let maximum: Int
    public let adaptive: Bool
    /// The limit, fractional while it grows by one per round.
    public private(set) var window: Double
    private var slowStartThreshold: Double
    private var seq: UInt64 = 0
    private var lastCutSeq: UInt64 = 0
    private var lastBlockSeq: UInt64 = 0
    private var baselineNow = Double.infinity
    private var baselinePrevious = Double.infinity
    private var baselineSince: Date?
    /// Moving average of answer latencies (0 before the first).
    public private(set) var latency = 0.0
    /// A level that overloaded: the limit stays below it until `until`.
    private var blockedLevel: Int?
    private var blockedUntil = Date.distantPast
    private var blockSeconds = 0.0

    public init(maximum: Int, adaptive: Bool) {
        self.maximum = max(1, maximum)
        self.adaptive = adaptive
        window = 1
        slowStartThreshold = Double(self.maximum)
    }

    /// Calls allowed in flight now.
    public var current: Int { adaptive ? min(maximum, max(1, Int(window))) : maximum }

    /// The fastest recent answer, seconds (nil before the first).
    public var baseline: Double? {
        let b = min(baselineNow, baselinePrevious)
        return b.isFinite ? b : nil
    }

    /// A call starts while `inFlight` others are under way.
    public mutating func started(inFlight: Int) -> Ticket {
        seq += 1
        return Ticket(seq: seq, limitAtStart: current, busy: inFlight + 1 >= current)
    }

    /// A call ended with `signal`.
    /// - Returns: the change of ``current`` when there was one.
    public mutating func finished(_ ticket: Ticket, _ signal: Signal, now: Date) -> Change? {
        guard adaptive else { return nil }
        let before = current
        switch signal {
        case .overloaded(let seconds):
            // Down to half the level this call saw: every overload answer of a round asks for the same
            // level, so a round cuts once even when a milder cut (latency) came between.
            let target = max(1, Double(ticket.limitAtStart) / 2)
            if window > target {
                window = target
                slowStartThreshold = target
                lastCutSeq = seq
            }
            // Only the round's first overload answer (re)starts the block: no growth past the level it
            // left for the block's time. A level that fails again soon after its block ended waits twice as long.
            if ticket.limitAtStart > 1, ticket.seq > lastBlockSeq {
                lastBlockSeq = seq
                let again = blockedLevel.map { ticket.limitAtStart >= $0 } ?? false
                let first = min(Self.longestBlock, max(Self.firstBlock, Self.probeCostFactor * seconds))
                blockSeconds = again && now < blockedUntil.addingTimeInterval(blockSeconds) ? min(Self.longestBlock, blockSeconds * 2) : first
                blockedLevel = current + 1
                blockedUntil = now.addingTimeInterval(blockSeconds)
            }
            return change(from: before, reason: "overload")
        case .unreachable:
            cut(ticket, to: max(1, window / 2))
            return change(from: before, reason: "unreachable")
        case .answered(let seconds):
            observe(seconds, now: now)
            guard let base = baseline, latency > 0 else { return nil }
            let queued = Double(current) * (1 - base / latency)
            if queued > Self.queueHigh {
                cut(ticket, to: max(1, window - 1))
                return change(from: before, reason: "latency")
            }
            guard queued < Self.queueLow, ticket.busy else { return nil }
            window += window < slowStartThreshold ? 1 : 1 / window
            if let level = blockedLevel {
                if now < blockedUntil {
                    window = min(window, Double(level) - 0.01)
                } else if current > level {
                    blockedLevel = nil  // the probe of the blocked level held: forget it
                }
            }
            window = min(window, Double(maximum))
            return current == maximum && before < maximum ? Change(from: before, to: current, reason: "recovered") : nil
        }
    }

    /// Lowers the window once per round: only a call that started after the last cut cuts again.
    @discardableResult
    private mutating func cut(_ ticket: Ticket, to value: Double) -> Bool {
        guard ticket.seq > lastCutSeq else { return false }
        lastCutSeq = seq
        window = value
        slowStartThreshold = max(1, window)
        return true
    }

    private mutating func observe(_ seconds: Double, now: Date) {
        let s = max(seconds, 0.0005)
        latency = latency == 0 ? s : latency * 0.8 + s * 0.2
        if let since = baselineSince, now.timeIntervalSince(since) < Self.baselineWindow {
            baselineNow = min(baselineNow, s)
        } else {
            baselinePrevious = baselineSince == nil ? s : baselineNow
            baselineNow = s
            baselineSince = now
        }
    }

    private func change(from before: Int, reason: String) -> Change? {
        current == before ? nil : Change(from: before, to: current, reason: reason)
    }
}
