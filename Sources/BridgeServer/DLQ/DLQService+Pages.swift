import BridgeCore
public import BridgeRules
public import BridgeStore

/// What the console reads beyond the admin API's documents: pages of dead jobs, capped counts,
/// and why the rules in force do not match a stored event. Still only through the journal.
extension DLQService {
    /// One page of jobs matching `filter` (its order, cursor and limit decide which).
    public func page(_ filter: JobFilter) async throws -> [StoredJob] {
        try await journal.jobs(matching: filter)
    }

    /// How many jobs match `filter`, counting at most `upTo`.
    public func count(_ filter: JobFilter, upTo: Int) async throws -> Int {
        try await journal.countJobs(matching: filter, upTo: upTo)
    }

    /// The last job a ``JobFilter/scanLimit`` search looks at, nil when its window reaches the end.
    public func scanEnd(_ filter: JobFilter) async throws -> JobCursor? {
        try await journal.scanEnd(matching: filter)
    }

    /// Job counts by state.
    public func counts() async throws -> JournalCounts {
        try await journal.counts()
    }

    /// For each stored event with this id: its source, and each active rule that does not match
    /// it with the reason (`rules test --explain`'s answer for the event as stored).
    public func explainMisses(eventID: String, source: String?, rules: RuleSet) async throws -> [(source: String, misses: [(rule: String, reason: String)])] {
        try await journal.events(eventID: eventID, source: source).map { stored in
            (stored.source, rules.explainMisses(stored.event))
        }
    }
}
