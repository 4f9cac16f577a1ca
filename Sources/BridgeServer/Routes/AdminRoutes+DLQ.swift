import BridgeCore
import BridgeStore
import Foundation
import Hummingbird
import NIOCore

extension AdminRoutes {
    /// `/admin/dlq…`, `/admin/jobs/{id}`, `/admin/events/{id}`: through ``DLQService``, as the CLI.
    func addDLQRoutes<Context: RequestContext>(to admin: RouterGroup<Context>) {
        admin.get("/dlq") { request, _ -> Response in
            let filter: JobFilter
            do throws(JobFilterError) {
                filter = try JobFilter(fields: request.uri.queryParameters.map { (String($0.key), String($0.value)) })
            } catch {
                return badRequest(error.description)
            }
            var f = filter
            if f.limit == nil { f.limit = 1000 }
            return jsonResponse(status: .ok, body: ["jobs": .array(try await dlq.list(f))])
        }
        admin.get("/dlq/{id}") { _, context -> Response in
            try await jobDetail(dlq, context)
        }
        admin.get("/jobs/{id}") { _, context -> Response in
            try await jobDetail(dlq, context)
        }
        admin.get("/events/{id}") { request, context -> Response in
            guard let id = context.parameters.get("id"), !id.isEmpty else { return notFound("give an event id") }
            let source = request.uri.queryParameters["source"].map(String.init)
            let events = try await dlq.events(id: id, source: source)
            if events.isEmpty { return notFound("no event '\(id)'" + (source.map { " from source '\($0)'" } ?? "") + " in the store") }
            return jsonResponse(status: .ok, body: ["events": .array(events)])
        }
        admin.post("/dlq/{id}/replay") { request, context -> Response in
            guard let id = context.parameters.get("id", as: Int64.self) else { return notFound("job id must be a number") }
            var r = AdminDLQRequest(selection: .ids([id]))
            r.newRunID = request.uri.queryParameters["new_run_id"].map(String.init) == "true"
            let results = try await dlq.replay(r, actor: adminActor(nil))
            let ok = results.allSatisfy(\.ok)
            return jsonResponse(status: ok ? .ok : .conflict, body: ["results": .array(results.map(\.json))])
        }
        admin.post("/dlq/replay") { request, _ -> Response in
            try await bulk(request, purge: false)
        }
        admin.post("/dlq/purge") { request, _ -> Response in
            try await bulk(request, purge: true)
        }
        admin.delete("/dlq/{id}") { _, context -> Response in
            guard let id = context.parameters.get("id", as: Int64.self) else { return notFound("job id must be a number") }
            var r = AdminDLQRequest(selection: .ids([id]))
            r.yes = true
            let results = try await dlq.purge(r, actor: adminActor(nil))
            let ok = results.allSatisfy(\.ok)
            return jsonResponse(status: ok ? .ok : .notFound, body: ["results": .array(results.map(\.json))])
        }
    }
}

extension AdminRoutes {
    /// `POST /admin/dlq/replay` and `/admin/dlq/purge`: read the selection, act, answer with every job's result.
    func bulk(_ request: Request, purge: Bool) async throws -> Response {
        let r: AdminDLQRequest
        do throws(JobFilterError) {
            r = try AdminDLQRequest.parse(try await adminBody(request), purge: purge)
        } catch {
            return badRequest(error.description)
        }
        let actor = adminActor(r.by)
        let results = purge ? try await dlq.purge(r, actor: actor) : try await dlq.replay(r, actor: actor)
        return bulkAnswer(results, dryRun: r.dryRun)
    }
}

/// The audit log's actor for an admin call: `admin-api`, with the caller's `by` when given.
private func adminActor(_ by: String?) -> String {
    "admin-api" + (by.map { ":\($0)" } ?? "")
}

func notFound(_ message: String) -> Response {
    jsonResponse(status: .notFound, body: ["error": .string(message)])
}

func badRequest(_ message: String) -> Response {
    jsonResponse(status: .badRequest, body: ["error": .string(message)])
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
            status: .ok,
            body: [
                "dry_run": .bool(dryRun), "selected": .int(Int64(results.count)), "ok": .int(Int64(results.filter(\.ok).count)),
                "results": .array(results.map(\.json)),
            ])
}

private func jobDetail(_ dlq: DLQService, _ context: some RequestContext) async throws -> Response {
    guard let id = context.parameters.get("id", as: Int64.self) else { return notFound("job id must be a number") }
    guard let detail = try await dlq.show(id: id) else { return notFound("no job \(id)") }
    return jsonResponse(status: .ok, body: detail)
}

