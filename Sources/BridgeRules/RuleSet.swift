public import BridgeCore
public import Foundation

/// A compiled, immutable set of rules with a matching index.
///
/// Evaluation is pure and synchronous: no I/O, safe to call from any thread.
///
/// ```swift
/// let ruleSet = try RuleSetLoader.load(directory: "rules").get()
/// let result = ruleSet.evaluate(event)
/// for job in result.jobs { print(job.dagId, job.dagRunId) }
/// ```
public struct RuleSet: Sendable {
    /// Rules in file order (files sorted by name, rules in file order).
    public let rules: [Rule]
    /// Largest encoded `conf` accepted, in bytes (default 256 KiB).
    public let maxConfBytes: Int
    /// The envelope members some pattern reads; matching an envelope holding only these gives the
    /// same result as matching the whole envelope.
    public let matchedFields: Event.EnvelopeFields
    private let index: PatternIndex

    /// Builds a rule set and its index.
    public init(rules: [Rule], maxConfBytes: Int = 256 * 1024) {
        self.rules = rules
        self.maxConfBytes = maxConfBytes
        self.index = PatternIndex(rules.map(\.pattern))
        matchedFields = Event.EnvelopeFields(keys: index.keyFilter.keys)
    }

    /// A render failure of one matched rule for one event.
    public struct RuleError: Error, Sendable, Equatable, CustomStringConvertible {
        public var rule: String
        public var message: String
        public var description: String { "rule '\(rule)': \(message)" }
    }

    /// What a rule set made of one event.
    public struct Evaluation: Sendable {
        /// Jobs of the matched rules that rendered, in rule order.
        public var jobs: [TriggerJob]
        /// Matched rules whose trigger could not be rendered, in rule order.
        public var errors: [RuleError]
        /// Indices (into ``RuleSet/rules``) of every matched rule, rendered or not.
        public var matched: [Int]
    }

    /// Indices of the rules whose source filter and pattern accept `event`, ascending.
    public func matchingRules(_ event: Event) -> [Int] {
        var hits: [Int] = []
        index.matches(event.envelope, into: &hits)
        if hits.isEmpty { return hits }
        return hits.filter { rules[$0].accepts(source: event.source) }
    }

    /// Indices of the rules that accept `source` and match an envelope whose body is still raw JSON
    /// bytes: the same as ``matchingRules(_:)`` on the event with that body parsed, without
    /// building the body's value tree (the cheap first look a Kafka consumer takes at each message).
    /// - Parameters:
    ///   - envelopeBase: the envelope's other members; those outside ``matchedFields`` may be left out.
    /// - Throws: ``JSONParseError`` when the body is not valid JSON.
    public func matchingRules(rawBody: some Collection<UInt8>, envelopeBase: JSONObject, source: String) throws(JSONParseError) -> [Int] {
        var hits: [Int] = []
        try index.matches(rawBody: rawBody, envelopeBase: envelopeBase, into: &hits)
        if hits.isEmpty { return hits }
        return hits.filter { rules[$0].accepts(source: source) }
    }

    /// Matches `event` and renders a job for every matched rule.
    /// - Parameter now: the clock for `now` in templates.
    public func evaluate(_ event: Event, now: Date = Date()) -> Evaluation {
        let matched = matchingRules(event)
        var jobs: [TriggerJob] = []
        var errors: [RuleError] = []
        for i in matched {
            switch render(rules[i], event: event, now: now) {
            case .success(let job): jobs.append(job)
            case .failure(let e): errors.append(e)
            }
        }
        return Evaluation(jobs: jobs, errors: errors, matched: matched)
    }

    /// Renders one rule's trigger for an event (used by evaluation and by DLQ re-rendering).
    public func render(_ rule: Rule, event: Event, now: Date = Date()) -> Result<TriggerJob, RuleError> {
        let ctx = RenderContext(envelope: event.envelope, rule: rule.name, now: now)
        func fail(_ message: String) -> Result<TriggerJob, RuleError> {
            .failure(RuleError(rule: rule.name, message: message))
        }
        let t = rule.trigger
        do throws(RenderError) {
            let dagId = try t.dagId.renderString(ctx)
            guard Self.isValidDagID(dagId) else {
                return fail(
                    "dag_id '\(dagId.prefix(100))' is not a valid DAG id (letters, digits, '_', '.', '-'; at most 250); use the slug filter")
            }
            let runId: String
            if let template = t.dagRunId {
                runId = try template.renderString(ctx)
                guard RunID.isValid(runId) else {
                    return fail(
                        "dag_run_id '\(runId.prefix(100))' has characters Airflow rejects (allowed: A-Z a-z 0-9 _ . ~ : + -, at most \(RunID.maxLength)); use the slug filter")
                }
            } else {
                runId = RunID.defaultID(rule: rule.name, eventID: event.id)
            }
            var logicalDate: String?
            if let template = t.logicalDate {
                let text = try template.renderString(ctx)
                if !text.isEmpty {
                    guard ISO8601.parse(text) != nil else {
                        return fail("logical_date '\(text.prefix(60))' is not an ISO-8601 date-time")
                    }
                    logicalDate = text
                }
            }
            var note: String?
            if let template = t.note { note = try template.renderString(ctx) }
            let conf = try t.conf.render(ctx)
            let size = JSONWriter.bytes(conf).count
            if size > maxConfBytes {
                return fail("rendered conf is \(size) bytes, larger than the limit of \(maxConfBytes) bytes")
            }
            return .success(
                TriggerJob(
                    rule: rule.name, target: t.target, dagId: dagId, conf: conf, dagRunId: runId,
                    logicalDate: logicalDate, note: note, retry: rule.retry))
        } catch {
            return fail(error.description)
        }
    }

    /// For each rule that did not match `event`: why (the first failing field, or the source filter).
    public func explainMisses(_ event: Event) -> [(rule: String, reason: String)] {
        let hit = Set(matchingRules(event))
        var out: [(String, String)] = []
        for (i, rule) in rules.enumerated() where !hit.contains(i) {
            if !rule.accepts(source: event.source) {
                let list = (rule.sources ?? []).sorted().joined(separator: ", ")
                out.append((rule.name, "source '\(event.source)' is not one of [\(list)]"))
            } else {
                out.append((rule.name, rule.pattern.explain(event.envelope) ?? "pattern matched"))
            }
        }
        return out
    }

    /// Airflow's DAG id alphabet: letters, digits, `_`, `.`, `-`; 1 to 250 characters.
    public static func isValidDagID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 250
            && id.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
                    || b == 0x2E || b == 0x2D
            }
    }
}
