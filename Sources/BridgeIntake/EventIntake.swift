public import BridgeCore
public import BridgeRules
public import Foundation
public import Logging

/// The one path from an `Event` to the journal, shared by webhooks and Kafka: evaluate the rules,
/// turn render errors into dead letters, write both in one transaction, count and log.
public struct EventIntake: Sendable {
    /// What one event produced.
    public struct Outcome: Sendable {
        public var jobs: [TriggerJob] = []
        public var failures: [RenderFailure] = []
    }

    let store: any JobStore
    let metrics: any IntakeObserver

    public init(store: any JobStore, metrics: any IntakeObserver) {
        self.store = store
        self.metrics = metrics
    }

    /// Evaluates `event` and, when anything matched, returns only after it is durable.
    /// - Throws: when the journal cannot store the event; nothing was acknowledged then.
    public func accept(_ event: Event, ruleSet: RuleSet, now: Date, logger: Logger) async throws -> Outcome {
        let result = ruleSet.evaluate(event, now: now)
        let out = Outcome(
            jobs: result.jobs,
            failures: result.errors.map { e in
                RenderFailure(rule: e.rule, target: ruleSet.rules.first { $0.name == e.rule }?.trigger.target ?? "", reason: e.message)
            })
        if out.jobs.isEmpty && out.failures.isEmpty {
            logger.debug("no rule matched")
            return out
        }
        _ = try await store.enqueue(event: event, jobs: out.jobs, failures: out.failures)
        recordStored(event, jobs: out.jobs, failures: out.failures, poison: false, logger: logger)
        return out
    }

    /// Counts and logs an event whose jobs and dead letters are durable.
    func recordStored(_ event: Event, jobs: [TriggerJob], failures: [RenderFailure], poison: Bool, logger: Logger) {
        if !jobs.isEmpty { metrics.eventMatched(source: event.source, jobs: jobs.count) }
        for f in failures {
            metrics.renderFailed(rule: f.rule)
            logger.warning(poison ? "poison message; dead-lettered" : "rule cannot render; dead-lettered", metadata: ["rule": "\(f.rule)", "reason": "\(f.reason)"])
        }
        for job in jobs {
            logger.info(
                "accepted", metadata: ["rule": "\(job.rule)", "target": "\(job.target)", "dag_id": "\(job.dagId)", "dag_run_id": "\(job.dagRunId)"])
        }
    }
}
