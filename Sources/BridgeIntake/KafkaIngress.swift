public import BridgeCore
public import BridgeKafka
import BridgeRules
import Foundation
public import Logging

/// The Kafka front door: turns a consumer's batch into journal writes through the same
/// ``EventIntake`` as webhooks. Poison messages become dead letters (rule `kafka`, target empty)
/// carrying the reason and the raw message; the call returns only when the whole batch is durable.
public final class KafkaIngress: KafkaEventSink {
    /// The rule name poison messages are recorded under in the dead-letter queue.
    public static let poisonRule = "kafka"

    let rules: RuleSetHolder
    let store: any JobStore
    let metrics: any IntakeObserver
    let logger: Logger
    let intake: EventIntake
    public init(rules: RuleSetHolder, store: any JobStore, metrics: any IntakeObserver, logger: Logger) {
        self.rules = rules
        self.store = store
        self.metrics = metrics
        self.logger = logger
        intake = EventIntake(store: store, metrics: metrics)
    }

    public var isBackpressured: Bool { store.isBackpressured }

    /// Matches raw values against the rules in force (no value tree built): only a message some
    /// rule matches, or one that is not JSON (poison), becomes an event.
    public func screener() -> (any KafkaScreener)? { RuleScreener(ruleSet: rules.ruleSet) }

    public func screenedOut(_ count: Int, source: String) {
        metrics.eventsReceived(source: source, count: count)
    }

    public func accept(_ records: [KafkaRecord]) async throws -> [(index: Int, reason: String)] {
        let ruleSet = rules.ruleSet
        let now = Date()
        // Matching is cheap and synchronous; only events that produce something go to the journal.
        var writes: [(index: Int, event: Event, jobs: [TriggerJob], failures: [RenderFailure])] = []
        if let source = records.first?.event.source { metrics.eventsReceived(source: source, count: records.count) }
        for (i, r) in records.enumerated() {
            if let poison = r.poison {
                writes.append((i, r.event, [], [RenderFailure(rule: Self.poisonRule, target: "", reason: poison)]))
                continue
            }
            let result = ruleSet.evaluate(r.event, now: now)
            if result.jobs.isEmpty && result.errors.isEmpty { continue }
            let failures = result.errors.map { e in
                RenderFailure(rule: e.rule, target: ruleSet.rules.first { $0.name == e.rule }?.trigger.target ?? "", reason: e.message)
            }
            writes.append((i, r.event, result.jobs, failures))
        }
        if writes.isEmpty { return [] }
        // One journal transaction for the whole batch: one fsync instead of one per group commit.
        try await store.enqueueBatch(writes.map { JobStoreEntry(event: $0.event, jobs: $0.jobs, failures: $0.failures) })
        var dead: [(index: Int, reason: String)] = []
        for w in writes {
            var log = logger
            log[metadataKey: "event_id"] = "\(w.event.id)"
            intake.recordStored(w.event, jobs: w.jobs, failures: w.failures, poison: w.jobs.isEmpty && w.failures.first?.rule == Self.poisonRule, logger: log)
            if !w.failures.isEmpty { dead.append((w.index, w.failures.map(\.reason).joined(separator: "; "))) }
        }
        return dead
    }
}

/// ``KafkaIngress``'s first look: the raw value matched by one rule set.
struct RuleScreener: KafkaScreener {
    let ruleSet: RuleSet
    var fields: Event.EnvelopeFields { ruleSet.matchedFields }

    func mayProduce(rawBody: UnsafeRawBufferPointer, envelopeBase: JSONObject, source: String) -> Bool {
        do {
            return try !ruleSet.matchingRules(rawBody: rawBody, envelopeBase: envelopeBase, source: source).isEmpty
        } catch {
            return true
        }
    }
}
