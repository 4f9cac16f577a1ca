import BridgeCore
import BridgeStore
import Foundation
import Testing

/// A matched rule that cannot render is kept as a dead letter, in the same transaction as the jobs.
@Suite struct RenderFailureTests {
    @Test func failuresAreStoredDeadWithTheirReason() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let failure = RenderFailure(rule: "needs-x", target: "prod", reason: "missing value at body.x")
        let ids = try await journal.enqueue(event: makeEvent("e-1"), jobs: [makeJob("build__e-1")], failures: [failure])
        #expect(ids.count == 1)
        let dead = try await journal.jobs(matching: JobFilter(state: .dead))
        #expect(dead.count == 1)
        let job = try #require(dead.first)
        #expect(job.job.rule == "needs-x")
        #expect(job.job.target == "prod")
        #expect(job.job.dagRunId == "needs-x__e-1")
        #expect(job.lastReason == "render error: missing value at body.x")
        // The dispatcher never sees it: only the rendered job is due.
        #expect(journal.queueDepth == 1)
        // Redelivery of the same event adds nothing.
        let again = try await journal.enqueue(event: makeEvent("e-1"), jobs: [makeJob("build__e-1")], failures: [failure])
        #expect(again == ids)
        #expect(try await journal.jobs(matching: JobFilter(state: .dead)).count == 1)
    }

    @Test func onlyFailuresStillKeepTheEvent() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        let ids = try await journal.enqueue(
            event: makeEvent("e-2"), jobs: [], failures: [RenderFailure(rule: "r", target: "prod", reason: "bad")])
        #expect(ids.isEmpty)
        let dead = try await journal.jobs(matching: JobFilter(state: .dead))
        let job = try #require(dead.first)
        let event = try #require(try await journal.event(rowID: job.eventRef))
        #expect(event.eventID == "e-2")
        #expect(event.rawBody == Array(#"{"ref":"main"}"#.utf8))
    }

    @Test func replayWithoutRerenderSaysHowToFixIt() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.store)
        _ = try await journal.enqueue(event: makeEvent("e-3"), jobs: [], failures: [RenderFailure(rule: "r", target: "prod", reason: "bad")])
        let id = try #require(try await journal.jobs(matching: JobFilter(state: .dead)).first?.id)
        let results = try await journal.replay(ids: [id], actor: "test", filters: "")
        #expect(results.count == 1)
        #expect(results[0].ok == false)
        #expect(results[0].message.contains("--rerender"))
        // With a transform (what --rerender does), it is replayed.
        let fixed = try await journal.replay(ids: [id], actor: "test", filters: "") { stored, _ in
            TriggerJob(rule: stored.job.rule, target: stored.job.target, dagId: "d", conf: [:], dagRunId: stored.job.dagRunId)
        }
        #expect(fixed[0].ok)
        #expect(fixed[0].newRunID == "r__e-3")
    }
}
