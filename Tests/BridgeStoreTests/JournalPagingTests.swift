import BridgeCore
import BridgeStore
import BridgeStoreTesting
import Foundation
import Testing

/// The console's reads of the journal, the same on SQLite and PostgreSQL: newest-first keyset pages
/// that walk every dead job exactly once with filters kept, and counts that stop at their cap.
@Suite("Journal paging (SQLite and PostgreSQL)")
struct JournalPagingTests {
    @Test("keyset pages, newest first, cover every matching dead job once; counts stop at the cap", arguments: Backend.allCases)
    func pages(_ backend: Backend) async throws {
        guard backendRuns(backend) else { return }
        let t = try await JournalUnderTest.make(backend)
        defer { Task { await t.cleanup() } }
        let j = t.journal
        var ids: [Int64] = []
        for i in 0..<23 {
            ids.append(try await deadJob(j, "p-\(i)", rule: i % 2 == 0 ? "even" : "odd", reason: i % 3 == 0 ? "DAG 'x' NOT found" : "bad conf"))
        }
        _ = try await j.enqueue(event: makeEvent("live"), jobs: [makeJob("build__live")])
        // All dead jobs, five a page, newest first: each once, in descending (updated_at, id) order.
        var seen: [StoredJob] = []
        var filter = JobFilter(state: .dead, limit: 5)
        filter.newestFirst = true
        while true {
            let page = try await j.jobs(matching: filter)
            seen += page
            guard page.count == 5, let last = page.last else { break }
            filter.cursor = JobCursor(after: last)
        }
        #expect(seen.map(\.id).sorted() == ids.sorted())
        #expect(zip(seen, seen.dropFirst()).allSatisfy { ($0.updatedAt, $0.id) > ($1.updatedAt, $1.id) })
        // A filter is kept across pages; the oldest-first order pages the other way.
        var odd = JobFilter(state: .dead, rule: "odd", reason: "not FOUND", limit: 2)
        var oddSeen: [Int64] = []
        while true {
            let page = try await j.jobs(matching: odd)
            oddSeen += page.map(\.id)
            guard page.count == 2, let last = page.last else { break }
            odd.cursor = JobCursor(after: last)
        }
        let expected = ids.enumerated().filter { $0.offset % 2 == 1 && $0.offset % 3 == 0 }.map(\.element)
        #expect(oddSeen == expected)
        // Counts: the cap, the cursor and limit ignored, filters applied.
        #expect(try await j.countJobs(matching: JobFilter(state: .dead), upTo: 1000) == 23)
        #expect(try await j.countJobs(matching: JobFilter(state: .dead), upTo: 10) == 10)
        #expect(try await j.countJobs(matching: odd, upTo: 1000) == expected.count)
        #expect(try await j.countJobs(matching: JobFilter(state: .pending), upTo: 1000) == 1)
        // A reason searched in windows of 4 newest jobs: 'NOT found' is on every third job (ids[0], [3], ... ids[21]).
        var windowed = JobFilter(state: .dead, reason: "not found", limit: 100)
        windowed.newestFirst = true
        windowed.scanLimit = 4
        var found: [Int64] = []
        var windows = 0
        while windows < 20 {
            windows += 1
            found += try await j.jobs(matching: windowed).map(\.id)
            guard let end = try await j.scanEnd(matching: windowed) else { break }
            windowed.cursor = end
        }
        #expect(windows == 6, "23 jobs in windows of 4")
        #expect(found == Array(ids.enumerated().filter { $0.offset % 3 == 0 }.map(\.element).reversed()))
        windowed.cursor = nil
        #expect(try await j.countJobs(matching: windowed, upTo: 1000) == 1, "of the newest four (ids[19...22]) only ids[21]")
        // The cursor survives its text form.
        let c = JobCursor(after: seen[3])
        #expect(JobCursor(text: c.text) == c)
        for bad in ["", "1", "x_1", "1_x", "1_0", "nan_3", "1_2_3"] { #expect(JobCursor(text: bad) == nil, "\(bad)") }
    }
}
