public import BridgeCore
public import BridgeStore
public import Foundation

/// The dispatcher's pure decision logic: what happens to a job after one attempt.
public enum Backoff {
    /// Exponential backoff with full jitter: a random delay in
    /// `0 ... min(maxBackoff, initialBackoff * 2^(attempt-1))`.
    /// - Parameter attempt: the number of attempts made so far (1 after the first failure).
    public static func fullJitter(
        attempt: Int, initial: Double, max maxBackoff: Double, using rng: inout some RandomNumberGenerator
    ) -> Double {
        let cap = ceiling(attempt: attempt, initial: initial, max: maxBackoff)
        return cap > 0 ? Double.random(in: 0...cap, using: &rng) : 0
    }

    /// The upper bound of ``fullJitter(attempt:initial:max:using:)``.
    public static func ceiling(attempt: Int, initial: Double, max maxBackoff: Double) -> Double {
        let exponent = Double(Swift.min(Swift.max(attempt - 1, 0), 62))
        return Swift.max(0, Swift.min(maxBackoff, initial * pow(2, exponent)))
    }

    /// Where a job goes after an attempt.
    ///
    /// - delivered / duplicate: terminal success.
    /// - permanent: dead at once, with the client's reason.
    /// - retry: dead when `max_attempts` is reached or `max_age` has passed (the reason says which
    ///   limit and the last error); otherwise due again after `Retry-After` (capped at
    ///   `maxRetryAfter`) or the jittered backoff, but never later than the `max_age` deadline,
    ///   so the last try happens within `max_age`.
    /// - Parameters:
    ///   - attemptsBefore: attempts made before this one.
    ///   - ageFrom: when the job was created or last replayed.
    public static func transition(
        for result: TriggerResult, attemptsBefore: Int, ageFrom: Date, now: Date, policy: DispatchPolicy,
        using rng: inout some RandomNumberGenerator
    ) -> JobTransition {
        let attempts = attemptsBefore + 1
        switch result.outcome {
        case .delivered: return .delivered
        case .duplicate: return .duplicate
        case .permanent:
            return .dead(reason: "permanent failure (attempt \(attempts)): \(result.reason)")
        case .retry(let retryAfter):
            if attempts >= policy.maxAttempts {
                return .dead(
                    reason: "gave up: max_attempts (\(policy.maxAttempts)) reached; last error: \(result.reason)")
            }
            let deadline = ageFrom.addingTimeInterval(policy.maxAge)
            if now >= deadline {
                return .dead(
                    reason: "gave up: max_age (\(DurationText.format(policy.maxAge))) passed after \(attempts) attempts; "
                        + "last error: \(result.reason)")
            }
            let delay: Double
            if let ra = retryAfter, ra >= 0 {
                delay = Swift.min(ra, policy.maxRetryAfter)
            } else {
                delay = fullJitter(attempt: attempts, initial: policy.initialBackoff, max: policy.maxBackoff, using: &rng)
            }
            let next = now.addingTimeInterval(delay)
            return .retry(at: next < deadline ? next : deadline)
        }
    }
}
