public import BridgeCore
public import BridgeIntake
import BridgeRules
public import Foundation
public import HTTPTypes
public import Logging

/// The webhook front door, independent of the HTTP framework: source lookup,
/// verification, decoding, rules, and the journal write that must happen before
/// any `2xx`.
public final class WebhookIngress: Sendable {
    /// An answer to send back.
    public struct Answer: Sendable {
        public var status: HTTPResponse.Status
        public var body: JSONValue
        /// Seconds, for `Retry-After` on 503.
        public var retryAfter: Int?
    }

    public let sources: [String: WebhookSourceConfig]
    let rules: RuleSetHolder
    let store: any JobStore
    /// The fleet's replay cache when the journal is shared (nil: this process's caches suffice).
    let replayGuard: (any ReplayGuard)?
    public let metrics: any IntakeObserver
    let logger: Logger
    let intake: EventIntake

    public init(sources: [WebhookSourceConfig], rules: RuleSetHolder, store: any JobStore, metrics: any IntakeObserver, logger: Logger) {
        self.intake = EventIntake(store: store, metrics: metrics)
        self.sources = Dictionary(sources.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        self.rules = rules
        self.store = store
        self.replayGuard = store as? any ReplayGuard
        self.metrics = metrics
        self.logger = logger
    }

    /// The source configured at `path`, if any.
    public func source(at path: String) -> WebhookSourceConfig? { sources[path] }

    /// The largest body any source accepts (the HTTP layer's first cap).
    public var largestMaxBody: Int { sources.values.map(\.maxBody).max() ?? 1 << 20 }

    static func error(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) -> Answer {
        Answer(status: status, body: ["error": .string(message)], retryAfter: retryAfter)
    }

    /// Handles one request whose body has been read (within the source's `max_body`).
    /// - Parameter headers: lower-cased names; repeated headers joined with ", ".
    public func handle(source: WebhookSourceConfig, headers: [String: String], body: [UInt8], now: Date = Date()) async -> Answer {
        let started = ContinuousClock.now
        defer {
            let d = ContinuousClock.now - started
            metrics.webhookLatency(source: source.name, seconds: d.timeInterval)
        }
        metrics.eventReceived(source: source.name)
        var log = logger
        log[metadataKey: "source"] = "\(source.name)"
        if store.isBackpressured {
            metrics.eventRejected(source: source.name, reason: .unavailable)
            log.warning("refusing delivery: the queue is above its high-water mark")
            return Self.error(.serviceUnavailable, "dagbridge is behind on deliveries; retry later", retryAfter: 5)
        }
        let verified: WebhookVerifier.Verified
        do {
            verified = try source.verifier.verify(headers: headers, body: body, now: now.timeIntervalSince1970)
        } catch {
            metrics.eventRejected(source: source.name, reason: .signature)
            log.warning("rejected delivery: \(error.detail)")
            return Self.error(.unauthorized, error.publicMessage)
        }
        // A shared journal remembers verified deliveries for the whole fleet: another replica's copy is a replay too.
        if let guardian = replayGuard, let mark = verified.replay {
            do {
                guard try await guardian.firstSeen(scope: source.name, key: mark.key, until: mark.until, now: now.timeIntervalSince1970) else {
                    metrics.eventRejected(source: source.name, reason: .signature)
                    log.warning("rejected delivery: signed content already seen by another replica inside the tolerance window")
                    return Self.error(.unauthorized, "replayed delivery")
                }
            } catch {
                metrics.eventRejected(source: source.name, reason: .unavailable)
                log.error("replay cache unavailable: \(error)")
                return Self.error(.serviceUnavailable, "the journal cannot store the event right now; retry later", retryAfter: 5)
            }
        }
        // Credentials the verifier consumed (and any a source names) go no further than here.
        var headers = headers
        CredentialHeaders.scrub(&headers, names: source.secretHeaders)
        if !source.contentTypes.isEmpty {
            let type = WebhookDecoder.mediaType(headers["content-type"]) ?? "(none)"
            if !source.contentTypes.contains(type) {
                metrics.eventRejected(source: source.name, reason: .mediaType)
                return Self.error(.unsupportedMediaType, "content type \(type) is not accepted here; send one of: \(source.contentTypes.joined(separator: ", "))")
            }
        }
        let decoded: [WebhookDecoder.Decoded]
        var events: [Event] = []
        do {
            decoded = try WebhookDecoder.decode(headers: headers, body: body)
            for (n, d) in decoded.enumerated() {
                // The events of a batch share the signed content: number their derived ids.
                var verified = verified
                if decoded.count > 1, let id = verified.contentID { verified.contentID = "\(id)-\(n)" }
                let id = try source.eventID.resolve(headers: headers, decoded: d, verified: verified, isStripe: source.isStripe)
                events.append(
                    Event(
                        id: id, source: source.name, receivedAt: now, headers: headers, rawBody: body, body: d.body,
                        bodyIsParsedRawBody: d.bodyIsParsedRawBody, cloudEvent: d.cloudEvent))
            }
        } catch {
            metrics.eventRejected(source: source.name, reason: .malformed)
            log.info("malformed delivery: \(error.message)")
            return Self.error(.badRequest, error.message)
        }
        let ruleSet = rules.ruleSet
        var runIDs: [JSONValue] = []
        var accepted = 0
        var deadLettered = 0
        for event in events {
            var elog = log
            elog[metadataKey: "event_id"] = "\(event.id)"
            let result: EventIntake.Outcome
            do {
                result = try await intake.accept(event, ruleSet: ruleSet, now: now, logger: elog)
            } catch {
                metrics.eventRejected(source: source.name, reason: .unavailable)
                elog.error("journal write failed: \(error)")
                return Self.error(.serviceUnavailable, "the journal cannot store the event right now; retry later", retryAfter: 5)
            }
            runIDs.append(contentsOf: result.jobs.map { .string($0.dagRunId) })
            accepted += result.jobs.count
            deadLettered += result.failures.count
        }
        var body = JSONObject()
        if events.count == 1 {
            body["event_id"] = .string(events[0].id)
        } else {
            body["event_ids"] = .array(events.map { .string($0.id) })
        }
        body["accepted"] = .int(Int64(accepted))
        if accepted == 0 && deadLettered == 0 {
            return Answer(status: .ok, body: .object(body))
        }
        body["dag_run_ids"] = .array(runIDs)
        if deadLettered > 0 {
            // Matched but not renderable: stored as dead letters (durable), so still a 202.
            body["dead_lettered"] = .int(Int64(deadLettered))
        }
        return Answer(status: .accepted, body: .object(body))
    }
}
