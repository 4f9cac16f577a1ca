public import BridgeIntake
public import BridgeStore
import BridgeCore
import Foundation
public import Hummingbird

/// `GET /healthz` (the process answers) and `GET /readyz` (it should receive traffic: not shutting
/// down, the store answers and, for an SQLite file, is writable).
public struct HealthRoutes: Sendable {
    public let readiness: Readiness
    public let journal: any JournalStore
    /// The SQLite file, checked for write access; nil for a database journal.
    public let storePath: String?
    public let rules: RuleSetHolder

    public init(readiness: Readiness, journal: any JournalStore, storePath: String?, rules: RuleSetHolder) {
        self.readiness = readiness
        self.journal = journal
        self.storePath = storePath
        self.rules = rules
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/healthz") { _, _ -> Response in
            jsonResponse(status: .ok, body: ["status": "alive"])
        }
        router.get("/readyz") { _, _ -> Response in
            var problems: [JSONValue] = []
            if readiness.isShuttingDown { problems.append("shutting down") }
            if let storePath, !FileManager.default.isWritableFile(atPath: storePath) { problems.append("store file is not writable") }
            do { try await journal.ping() } catch { problems.append(.string("store cannot be read: \(error)")) }
            return jsonResponse(
                status: problems.isEmpty ? .ok : .serviceUnavailable,
                body: ["ready": .bool(problems.isEmpty), "problems": .array(problems), "rules_generation": .int(Int64(rules.generation))])
        }
    }
}
