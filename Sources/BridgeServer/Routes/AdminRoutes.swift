import BridgeConfig
import BridgeCore
public import BridgeDispatch
public import BridgeIntake
import BridgeRules
public import Hummingbird

/// The admin API under `/admin` (bearer `server.admin_token`; without a token every admin route
/// answers 404): rules and their reload, targets, and the dead-letter queue (``AdminRoutes+DLQ``).
public struct AdminRoutes: Sendable {
    /// The admin token; nil disables the admin API.
    public let token: String?
    public let rules: RuleSetHolder
    public let reloader: RulesReloader
    public let dispatcher: Dispatcher
    public let dlq: DLQService

    public init(token: String?, rules: RuleSetHolder, reloader: RulesReloader, dispatcher: Dispatcher, dlq: DLQService) {
        self.token = token
        self.rules = rules
        self.reloader = reloader
        self.dispatcher = dispatcher
        self.dlq = dlq
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        let admin = router.group("/admin")
        admin.add(middleware: AdminAuth(token: token))
        admin.get("/rules") { _, _ -> Response in
            let set = rules.ruleSet
            let list: [JSONValue] = set.rules.map { r in
                var o = JSONObject()
                o["name"] = .string(r.name)
                o["target"] = .string(r.trigger.target)
                o["dag_id"] = .string(r.trigger.dagId.text)
                o["sources"] = r.sources.map { .array($0.sorted().map(JSONValue.string)) } ?? .null
                o["file"] = .string(r.location.description)
                return .object(o)
            }
            return jsonResponse(status: .ok, body: ["generation": .int(Int64(rules.generation)), "rules": .array(list)])
        }
        admin.post("/rules/reload") { _, _ -> Response in
            let (ok, diags) = reloader.reload()
            return jsonResponse(
                    status: ok ? .ok : .unprocessableContent,
                    body: ["reloaded": .bool(ok), "generation": .int(Int64(rules.generation)), "diagnostics": .array(diags.map { .string($0.description) })])
        }
        admin.get("/targets") { _, _ -> Response in
            let list: [JSONValue] = dispatcher.status().sorted { $0.target < $1.target }.map { s in
                ["target": .string(s.target), "in_flight": .int(Int64(s.inFlight)), "breaker": .string(s.breaker.rawValue),
                 "delivered": .int(Int64(s.delivered)), "duplicates": .int(Int64(s.duplicates)), "retries": .int(Int64(s.retries)), "dead": .int(Int64(s.dead)),
                 "last_error": s.lastError.map(JSONValue.string) ?? .null, "last_error_at": s.lastErrorAt.map { .string(ISO8601.format($0)) } ?? .null,
                 "concurrency": Self.concurrencyJSON(s), "held": .object(JSONObject(s.held.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key.rawValue, .int(Int64($0.value))) })),
                 "held_dags": .array(s.heldDAGs.map(Self.heldJSON))]
            }
            return jsonResponse(status: .ok, body: ["targets": .array(list)])
        }
        addDLQRoutes(to: admin)
    }
}

extension AdminRoutes {
    /// `concurrency` of a target in `GET /admin/targets`.
    static func concurrencyJSON(_ s: Dispatcher.TargetStatus) -> JSONValue {
        let ms = { (v: Double?) -> JSONValue in v.map { .double(($0 * 10_000).rounded() / 10) } ?? .null }
        return [
            "mode": .string(s.concurrencyMode.rawValue), "limit": .int(Int64(s.concurrency)), "max_in_flight": .int(Int64(s.maxInFlight)),
            "latency_ms": ms(s.latency), "baseline_latency_ms": ms(s.baselineLatency),
        ]
    }

    /// One held DAG in `GET /admin/targets`.
    static func heldJSON(_ h: AdmissionGate.Held) -> JSONValue {
        ["dag_id": .string(h.dagId), "reason": .string(h.reason.rawValue), "jobs": .int(Int64(h.jobs)), "until": .string(ISO8601.format(h.until)),
         "queued_runs": h.queuedRuns.map { .int(Int64($0)) } ?? .null]
    }
}

/// Bearer-token check for `/admin`; without a configured token the admin API does not exist (404).
struct AdminAuth<Context: RequestContext>: RouterMiddleware {
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else { return notFound("the admin API is disabled (set server.admin_token)") }
        let presented = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
        guard constantTimeEqual(Array(presented.utf8), Array(token.utf8)) else {
            return jsonResponse(status: .unauthorized, body: ["error": "admin token required (Authorization: Bearer …)"])
        }
        return try await next(request, context)
    }
}
