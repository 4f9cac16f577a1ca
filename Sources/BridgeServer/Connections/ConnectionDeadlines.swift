import NIOCore

/// What one HTTP/1 connection waits for, and until when: the head of a request, the rest of its
/// body, or (between requests on a keep-alive connection) the start of the next one. While a
/// request is being answered there is no deadline.
///
/// A pure state machine: ``ConnectionDeadlineHandler`` feeds it the connection's events and the
/// time, and carries out the ``Action`` it returns. It keeps one timer per connection: a later
/// deadline never reschedules it (the timer fires, sees the new deadline and sets itself again),
/// so keep-alive requests arriving in one read each do not touch the event loop's timer heap.
struct ConnectionDeadlines {
    /// What the connection is waiting for.
    enum Phase: Sendable, Equatable {
        /// The head (request line and headers) of the first request, or of a request whose first
        /// bytes arrived on an idle connection.
        case header
        /// The rest of a request's body, after its head.
        case body
        /// The next request on a keep-alive connection, after an answer.
        case idle

        /// How a connection closed in this phase is counted.
        var cut: ConnectionCut {
            switch self {
            case .header: .headerTimeout
            case .body: .bodyTimeout
            case .idle: .idleTimeout
            }
        }
    }

    /// What the handler should do.
    enum Action: Equatable {
        case none
        /// (Re)arm the connection's one timer for this instant, replacing any armed one.
        case schedule(NIODeadline)
        /// The deadline of this phase passed: close the connection.
        case close(Phase)
    }

    private let header: TimeAmount
    private let body: TimeAmount
    private let idle: TimeAmount

    /// The current deadline; `nil` while a request is being answered.
    private(set) var deadline: (phase: Phase, at: NIODeadline)?
    /// When the armed timer fires; `nil` when none is armed.
    private var timerAt: NIODeadline?
    private var started = false
    /// Requests whose head arrived and whose answer has not ended yet.
    private var unanswered = 0
    /// A request's head arrived and its end has not.
    private var readingRequest = false
    /// Parts seen since the last `readComplete`.
    private var headInThisRead = false
    private var endInThisRead = false

    init(_ limits: ConnectionLimits) {
        header = TimeAmount(limits.headerTimeout)
        body = TimeAmount(limits.bodyTimeout)
        idle = TimeAmount(limits.idleTimeout)
    }

    /// The connection became active: its first request's head must arrive within the header limit.
    mutating func start(now: NIODeadline) -> Action {
        guard !started else { return .none }
        started = true
        deadline = (.header, now + header)
        return arm()
    }

    /// A request's head was decoded.
    mutating func headReceived() {
        unanswered += 1
        readingRequest = true
        headInThisRead = true
    }

    /// A request's end was decoded.
    mutating func endReceived() {
        readingRequest = false
        endInThisRead = true
    }

    /// A read from the socket was handled (whether or not it completed any part). This is where
    /// phases begin, so a request that arrives in one read costs no clock reading here.
    mutating func readComplete(now: @autoclosure () -> NIODeadline) -> Action {
        defer { (headInThisRead, endInThisRead) = (false, false) }
        if readingRequest {
            // The body timer starts once per request, at the read that brought its head.
            if headInThisRead || deadline?.phase != .body { deadline = (.body, now() + body) }
        } else if unanswered > 0 {
            deadline = nil
        } else if endInThisRead {
            // The tail of a request that was answered before its body ended: now idle.
            deadline = (.idle, now() + idle)
        } else if deadline?.phase != .header {
            // The first bytes of a new request on an idle connection.
            deadline = (.header, now() + header)
        }
        return arm()
    }

    /// The end of an answer was written.
    mutating func responseEnded(now: @autoclosure () -> NIODeadline) -> Action {
        unanswered = max(0, unanswered - 1)
        // A request still being read (answered early, e.g. 413) keeps its body deadline.
        if readingRequest { return .none }
        if unanswered > 0 {
            deadline = nil
            return .none
        }
        deadline = (.idle, now() + idle)
        return arm()
    }

    /// The armed timer fired.
    mutating func timerFired(now: NIODeadline) -> Action {
        timerAt = nil
        guard let deadline else { return .none }
        if now >= deadline.at {
            self.deadline = nil
            return .close(deadline.phase)
        }
        return arm()
    }

    /// Arms the timer when no armed one fires by the deadline.
    private mutating func arm() -> Action {
        guard let deadline else { return .none }
        if let timerAt, timerAt <= deadline.at { return .none }
        timerAt = deadline.at
        return .schedule(deadline.at)
    }
}
