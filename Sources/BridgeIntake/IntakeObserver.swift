/// Why a delivery was refused before anything was journaled; the metric label is its raw value.
public enum RejectionReason: String, Sendable, CaseIterable {
    /// The sender could not be verified (signature, token, timestamp, replay).
    case signature
    /// The body is larger than the source's `max_body`.
    case tooLarge = "too_large"
    /// The `Content-Type` is not one the source accepts.
    case mediaType = "media_type"
    /// The body cannot be decoded (bad JSON, broken CloudEvent, no event id).
    case malformed
    /// The journal cannot take it now (backpressure or a failed write); the sender should retry.
    case unavailable
}

/// What intake reports while it works (Prometheus in the service; nothing in tools and tests).
///
/// The webhook and Kafka sources and ``EventIntake`` call it; the app supplies the
/// implementation, so this module needs no metrics library.
public protocol IntakeObserver: Sendable {
    /// `count` deliveries arrived on a source at once (1 for a webhook, a batch for Kafka).
    func eventsReceived(source: String, count: Int)
    /// A delivery was refused.
    func eventRejected(source: String, reason: RejectionReason)
    /// An event matched at least one rule and produced `jobs` jobs.
    func eventMatched(source: String, jobs: Int)
    /// A matched rule could not render its trigger (the job went to the dead-letter queue).
    func renderFailed(rule: String)
    /// The time taken to answer one webhook request.
    func webhookLatency(source: String, seconds: Double)
}

extension IntakeObserver {
    /// One delivery arrived on a source.
    public func eventReceived(source: String) { eventsReceived(source: source, count: 1) }
}
