public import Hummingbird
import BridgeConfig
import BridgeCore
import BridgeRules
import BridgeStore
import Foundation
import NIOCore

extension Router {
    /// `GET /healthz`, `GET /readyz`, `GET /metrics`, and the admin API under `/admin`
    /// (bearer `server.admin_token`; every admin route answers 404 when no token is configured).
    public func addOperationsRoutes(_ service: DagbridgeService) {
        get("/healthz") { _, _ -> Response in
            jsonResponse(.init(status: 200, body: ["status": "alive"]))
        }
        get("/readyz") { _, _ -> Response in
            var problems: [JSONValue] = []
            if service.readiness.isShuttingDown { problems.append("shutting down") }
            if !FileManager.default.isWritableFile(atPath: service.config.store.path) { problems.append("store file is not writable") }
            do { _ = try await service.journal.counts() } catch { problems.append(.string("store cannot be read: \(error)")) }
            return jsonResponse(
                .init(
                    status: problems.isEmpty ? 200 : 503,
                    body: ["ready": .bool(problems.isEmpty), "problems": .array(problems), "rules_generation": .int(Int64(service.rules.generation))]))
        }
        get("/metrics") { _, _ -> Response in
            let dead = (try? await service.dispatcher.deadLetterCount()) ?? 0
            service.metrics.queue(depth: service.dispatcher.queueDepth, dlq: dead)
            for s in service.dispatcher.status() {
                service.metrics.breaker(target: s.target, state: s.breaker == "open" ? 2 : s.breaker == "half_open" ? 1 : 0)
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: service.metrics.render())))
        }
        addAdminRoutes(service)
    }

    func addAdminRoutes(_ service: DagbridgeService) {
        let admin = group("/admin")
        admin.add(middleware: AdminAuth(token: service.config.server.adminToken?.value))
        admin.get("/rules") { _, _ -> Response in
            let set = service.rules.ruleSet
            let rules: [JSONValue] = set.rules.map { r in
                var o = JSONObject()
                o["name"] = .string(r.name)
                o["target"] = .string(r.trigger.target)
                o["dag_id"] = .string(r.trigger.dagId.text)
                o["sources"] = r.sources.map { .array($0.sorted().map(JSONValue.string)) } ?? .null
                o["file"] = .string(r.location.description)
                return .object(o)
            }
            return jsonResponse(.init(status: 200, body: ["generation": .int(Int64(service.rules.generation)), "rules": .array(rules)]))
        }
        admin.post("/rules/reload") { _, _ -> Response in
            let (ok, diags) = service.reloader.reload()
            return jsonResponse(
                .init(
                    status: ok ? 200 : 422,
                    body: ["reloaded": .bool(ok), "generation": .int(Int64(service.rules.generation)), "diagnostics": .array(diags.map { .string($0.description) })]))
        }
        admin.get("/targets") { _, _ -> Response in
            let list: [JSONValue] = service.dispatcher.status().sorted { $0.target < $1.target }.map { s in
                ["target": .string(s.target), "in_flight": .int(Int64(s.inFlight)), "breaker": .string(s.breaker),
                 "delivered": .int(Int64(s.delivered)), "duplicates": .int(Int64(s.duplicates)), "retries": .int(Int64(s.retries)), "dead": .int(Int64(s.dead)),
                 "last_error": s.lastError.map(JSONValue.string) ?? .null, "last_error_at": s.lastErrorAt.map { .string(ISO8601.format($0)) } ?? .null]
            }
            return jsonResponse(.init(status: 200, body: ["targets": .array(list)]))
        }
        admin.get("/dlq") { request, _ -> Response in
            let filter: JobFilter
            do throws(JobFilterError) {
                filter = try JobFilter(fields: request.uri.queryParameters.map { (String($0.key), String($0.value)) })
            } catch {
                return badRequest(error.description)
            }
            var f = filter
            if f.limit == nil { f.limit = 1000 }
            let jobs = try await service.journal.jobs(matching: f)
            return jsonResponse(.init(status: 200, body: ["jobs": .array(jobs.map(\.summaryJSON))]))
        }
        admin.get("/dlq/{id}") { _, context -> Response in
            try await jobDetail(service, context)
        }
        admin.get("/jobs/{id}") { _, context -> Response in
            try await jobDetail(service, context)
        }
        admin.get("/events/{id}") { request, context -> Response in
            guard let id = context.parameters.get("id"), !id.isEmpty else { return notFound("give an event id") }
            let source = request.uri.queryParameters["source"].map(String.init)
            let events = try await service.journal.eventDetail(eventID: id, source: source)
            if events.isEmpty { return notFound("no event '\(id)'" + (source.map { " from source '\($0)'" } ?? "") + " in the store") }
            return jsonResponse(.init(status: 200, body: ["events": .array(events)]))
        }
        admin.post("/dlq/{id}/replay") { request, context -> Response in
            guard let id = context.parameters.get("id", as: Int64.self) else { return notFound("job id must be a number") }
            let newRunID = request.uri.queryParameters["new_run_id"].map(String.init) == "true"
            let results = try await service.journal.replay(
                ids: [id], actor: "admin-api", filters: "id=\(id)", options: ReplayOptions(newRunID: newRunID))
            let ok = results.allSatisfy(\.ok)
            return jsonResponse(.init(status: ok ? 200 : 409, body: ["results": .array(results.map(\.json))]))
        }
        admin.post("/dlq/replay") { request, _ -> Response in
            let r: AdminDLQRequest
            do throws(JobFilterError) {
                r = try AdminDLQRequest.parse(try await adminBody(request), purge: false)
            } catch {
                return badRequest(error.description)
            }
            let (ids, selected) = try await service.journal.resolve(r.selection)
            let actor = "admin-api" + (r.by.map { ":\($0)" } ?? "")
            let options = ReplayOptions(newRunID: r.newRunID, rate: r.rate, dryRun: r.dryRun, note: r.rerender ? "rerender" : "")
            let results: [DLQActionResult]
            if ids.isEmpty {
                results = []
            } else if r.rerender {
                results = try await service.journal.replay(
                    ids: ids, actor: actor, filters: selected, options: options, rerenderWith: service.rules.ruleSet)
            } else {
                results = try await service.journal.replay(ids: ids, actor: actor, filters: selected, options: options)
            }
            return bulkAnswer(results, dryRun: r.dryRun)
        }
        admin.post("/dlq/purge") { request, _ -> Response in
            let r: AdminDLQRequest
            do throws(JobFilterError) {
                r = try AdminDLQRequest.parse(try await adminBody(request), purge: true)
            } catch {
                return badRequest(error.description)
            }
            let (ids, selected) = try await service.journal.resolve(r.selection)
            let actor = "admin-api" + (r.by.map { ":\($0)" } ?? "")
            let results = ids.isEmpty ? [] : try await service.journal.purge(ids: ids, actor: actor, filters: selected, dryRun: r.dryRun)
            return bulkAnswer(results, dryRun: r.dryRun)
        }
        admin.delete("/dlq/{id}") { _, context -> Response in
            guard let id = context.parameters.get("id", as: Int64.self) else { return notFound("job id must be a number") }
            let results = try await service.journal.purge(ids: [id], actor: "admin-api", filters: "id=\(id)")
            let ok = results.allSatisfy(\.ok)
            return jsonResponse(.init(status: ok ? 200 : 404, body: ["results": .array(results.map(\.json))]))
        }
    }
}

private func notFound(_ message: String) -> Response {
    jsonResponse(.init(status: 404, body: ["error": .string(message)]))
}

private func badRequest(_ message: String) -> Response {
    jsonResponse(.init(status: 400, body: ["error": .string(message)]))
}

/// An admin request body (small JSON documents; 1 MiB is far more than any needs).
private func adminBody(_ request: Request) async throws(JobFilterError) -> [UInt8] {
    do {
        return Array(buffer: try await request.body.collect(upTo: 1 << 20))
    } catch {
        throw JobFilterError("cannot read the request body (at most 1 MiB): \(error)")
    }
}

/// The answer to a bulk action: every job's result, with counts. 200 even when some jobs were
/// skipped (each result says why); the CLI exits 1 in that case.
private func bulkAnswer(_ results: [DLQActionResult], dryRun: Bool) -> Response {
    jsonResponse(
        .init(
            status: 200,
            body: [
                "dry_run": .bool(dryRun), "selected": .int(Int64(results.count)), "ok": .int(Int64(results.filter(\.ok).count)),
                "results": .array(results.map(\.json)),
            ]))
}

private func jobDetail(_ service: DagbridgeService, _ context: some RequestContext) async throws -> Response {
    guard let id = context.parameters.get("id", as: Int64.self) else { return notFound("job id must be a number") }
    guard let detail = try await service.journal.jobDetail(id: id) else { return notFound("no job \(id)") }
    return jsonResponse(.init(status: 200, body: detail))
}

/// Bearer-token check for `/admin`; without a configured token the admin API does not exist (404).
struct AdminAuth<Context: RequestContext>: RouterMiddleware {
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else { return notFound("the admin API is disabled (set server.admin_token)") }
        let presented = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
        guard constantTimeEqual(Array(presented.utf8), Array(token.utf8)) else {
            return jsonResponse(.init(status: 401, body: ["error": "admin token required (Authorization: Bearer …)"]))
        }
        return try await next(request, context)
    }
}
