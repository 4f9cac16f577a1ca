public import BridgeCore
public import Foundation

/// Where a job is in its life. `delivered`, `duplicate` and `dead` are terminal.
public enum JobState: String, Sendable, Equatable, CaseIterable {
    /// Waiting for its `next_attempt_at` (new, or retrying after a failure).
    case pending
    /// Claimed by a dispatcher; a call to the target may be under way.
    case inFlight = "in_flight"
    /// The run was created.
    case delivered
    /// The target already had the run (409 for our run id): success.
    case duplicate
    /// In the dead-letter queue: given up, waiting for an operator.
    case dead

    /// `true` for `delivered`, `duplicate` and `dead`.
    public var isTerminal: Bool { self == .delivered || self == .duplicate || self == .dead }

    /// The state as an SQL string literal (`'in_flight'`): the journal's queries spell states only through this.
    var sql: String { "'\(rawValue)'" }
}

/// A job as the journal holds it: the request to send plus its delivery state.
public struct StoredJob: Sendable, Equatable {
    /// The journal's id of the job (stable, shown by `dlq list`).
    public var id: Int64
    /// Row id of the event that produced it.
    public var eventRef: Int64
    /// The request: rule, target, DAG, conf, run id, logical date, note, retry overrides.
    public var job: TriggerJob
    public var state: JobState
    /// Attempts made since the job was created or last replayed.
    public var attempts: Int
    /// When the job is due (next try).
    public var nextAttemptAt: Date
    /// Start of the `max_age` clock: creation, or the last replay.
    public var ageFrom: Date
    public var createdAt: Date
    public var updatedAt: Date
    /// HTTP status of the last attempt (nil when no answer arrived).
    public var lastStatus: Int?
    /// Why the job is where it is (last error, or the reason it died).
    public var lastReason: String?
    /// How many times an operator replayed it.
    public var replays: Int

    public init(
        id: Int64, eventRef: Int64, job: TriggerJob, state: JobState, attempts: Int, nextAttemptAt: Date,
        ageFrom: Date, createdAt: Date, updatedAt: Date, lastStatus: Int?, lastReason: String?, replays: Int
    ) {
        self.id = id
        self.eventRef = eventRef
        self.job = job
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.ageFrom = ageFrom
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastStatus = lastStatus
        self.lastReason = lastReason
        self.replays = replays
    }

    /// The job's summary as JSON (the shape of `dagbridge dlq list --json` items).
    public var summaryJSON: JSONValue {
        var o = JSONObject()
        o["id"] = .int(id)
        o["state"] = .string(state.rawValue)
        o["rule"] = .string(job.rule)
        o["target"] = .string(job.target)
        o["dag_id"] = .string(job.dagId)
        o["dag_run_id"] = .string(job.dagRunId)
        o["attempts"] = .int(Int64(attempts))
        o["replays"] = .int(Int64(replays))
        o["last_status"] = lastStatus.map { .int(Int64($0)) } ?? .null
        o["reason"] = lastReason.map(JSONValue.string) ?? .null
        o["created_at"] = .string(ISO8601.format(createdAt))
        o["updated_at"] = .string(ISO8601.format(updatedAt))
        o["next_attempt_at"] = .string(ISO8601.format(nextAttemptAt))
        return .object(o)
    }
}

/// An event as kept in the journal, for the DLQ and for re-rendering.
public struct StoredEvent: Sendable, Equatable {
    /// Row id in the journal.
    public var rowID: Int64
    public var source: String
    /// The event's own id (sender's delivery id, Kafka coordinates…).
    public var eventID: String
    public var receivedAt: Date
    /// The envelope the rules saw.
    public var envelope: JSONValue
    /// The body bytes as received.
    public var rawBody: [UInt8]

    public init(rowID: Int64, source: String, eventID: String, receivedAt: Date, envelope: JSONValue, rawBody: [UInt8]) {
        self.rowID = rowID
        self.source = source
        self.eventID = eventID
        self.receivedAt = receivedAt
        self.envelope = envelope
        self.rawBody = rawBody
    }

    /// The event rebuilt from what was stored, for rendering it again with the current rules.
    public var event: Event {
        var headers: [String: String] = [:]
        if let h = envelope["headers"]?.objectValue {
            for (k, v) in h.members { if let s = v.stringValue { headers[k] = s } }
        }
        var kafka: Event.KafkaMetadata?
        if let k = envelope["kafka"]?.objectValue, let topic = k["topic"]?.stringValue,
            case .int(let partition) = k["partition"] ?? .null, case .int(let offset) = k["offset"] ?? .null
        {
            var ts: Int64?
            if case .int(let t) = k["timestamp"] ?? .null { ts = t }
            kafka = Event.KafkaMetadata(
                topic: topic, partition: Int32(truncatingIfNeeded: partition), offset: offset,
                key: k["key"]?.stringValue, timestamp: ts)
        }
        return Event(
            id: eventID, source: source, receivedAt: receivedAt, headers: headers, rawBody: rawBody,
            body: envelope["body"], kafka: kafka, cloudEvent: envelope["cloudevent"]?.objectValue)
    }
}

/// One try at delivering a job.
public struct AttemptRecord: Sendable, Equatable {
    /// When the attempt started.
    public var at: Date
    /// Wall time in seconds.
    public var duration: Double
    /// HTTP status, nil when no answer arrived.
    public var httpStatus: Int?
    /// `delivered`, `duplicate`, `retry` or `permanent`.
    public var outcome: String
    /// The client's reason sentence.
    public var reason: String
    /// The start of the target's answer.
    public var answer: String

    /// Longest answer kept per attempt, in UTF-8 bytes.
    public static let maxAnswerBytes = 2048

    public init(at: Date, duration: Double, httpStatus: Int?, outcome: String, reason: String, answer: String) {
        self.at = at
        self.duration = duration
        self.httpStatus = httpStatus
        self.outcome = outcome
        self.reason = reason
        self.answer = AttemptRecord.trim(answer)
    }

    /// Builds the record of a client's result.
    public init(at: Date, result: TriggerResult) {
        let outcome: String
        switch result.outcome {
        case .delivered: outcome = "delivered"
        case .duplicate: outcome = "duplicate"
        case .retry: outcome = "retry"
        case .permanent: outcome = "permanent"
        }
        self.init(
            at: at, duration: result.duration, httpStatus: result.httpStatus, outcome: outcome, reason: result.reason,
            answer: result.answer)
    }

    static func trim(_ s: String) -> String {
        guard s.utf8.count > maxAnswerBytes else { return s }
        var out = ""
        var n = 0
        for ch in s {
            n += ch.utf8.count
            if n > maxAnswerBytes { break }
            out.append(ch)
        }
        return out + "…"
    }

    /// The attempt as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        o["at"] = .string(ISO8601.format(at))
        o["duration_ms"] = .int(Int64((duration * 1000).rounded()))
        o["http_status"] = httpStatus.map { .int(Int64($0)) } ?? .null
        o["outcome"] = .string(outcome)
        o["reason"] = .string(reason)
        o["answer"] = .string(answer)
        return .object(o)
    }
}

/// One operator action on the DLQ, as recorded in the audit log.
public struct AuditEntry: Sendable, Equatable {
    public var id: Int64
    public var at: Date
    /// `user@host`, or the name given with `--by`.
    public var actor: String
    /// `replay` or `purge`.
    public var action: String
    /// The filters or ids the operator gave, as typed.
    public var filters: String
    /// Options of the action (`new-run-id`, `rerender`, `rate=50/s`).
    public var options: String
    /// How many jobs the action touched.
    public var jobCount: Int
    /// What happened to the job being shown (e.g. its new run id), when shown for one job.
    public var detail: String?

    public init(id: Int64, at: Date, actor: String, action: String, filters: String, options: String, jobCount: Int, detail: String?) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.filters = filters
        self.options = options
        self.jobCount = jobCount
        self.detail = detail
    }

    /// The entry as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        o["id"] = .int(id)
        o["at"] = .string(ISO8601.format(at))
        o["by"] = .string(actor)
        o["action"] = .string(action)
        o["filters"] = .string(filters)
        o["options"] = .string(options)
        o["jobs"] = .int(Int64(jobCount))
        if let detail { o["detail"] = .string(detail) }
        return .object(o)
    }
}

/// Which jobs a DLQ command applies to. Empty fields do not filter.
public struct JobFilter: Sendable, Equatable {
    /// Job state to list (the DLQ is `dead`).
    public var state: JobState
    public var rule: String?
    public var target: String?
    /// Jobs last updated (for dead jobs: died) at or after this time.
    public var since: Date?
    /// Jobs last updated before this time.
    public var until: Date?
    /// Substring of the last reason (case-insensitive).
    public var reason: String?
    /// At most this many jobs, oldest first (newest first with ``newestFirst``).
    public var limit: Int?
    /// List the most recently updated jobs first (the console's order); the CLI lists oldest first.
    public var newestFirst = false
    /// Keyset pagination: only jobs strictly after this position in the listing order (before it,
    /// in time, with ``newestFirst``). An index range, never an `OFFSET` over the whole DLQ.
    public var cursor: JobCursor?
    /// With ``reason``: look for the text only among this many jobs (after the cursor, in the
    /// listing order) that match the other fields, so a rare text never scans the whole DLQ.
    public var scanLimit: Int?

    public init(
        state: JobState = .dead, rule: String? = nil, target: String? = nil, since: Date? = nil, until: Date? = nil,
        reason: String? = nil, limit: Int? = nil
    ) {
        self.state = state
        self.rule = rule
        self.target = target
        self.since = since
        self.until = until
        self.reason = reason
        self.limit = limit
    }

    /// The filters as an operator would have typed them, for the audit log.
    public var description: String {
        var parts = ["state=\(state.rawValue)"]
        if let rule { parts.append("rule=\(rule)") }
        if let target { parts.append("target=\(target)") }
        if let since { parts.append("since=\(ISO8601.format(since))") }
        if let until { parts.append("until=\(ISO8601.format(until))") }
        if let reason { parts.append("reason~\(reason)") }
        if let limit { parts.append("limit=\(limit)") }
        return parts.joined(separator: " ")
    }
}

/// A position in a job listing ordered by `(updated_at, id)`: the last job of a page.
public struct JobCursor: Sendable, Equatable {
    /// The job's `updated_at`, in seconds since 1970 exactly as stored.
    public var updatedAt: Double
    public var id: Int64

    public init(updatedAt: Double, id: Int64) {
        self.updatedAt = updatedAt
        self.id = id
    }

    /// The cursor after `job`.
    public init(after job: StoredJob) { self.init(updatedAt: job.updatedAt.timeIntervalSince1970, id: job.id) }

    /// The cursor as URL text (`1764892800.123456_42`), and back; nil for anything else.
    public var text: String { "\(updatedAt)_\(id)" }
    public init?(text: String) {
        let parts = text.split(separator: "_")
        guard parts.count == 2, let t = Double(parts[0]), t.isFinite, let id = Int64(parts[1]), id > 0 else { return nil }
        self.init(updatedAt: t, id: id)
    }
}

/// How a dispatcher leaves a job after an attempt.
public enum JobTransition: Sendable, Equatable {
    case delivered
    case duplicate
    /// Try again at this time.
    case retry(at: Date)
    /// Move to the dead-letter queue with this reason.
    case dead(reason: String)
}
