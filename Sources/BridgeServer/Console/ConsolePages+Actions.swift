import BridgeCore
import BridgeStore
public import Foundation

/// Replay and purge from the dead-letter page: a dry run that says what will happen to each job,
/// then the same selection applied. Both go through ``DLQService`` as the admin API's bulk calls.
extension ConsolePages {
    /// What an action form asks for, read and checked.
    struct ActionRequest {
        var purge: Bool
        var mode: String
        var request: AdminDLQRequest
        /// The selection as hidden fields, so the confirm form applies exactly what was previewed.
        var hidden: [(String, String)]
    }

    static let modes = ["as_sent", "rerender", "new_run_id"]
    static let maxIDs = 1000

    /// Reads an action form.
    /// - Parameter freeze: for a preview, "all matching" is pinned to jobs dead before now (an
    ///   absolute `until`), so applying it later acts on the jobs the preview showed, not on jobs that died since.
    /// - Throws: ``ConsoleError`` 400 with what to fix.
    static func actionRequest(_ form: ConsoleForm, freeze: Bool, now: Date) throws(ConsoleError) -> ActionRequest {
        let action = form["action"] ?? ""
        guard action == "replay" || action == "purge" else { throw ConsoleError(.badRequest, "action: choose replay or purge.") }
        let mode = form["mode"] ?? "as_sent"
        guard modes.contains(mode) else { throw ConsoleError(.badRequest, "mode: choose as_sent, rerender or new_run_id.") }
        var hidden: [(String, String)] = [("action", action), ("mode", mode)]
        let selection: AdminDLQRequest.Selection
        switch form["scope"] ?? "selected" {
        case "selected":
            let texts = form.all("ids")
            guard !texts.isEmpty else { throw ConsoleError(.badRequest, "No job is ticked: tick the jobs to act on, or choose \"all matching jobs\".") }
            guard texts.count <= maxIDs else { throw ConsoleError(.badRequest, "At most \(maxIDs) ticked jobs at once; use \"all matching jobs\" with a filter.") }
            var ids: [Int64] = []
            for t in texts {
                guard let id = Int64(t), id > 0 else { throw ConsoleError(.badRequest, "ids: '\(t)' is not a job id.") }
                if !ids.contains(id) { ids.append(id) }
            }
            selection = .ids(ids)
            hidden.append(("scope", "selected"))
            hidden += ids.map { ("ids", String($0)) }
        case "all":
            var filter = try filter(form, now: now)
            if freeze { filter.until = min(filter.until ?? now, now) }
            selection = .filter(filter)
            hidden.append(("scope", "all"))
            for (k, v) in filter.fields where k != "state" && k != "limit" { hidden.append((k, v)) }
        default:
            throw ConsoleError(.badRequest, "scope: choose the ticked jobs or all matching jobs.")
        }
        var request = AdminDLQRequest(selection: selection)
        request.newRunID = mode == "new_run_id"
        request.rerender = mode == "rerender"
        return ActionRequest(purge: action == "purge", mode: mode, request: request, hidden: hidden)
    }

    /// `text` ending with a full stop.
    static func sentence(_ text: String) -> String { text.hasSuffix(".") ? text : text + "." }

    /// A dry run (`apply == false`) or the action itself, as a page listing every job's result.
    public func dlqAction(_ form: ConsoleForm, apply: Bool, viewer: ConsoleViewer, now: Date = Date()) async throws -> ConsolePage {
        guard viewer.role.canAct else {
            return errorPage(403, "A viewer login can look at dead letters but cannot replay or purge them; nothing was done.", viewer: viewer, back: "/console/dead-letters")
        }
        var action: ActionRequest
        do {
            action = try Self.actionRequest(form, freeze: !apply, now: now)
        } catch {
            return errorPage(error.status, Self.sentence(error.message) + " Nothing was done.", viewer: viewer, back: "/console/dead-letters")
        }
        action.request.dryRun = !apply
        action.request.yes = apply && action.purge
        let actor = "console:\(viewer.role.rawValue)"
        let results: [DLQActionResult]
        do {
            results = action.purge ? try await dlq.purge(action.request, actor: actor) : try await dlq.replay(action.request, actor: actor)
        } catch let error as DLQServiceError {
            return errorPage(409, error.description + "; nothing was done.", viewer: viewer, back: "/console/dead-letters")
        }
        let ok = results.filter(\.ok).count
        let verb = action.purge ? "purge" : "replay"
        let how = action.purge ? "" : [
            "as_sent": " as sent", "rerender": " re-rendered by the current rules", "new_run_id": " with new run ids",
        ][action.mode] ?? ""
        var c: [String: Any] = [:]
        c["dryRun"] = !apply
        c["purge"] = action.purge
        c["heading"] = apply ? (action.purge ? "Purged" : "Replayed") : "Preview: \(verb)\(how)"
        c["summary"] =
            apply
            ? "\(action.purge ? "Purged" : "Replayed") \(ok) of \(results.count) selected jobs\(how)."
            : "\(ok) of \(results.count) selected jobs would be \(action.purge ? "purged (deleted for good)" : "replayed\(how)"). Nothing has been done yet."
        c["confirmLabel"] = action.purge ? "Purge \(ok) jobs for good" : "Replay \(ok) jobs"
        c["caption"] = apply ? "What happened to each job" : "What will happen to each job"
        c["hidden"] = action.hidden.map { ["name": $0.0, "value": $0.1] }
        c["results"] = results.prefix(Self.resultRows).map { r -> [String: Any] in
            var row: [String: Any] = [
                "id": r.jobID, "ok": r.ok, "okWord": action.purge ? (apply ? "purged" : "will be purged") : (apply ? "replayed" : "will replay"),
                "oldRunID": r.oldRunID ?? "", "newRunID": r.newRunID ?? "", "message": r.message,
            ]
            row["due"] = r.dueAt.map(ISO8601.format) ?? ""
            return row
        }
        if results.count > Self.resultRows { c["more"] = results.count - Self.resultRows }
        return render("dlq-preview", c, viewer: viewer, nav: "navDead")
    }
}
