public import BridgeCore
public import BridgeRules
public import BridgeStore
import Foundation

/// The dead-letter queue as operators use it: list, show, replay (as sent, re-rendered, or with a
/// new run id), purge, each recorded under the acting user.
///
/// The admin API and `dagbridge dlq` both call it (the CLI directly on the store file, or through
/// the admin API with `--server`), so the two answer with the same documents. The journal below
/// it only reads and writes rows.
public struct DLQService: Sendable {
    let journal: any JournalStore
    /// The rules a re-rendering replay uses when the caller gives none (the service's rules in force).
    let currentRules: @Sendable () -> RuleSet?

    /// - Parameters:
    ///   - journal: the store.
    ///   - currentRules: the rule set in force, for replays with `rerender` (nil: re-rendering needs rules from the caller).
    public init(journal: any JournalStore, currentRules: @escaping @Sendable () -> RuleSet? = { nil }) {
        self.journal = journal
        self.currentRules = currentRules
    }

    /// Job summaries matching `filter`, oldest update first (`dlq list --json` items).
    public func list(_ filter: JobFilter) async throws -> [JSONValue] {
        try await journal.jobs(matching: filter).map(\.summaryJSON)
    }

    /// A job's detail document (request, event, attempts, audit), nil when there is no such job.
    public func show(id: Int64) async throws -> JSONValue? {
        try await journal.jobDetail(id: id)
    }

    /// Every stored event with this id (one per source), with the runs it asked for.
    public func events(id: String, source: String?) async throws -> [JSONValue] {
        try await journal.eventDetail(eventID: id, source: source)
    }

    /// Replays the selected jobs.
    ///
    /// With ``AdminDLQRequest/rerender`` each request is rendered again from its stored event by
    /// `rules` (or the rules in force); a job whose rule no longer exists is skipped with a reason.
    /// - Parameters:
    ///   - actor: who asks, for the audit log.
    /// - Throws: ``DLQServiceError`` when a re-render has no rules to use; store errors.
    public func replay(_ request: AdminDLQRequest, actor: String, rules: RuleSet? = nil) async throws -> [DLQActionResult] {
        var ruleSet: RuleSet?
        if request.rerender {
            guard let set = rules ?? currentRules() else { throw DLQServiceError("re-rendering needs the rules to render with") }
            ruleSet = set
        }
        let (ids, selected) = try await resolve(request.selection)
        guard !ids.isEmpty else { return [] }
        let options = ReplayOptions(newRunID: request.newRunID, rate: request.rate, dryRun: request.dryRun, note: request.rerender ? "rerender" : "")
        guard let ruleSet else {
            return try await journal.replay(ids: ids, actor: actor, filters: selected, options: options)
        }
        return try await journal.replay(ids: ids, actor: actor, filters: selected, options: options) { stored, event in
            guard let rule = ruleSet.rules.first(where: { $0.name == stored.job.rule }) else { return nil }
            switch ruleSet.render(rule, event: event.event) {
            case .success(let job): return job
            case .failure(let error): throw error
            }
        }
    }

    /// Purges the selected jobs (or, with ``AdminDLQRequest/dryRun``, says which would go).
    public func purge(_ request: AdminDLQRequest, actor: String) async throws -> [DLQActionResult] {
        let (ids, selected) = try await resolve(request.selection)
        guard !ids.isEmpty else { return [] }
        return try await journal.purge(ids: ids, actor: actor, filters: selected, dryRun: request.dryRun)
    }

    /// The job ids a selection names, and the selection as text for the audit log.
    func resolve(_ selection: AdminDLQRequest.Selection) async throws -> ([Int64], String) {
        switch selection {
        case .ids(let ids): return (ids, "ids " + ids.map(String.init).joined(separator: ","))
        case .filter(let f): return (try await journal.jobs(matching: f).map(\.id), "--all " + f.description)
        }
    }
}

/// A request the DLQ service cannot carry out as asked.
public struct DLQServiceError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
