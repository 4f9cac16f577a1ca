@testable import BridgeAirflow
import BridgeCore
import BridgeHTTP
import Foundation
import Synchronization
import Testing

@Suite("targets registry")
struct RegistryTests {
    @Test func buildsClientsWithLimitsAndDedicatedTransports() async throws {
        let yaml = """
            targets:
              a: {url: "http://127.0.0.1:1", max_in_flight: 2, rate_limit: 5, retry: {max_attempts: 3}}
              b: {url: "http://127.0.0.1:2", proxy: "http://127.0.0.1:3"}
              k: {url: "https://k", auth: {type: kerberos}}
            """
        let (configs, diags) = parseTargets(yaml)
        #expect(diags.isEmpty)
        let shared = try makeClient()
        let dedicated = Names()
        let targets = try AirflowTargets(configs, shared: shared, makeTransport: { config in
            dedicated.withLock { $0.append(config.name) }
            return try HTTPClient(configuration: HTTPClientConfiguration(target: config))
        })
        #expect(targets.names == ["a", "b", "k"])
        #expect(dedicated.withLock { $0.sorted() } == ["b", "k"])
        let a = try #require(targets.entries["a"])
        #expect(a.maxInFlight == 2 && a.rateLimit == 5 && a.retry.maxAttempts == 3)
        #expect(targets["k"]?.config.transportOptions.negotiate == true)
        #expect(HTTPClientConfiguration(target: configs["k"]!).negotiate)
        #expect(HTTPClientConfiguration(target: configs["b"]!).proxy == "http://127.0.0.1:3")
        #expect(targets["missing"] == nil)
    }

    @Test func semaphoreCapsConcurrency() async throws {
        let sem = AsyncSemaphore(2)
        let state = Box()
        try await withThrowingTaskGroup(of: Void.self) { g in
            for _ in 0..<10 {
                g.addTask {
                    try await sem.withSlot {
                        state.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                        try await Task.sleep(for: .milliseconds(20))
                        state.withLock { $0.now -= 1 }
                    }
                }
            }
            try await g.waitForAll()
        }
        #expect(state.withLock { $0.peak } == 2)
    }

    @Test func cancelledWaiterLeaves() async throws {
        let sem = AsyncSemaphore(1)
        try await sem.acquire()
        let waiter = Task { try await sem.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        sem.release()
        try await sem.acquire()  // the slot was not handed to the cancelled waiter
        sem.release()
    }
}

/// Shared counters for the concurrency test (safe: all state behind the Mutex).
final class Box: Sendable {
    private let m = Mutex((now: 0, peak: 0))
    func withLock<T>(_ body: (inout (now: Int, peak: Int)) -> T) -> T { m.withLock { body(&$0) } }
}

/// Names recorded from a closure (safe: all state behind the Mutex).
final class Names: Sendable {
    private let m = Mutex<[String]>([])
    func withLock<T>(_ body: (inout [String]) -> T) -> T { m.withLock { body(&$0) } }
}
