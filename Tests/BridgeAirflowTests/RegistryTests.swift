@testable import BridgeAirflow
import BridgeDispatch
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
        #expect(targets.clients.keys.sorted() == ["a", "b", "k"])
        let (_, policies, _) = parseTargetsAndPolicies(yaml)
        #expect(policies["a"] == DispatchPolicy(retry: RetryPolicy(maxAttempts: 3), maxInFlight: 2, rateLimit: 5))
        #expect(targets["k"]?.config.transportOptions.negotiate == true)
        #expect(HTTPClientConfiguration(target: configs["k"]!).negotiate)
        #expect(HTTPClientConfiguration(target: configs["b"]!).proxy == "http://127.0.0.1:3")
        #expect(targets["missing"] == nil)
    }
}

/// Names recorded from a closure (safe: all state behind the Mutex).
final class Names: Sendable {
    private let m = Mutex<[String]>([])
    func withLock<T>(_ body: (inout [String]) -> T) -> T { m.withLock { body(&$0) } }
}
