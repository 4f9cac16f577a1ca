import BridgeAirflow
import BridgeConfig
import BridgeDispatch
import BridgeIntake
import BridgeCore
import BridgeRules
import BridgeStore
import Foundation

/// The job, event, targets and rules pages.
extension ConsolePages {
    /// A job: summary, attempts as a timeline, the rendered request, its event, operator actions,
    /// and a link to the run in its target's Airflow UI. The document is ``DLQService/show(id:)``'s,
    /// the same as `GET /admin/dlq/{id}` and `dagbridge dlq show --json`.
    public func job(id text: String, viewer: ConsoleViewer) async throws -> ConsolePage {
        guard let id = Int64(text), id > 0 else { return errorPage(404, "'\(text)' is not a job id.", viewer: viewer) }
        guard let d = try await dlq.show(id: id) else { return errorPage(404, "There is no job \(id) (purged, or pruned after delivery).", viewer: viewer) }
        let job = d["job"] ?? .null
        func s(_ v: JSONValue?) -> String {
            switch v {
            case .string(let t): return t
            case .int(let n): return String(n)
            case .none, .null: return ""
            case .some(let other): return JSONWriter.string(other)
            }
        }
        var c: [String: Any] = [
            "id": id, "state": s(job["state"]), "rule": s(job["rule"]), "target": s(job["target"]), "dagID": s(job["dag_id"]),
            "runID": s(job["dag_run_id"]), "reason": s(job["reason"]), "attempts": s(job["attempts"]), "replays": s(job["replays"]),
            "created": s(job["created_at"]), "updated": s(job["updated_at"]),
            "request": JSONWriter.string(d["request"] ?? .null, pretty: true),
        ]
        c["canReplay"] = viewer.role.canAct && s(job["state"]) == JobState.dead.rawValue
        if let t = targets[s(job["target"])], let link = Self.airflowRunURL(t, dagID: s(job["dag_id"]), runID: s(job["dag_run_id"])) {
            c["airflowURL"] = link
        }
        c["attemptList"] = (d["attempts"]?.arrayValue ?? []).map { a -> [String: Any] in
            var row: [String: Any] = [
                "at": s(a["at"]), "duration": "\(s(a["duration_ms"])) ms", "status": a["http_status"].map { $0 == .null ? "none" : s($0) } ?? "none",
                "outcome": s(a["outcome"]), "reason": s(a["reason"]),
            ]
            if !s(a["answer"]).isEmpty { row["answer"] = s(a["answer"]) }
            return row
        }
        if let e = d["event"], e != .null {
            let eventID = s(e["id"])
            c["event"] = [
                "source": s(e["source"]), "eventID": eventID, "idQuery": eventID, "received": s(e["received_at"]),
                "envelope": JSONWriter.string(e["envelope"] ?? .null, pretty: true), "rawBody": s(e["raw_body"]),
            ] as [String: Any]
        }
        c["audit"] = (d["audit"]?.arrayValue ?? []).map { a -> [String: Any] in
            var row: [String: Any] = ["at": s(a["at"]), "action": s(a["action"]), "actor": s(a["by"]), "options": s(a["options"])]
            if let detail = a["detail"]?.stringValue { row["detail"] = detail }
            return row
        }
        return render("job", c, viewer: viewer, nav: "navDead")
    }

    /// The run's page in the target's Airflow UI, per API flavour; nil when the UI has no stable run URL.
    static func airflowRunURL(_ target: TargetConfig, dagID: String, runID: String) -> String? {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        // Credentials in the target URL (https://user:pass@host) never reach a page.
        guard var parts = URLComponents(string: target.url), let scheme = parts.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let dag = dagID.addingPercentEncoding(withAllowedCharacters: allowed), let run = runID.addingPercentEncoding(withAllowedCharacters: allowed)
        else { return nil }
        parts.user = nil
        parts.password = nil
        parts.query = nil
        parts.fragment = nil
        guard var root = parts.string else { return nil }
        while root.hasSuffix("/") { root.removeLast() }
        switch target.api {
        case .v2: return "\(root)/dags/\(dag)/runs/\(run)"
        case .v1: return "\(root)/dags/\(dag)/grid?dag_run_id=\(run)"
        case .experimental, .restAPIPlugin: return "\(root)/admin/airflow/tree?dag_id=\(dag)"
        }
    }

    /// Event lookup: every stored event with this id, the runs it asked for (their state now), and
    /// why each other active rule does not match it.
    public func events(_ query: ConsoleForm, viewer: ConsoleViewer) async throws -> ConsolePage {
        var c: [String: Any] = [:]
        guard let id = query.nonEmpty("id") else { return render("events", c, viewer: viewer, nav: "navEvents") }
        c["query"] = id
        guard id.count <= 500 else {
            c["message"] = "An event id has at most 500 characters."
            return render("events", c, viewer: viewer, nav: "navEvents", status: 400)
        }
        let found = try await dlq.events(id: id, source: query.nonEmpty("source"))
        guard !found.isEmpty else {
            c["message"] = "No event with id '\(id)' is in the journal (never received, or pruned after its runs were delivered)."
            return render("events", c, viewer: viewer, nav: "navEvents", status: 404)
        }
        let set = rules.ruleSet
        let explained = try await dlq.explainMisses(eventID: id, source: query.nonEmpty("source"), rules: set)
        c["found"] = found.enumerated().map { (i, e) -> [String: Any] in
            let source = e["source"]?.stringValue ?? ""
            let matched = Set((e["rules_matched"]?.arrayValue ?? []).compactMap(\.stringValue))
            let misses = explained.first { $0.source == source }?.misses.filter { !matched.contains($0.rule) } ?? []
            return [
                "index": i, "eventID": e["id"]?.stringValue ?? "", "source": source, "received": e["received_at"]?.stringValue ?? "",
                "envelope": JSONWriter.string(e["envelope"] ?? .null, pretty: true),
                "runs": (e["runs"]?.arrayValue ?? []).map { r -> [String: Any] in
                    [
                        "id": r["job_id"].map { JSONWriter.string($0) } ?? "", "rule": r["rule"]?.stringValue ?? "", "target": r["target"]?.stringValue ?? "",
                        "dagID": r["dag_id"]?.stringValue ?? "", "runID": r["dag_run_id"]?.stringValue ?? "", "state": r["state"]?.stringValue ?? "",
                        "reason": r["reason"]?.stringValue ?? "",
                    ]
                },
                "misses": misses.map { ["rule": $0.rule, "reason": $0.reason] },
            ]
        }
        return render("events", c, viewer: viewer, nav: "navEvents")
    }

    /// Every target: breaker, in flight, counters since start, last error.
    public func targetsPage(viewer: ConsoleViewer) -> ConsolePage {
        let rows = targetStatus().sorted { $0.target < $1.target }.map { s -> [String: Any] in
            var row: [String: Any] = [
                "name": s.target, "api": targets[s.target]?.api.rawValue ?? "", "breaker": s.breaker.rawValue, "inFlight": s.inFlight,
                "maxInFlight": s.maxInFlight, "concurrency": "\(s.concurrency) (\(s.concurrencyMode.rawValue))",
                "held": s.held.filter { $0.value > 0 }.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) (\($0.key.rawValue))" }.joined(separator: ", "),
                "delivered": s.delivered, "duplicates": s.duplicates, "retries": s.retries,
                "dead": s.dead, "lastError": s.lastError ?? "none",
            ]
            if let at = s.lastErrorAt { row["lastErrorAt"] = ISO8601.format(at) }
            return row
        }
        return render("targets", ["targets": rows], viewer: viewer, nav: "navTargets")
    }

    /// Largest body the "try an event" form takes.
    static let maxTryBody = 256 * 1024

    /// The active rules, and (with a form) what they make of a pasted event: `rules test --explain`.
    public func rulesPage(trial form: ConsoleForm?, viewer: ConsoleViewer) -> ConsolePage {
        let set = rules.ruleSet
        var c: [String: Any] = ["generation": rules.generation, "ruleCount": set.rules.count]
        c["ruleList"] = set.rules.map { r -> [String: Any] in
            ["name": r.name, "sources": r.sources.map { $0.sorted().joined(separator: ", ") } ?? "any", "target": r.trigger.target,
             "dagID": r.trigger.dagId.text, "file": URL(fileURLWithPath: r.location.file).lastPathComponent + ":\(r.location.line)"]
        }
        let chosen = form?.nonEmpty("source") ?? sources.first ?? ""
        c["sources"] = (sources.isEmpty ? ["(none)"] : sources).map { ["name": $0, "selected": $0 == chosen] as [String: Any] }
        guard let form else { return render("rules", c, viewer: viewer, nav: "navRules") }
        let body = form["body"] ?? ""
        let headerText = form["headers"] ?? ""
        c["tryBody"] = body
        c["tryHeaders"] = headerText
        guard sources.contains(chosen) else {
            c["message"] = "source: choose one of the configured sources (\(sources.joined(separator: ", ")))."
            return render("rules", c, viewer: viewer, nav: "navRules", status: 400)
        }
        var headers: [(String, String)] = []
        for (n, line) in headerText.split(whereSeparator: \.isNewline).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                c["message"] = "headers, line \(n + 1): '\(line.prefix(80))' must look like 'Name: value'."
                return render("rules", c, viewer: viewer, nav: "navRules", status: 400)
            }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        let (event, note) = Event.trial(source: chosen, headers: headers, rawBody: Array(body.utf8))
        let result = set.evaluate(event)
        var trial: [String: Any] = ["eventID": event.id, "matchedCount": result.matched.count]
        if let note { trial["note"] = note }
        trial["jobs"] = result.jobs.map { j -> [String: Any] in
            ["rule": j.rule, "target": j.target, "dagID": j.dagId, "runID": j.dagRunId, "conf": JSONWriter.string(j.conf, pretty: true)]
        }
        trial["errors"] = result.errors.map { ["rule": $0.rule, "message": $0.message] }
        trial["misses"] = set.explainMisses(event).map { ["rule": $0.rule, "reason": $0.reason] }
        c["trial"] = trial
        return render("rules", c, viewer: viewer, nav: "navRules")
    }
}
