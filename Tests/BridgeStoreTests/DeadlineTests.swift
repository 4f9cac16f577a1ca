import BridgeCore
import Foundation
import Testing

@testable import BridgeStore

/// A database operation's deadline holds even when the operation ignores cancellation (a request
/// waiting for a connection to a server that is away): the caller is answered, the operation is left.
@Suite("operation deadlines", .timeLimit(.minutes(1)))
struct DeadlineTests {
    @Test("an operation that never ends and ignores cancellation: unavailable at the deadline")
    func neverEnding() async throws {
        let started = Date()
        do {
            _ = try await PostgresJournal.withDeadline(0.3) { () async throws -> Int in
                await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in }  // never resumed
                return 1
            }
            Issue.record("returned")
        } catch let e as BridgeError {
            #expect(e.code == .unavailable)
        }
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("a quick operation's result and error pass through; the caller's cancellation ends the wait")
    func passThrough() async throws {
        #expect(try await PostgresJournal.withDeadline(5) { 42 } == 42)
        await #expect(throws: BridgeError.self) {
            _ = try await PostgresJournal.withDeadline(5) { () async throws -> Int in throw BridgeError(.io, "x") }
        }
        let task = Task {
            try await PostgresJournal.withDeadline(30) { () async throws -> Int in
                await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in }
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let started = Date()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(Date().timeIntervalSince(started) < 10)
    }
}
