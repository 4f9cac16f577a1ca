public import BridgeStore

/// What one recorded attempt did to its job; the metric label is the raw value.
public enum DispatchOutcome: String, Sendable, Equatable, CaseIterable {
    /// Airflow created the run.
    case delivered
    /// Airflow already had the run id: success.
    case duplicate
    /// The job is due again later.
    case retry
    /// The job is in the dead-letter queue.
    case dead

    /// The outcome of a job transition.
    public init(_ transition: JobTransition) {
        switch transition {
        case .delivered: self = .delivered
        case .duplicate: self = .duplicate
        case .retry: self = .retry
        case .dead: self = .dead
        }
    }
}
