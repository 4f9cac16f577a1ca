import BridgeCore
import BridgeHTTP
import BridgeRules
import BridgeServer
import BridgeStore
import Foundation

/// What the `dlq` commands need, on the store file or through a running service's admin API.
/// Both answer with the same JSON documents, so the commands print the same either way.
protocol DLQBackend: Sendable {
    /// Job summaries (`dlq list --json` items).
    func list(_ filter: JobFilter) async throws -> [JSONValue]
    /// A job's detail document (`dlq show --json`), nil when there is no such job.
    func show(id: Int64) async throws -> JSONValue?
    /// Replays; `rules` re-renders locally (the admin API re-renders with the service's rules).
    func replay(_ request: AdminDLQRequest, rules: RuleSet?) async throws -> [JSONValue]
    /// Purges (or lists what a purge would delete with `dryRun`).
    func purge(_ request: AdminDLQRequest) async throws -> [JSONValue]
}

/// The store file, opened directly (safe while the service runs: WAL and short transactions),
/// through the same ``DLQService`` the admin API uses.
struct LocalDLQBackend: DLQBackend {
    let service: DLQService

    init(journal: any JournalStore) { service = DLQService(journal: journal) }

    func list(_ filter: JobFilter) async throws -> [JSONValue] { try await service.list(filter) }

    func show(id: Int64) async throws -> JSONValue? { try await service.show(id: id) }

    func replay(_ request: AdminDLQRequest, rules: RuleSet?) async throws -> [JSONValue] {
        try await service.replay(request, actor: DLQActor.name(request.by), rules: rules).map(\.json)
    }

    func purge(_ request: AdminDLQRequest) async throws -> [JSONValue] {
        try await service.purge(request, actor: DLQActor.name(request.by)).map(\.json)
    }
}

/// A running service's admin API (`--server URL --token T`).
struct AdminAPIBackend: DLQBackend {
    let base: String
    let token: String
    let http: HTTPClient

    init(server: String, token: String) throws {
        base = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.token = token
        do {
            http = try HTTPClient()
        } catch {
            throw Failure(message: "cannot start the HTTP client: \(error)")
        }
    }

    func list(_ filter: JobFilter) async throws -> [JSONValue] {
        let query = filter.fields.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
        return try await call(.get, "/admin/dlq?" + query)?["jobs"]?.arrayValue ?? []
    }

    func show(id: Int64) async throws -> JSONValue? {
        try await call(.get, "/admin/dlq/\(id)", missingIsNil: true)
    }

    func replay(_ request: AdminDLQRequest, rules: RuleSet?) async throws -> [JSONValue] {
        var r = request
        r.by = DLQActor.name(request.by)
        return try await call(.post, "/admin/dlq/replay", body: r.json)?["results"]?.arrayValue ?? []
    }

    func purge(_ request: AdminDLQRequest) async throws -> [JSONValue] {
        var r = request
        r.by = DLQActor.name(request.by)
        return try await call(.post, "/admin/dlq/purge", body: r.json)?["results"]?.arrayValue ?? []
    }

    /// One admin call; non-2xx answers become errors carrying the service's message.
    private func call(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil, missingIsNil: Bool = false) async throws -> JSONValue? {
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(token)"), ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let request = HTTPRequest(
            method: method, url: base + path, headers: headers, body: body.map { Array(JSONWriter.string($0).utf8) } ?? [], timeout: 60)
        let response: HTTPResponse
        do {
            response = try await http.execute(request)
        } catch {
            throw Failure(message: "cannot reach the admin API at \(base): \(error)")
        }
        let json = try? JSONParser.parse(response.body)
        let message = json?["error"]?.stringValue ?? String(response.text.prefix(300))
        switch response.status {
        case 200..<300: return json
        case 401: throw Failure(message: "the service at \(base) refused the admin token: \(message)")
        case 404 where missingIsNil && message.hasPrefix("no job"): return nil
        default: throw Failure(message: "the admin API answered \(response.status): \(message)")
        }
    }

    private func percentEncode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }
}
