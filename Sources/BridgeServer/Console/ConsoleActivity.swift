public import Foundation
import Synchronization

/// Per-minute counts of what the service did over the last hour, for the console's overview charts.
///
/// ``BridgeMetrics`` feeds it beside Prometheus (same call sites, so the two never disagree);
/// it keeps 60 one-minute buckets per series in a ring and forgets older minutes.
public final class ConsoleActivity: Sendable {
    /// What is counted.
    public enum Series: Int, CaseIterable, Sendable {
        case received, matched, rejected, delivered, retried, dead

        var title: String {
            switch self {
            case .received: "Events received"
            case .matched: "Events matched"
            case .rejected: "Deliveries rejected"
            case .delivered: "Jobs delivered"
            case .retried: "Attempts retried"
            case .dead: "Jobs dead"
            }
        }
    }

    static let minutes = 60

    private struct Ring {
        /// The minute (since 1970) each slot holds.
        var minute = [Int64](repeating: -1, count: ConsoleActivity.minutes)
        var counts = [[Int]](repeating: [Int](repeating: 0, count: Series.allCases.count), count: ConsoleActivity.minutes)
    }

    // Mutex around the ring; held only to add or copy a few integers.
    private let ring = Mutex(Ring())

    public init() {}

    /// Adds `n` to `series` in the current minute.
    public func add(_ series: Series, _ n: Int = 1, now: Date = Date()) {
        let minute = Int64(now.timeIntervalSince1970 / 60)
        let slot = Int(minute % Int64(Self.minutes))
        ring.withLock { r in
            if r.minute[slot] != minute {
                r.minute[slot] = minute
                r.counts[slot] = [Int](repeating: 0, count: Series.allCases.count)
            }
            r.counts[slot][series.rawValue] += n
        }
    }

    /// The last 60 minutes of `series`, oldest first (the current minute last).
    func lastHour(_ series: Series, now: Date = Date()) -> [Int] {
        let current = Int64(now.timeIntervalSince1970 / 60)
        return ring.withLock { r in
            (0..<Self.minutes).map { back in
                let minute = current - Int64(Self.minutes - 1 - back)
                let slot = Int(minute % Int64(Self.minutes))
                return r.minute[slot] == minute ? r.counts[slot][series.rawValue] : 0
            }
        }
    }
}
