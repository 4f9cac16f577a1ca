public import BridgeAirflow
import BridgeCore
public import BridgeDispatch
public import BridgeIntake
import BridgeRules
import BridgeStore
import BridgeConfig
public import Foundation
import Mustache

/// Who is looking at a page: their role and the CSRF token their forms carry.
public struct ConsoleViewer: Sendable {
    var role: ConsoleRole
    var csrf: String

    /// A viewer for tools that render pages without a login (the benchmark).
    public static func tool(admin: Bool) -> ConsoleViewer { ConsoleViewer(role: admin ? .admin : .viewer, csrf: "benchmark") }
}

/// A rendered console page and its status.
public struct ConsolePage: Sendable {
    /// The HTTP status the page is sent with (200, or the error's).
    public var status: HTTPStatusCode
    /// The whole document.
    public var html: String
}

/// A status code without importing the HTTP types into the page builders' API.
public typealias HTTPStatusCode = Int

/// The console's pages, built from the same services as the admin API and the CLI
/// (``DLQService``, the rule set holder and reloader, the dispatcher's status) and rendered with
/// ``ConsoleTemplates``. No I/O other than the journal's; no request types, so the benchmark
/// times exactly what a request costs on the server.
public struct ConsolePages: Sendable {
    let dlq: DLQService
    let rules: RuleSetHolder
    let reloader: RulesReloader?
    let targetStatus: @Sendable () -> [Dispatcher.TargetStatus]
    let targets: [String: TargetConfig]
    let sources: [String]
    let activity: ConsoleActivity
    let queueDepth: @Sendable () -> Int

    /// Dead jobs per page.
    static let pageSize = 50
    /// Counts stop here ("more than 1,000 match"), so no page scans the whole DLQ to count it.
    static let countCap = 1_000
    /// Jobs a reason-text search looks through per page.
    static let reasonWindow = 5_000
    /// Results listed on a preview or result page (all are acted on).
    static let resultRows = 500

    public init(
        dlq: DLQService, rules: RuleSetHolder, reloader: RulesReloader?, targetStatus: @escaping @Sendable () -> [Dispatcher.TargetStatus],
        targets: [String: TargetConfig], sources: [String], activity: ConsoleActivity,
        queueDepth: @escaping @Sendable () -> Int
    ) {
        self.dlq = dlq
        self.rules = rules
        self.reloader = reloader
        self.targetStatus = targetStatus
        self.targets = targets
        self.sources = sources
        self.activity = activity
        self.queueDepth = queueDepth
    }

    // MARK: Rendering

    func render(_ template: String, _ context: [String: Any], viewer: ConsoleViewer?, nav: String? = nil, status: Int = 200) -> ConsolePage {
        var c = context
        if let viewer {
            c["session"] = true
            c["csrf"] = viewer.csrf
            c["role"] = viewer.role.rawValue
            c["canAct"] = viewer.role.canAct
        }
        if let nav { c[nav] = true }
        return ConsolePage(status: status, html: ConsoleTemplates.library.render(c, withTemplate: template) ?? "")
    }

    /// The error page: what went wrong, and nothing was done.
    func errorPage(_ status: Int, _ message: String, viewer: ConsoleViewer?, back: String = "/console") -> ConsolePage {
        let heading = status == 403 ? "Not allowed" : status == 404 ? "Not found" : status >= 500 ? "Server error" : "Cannot do that"
        return render("error", ["heading": heading, "message": message, "back": back], viewer: viewer, status: status)
    }

    func loginPage(message: String?, loginToken: String, status: Int = 200) -> ConsolePage {
        var c: [String: Any] = ["loginToken": loginToken]
        if let message { c["message"] = message }
        return render("login", c, viewer: nil, status: status)
    }

    // MARK: Overview

    /// Counts now, the last hour per minute, targets and the last rules reload.
    public func overview(viewer: ConsoleViewer, now: Date = Date()) async throws -> ConsolePage {
        let counts = try await dlq.counts()
        var c: [String: Any] = [
            "queueDepth": queueDepth(), "dlqSize": counts.dead, "pending": counts.pending, "inFlight": counts.inFlight,
            "delivered": counts.delivered + counts.duplicate,
        ]
        c["charts"] = ConsoleActivity.Series.allCases.map { series -> [String: Any] in
            let values = activity.lastHour(series, now: now)
            let total = values.reduce(0, +)
            return ["title": series.title, "total": total, "svg": SVGChart(values: values, label: "\(series.title) per minute over the last hour: \(total) in all").svg]
        }
        c["targets"] = targetStatus().sorted { $0.target < $1.target }.map { s -> [String: Any] in
            ["name": s.target, "breaker": s.breaker.rawValue, "inFlight": s.inFlight, "maxInFlight": s.maxInFlight,
             "concurrency": "\(s.concurrency) (\(s.concurrencyMode.rawValue))"]
        }
        let set = rules.ruleSet
        c["ruleCount"] = set.rules.count
        c["generation"] = rules.generation
        if let r = reloader?.lastReload {
            c["reload"] = ["at": ISO8601.format(r.at), "ok": r.ok, "hasDiagnostics": !r.diagnostics.isEmpty, "diagnostics": r.diagnostics.map(\.description)] as [String: Any]
        }
        return render("overview", c, viewer: viewer, nav: "navOverview")
    }

    // MARK: Dead letters

    /// The filter fields of the dead-letter page, as typed.
    static let filterFields = ["rule", "target", "reason", "since", "until"]

    /// Reads the filter of a query or form (always dead jobs).
    /// - Throws: ``ConsoleError`` 400 with what to fix.
    static func filter(_ form: ConsoleForm, now: Date) throws(ConsoleError) -> JobFilter {
        var fields: [(String, String)] = []
        for name in filterFields {
            guard let v = form.nonEmpty(name) else { continue }
            guard v.count <= 200 else { throw ConsoleError(.badRequest, "\(name): at most 200 characters.") }
            fields.append((name, v))
        }
        do {
            return try JobFilter(fields: fields, defaultState: .dead, now: now)
        } catch {
            throw ConsoleError(.badRequest, error.description)
        }
    }

    /// A page of dead jobs, newest first, filtered and paged by keyset (`before`).
    public func deadLetters(_ query: ConsoleForm, viewer: ConsoleViewer, now: Date = Date()) async throws -> ConsolePage {
        var c: [String: Any] = [:]
        var echo: [String: String] = [:]
        for name in Self.filterFields { echo[name] = query[name] ?? "" }
        c["filter"] = echo
        let set = rules.ruleSet
        c["rules"] = set.rules.map { ["name": $0.name, "selected": $0.name == echo["rule"]] as [String: Any] }
        c["targetNames"] = targets.keys.sorted().map { ["name": $0, "selected": $0 == echo["target"]] as [String: Any] }
        var filter: JobFilter
        do throws(ConsoleError) {
            filter = try Self.filter(query, now: now)
            if let b = query.nonEmpty("before") {
                guard let cursor = JobCursor(text: b) else { throw ConsoleError(.badRequest, "before: '\(b)' is not a page position; start again from the most recent jobs.") }
                filter.cursor = cursor
            }
        } catch {
            c["message"] = error.message
            c["countText"] = "Nothing listed: fix the filter."
            return render("dead-letters", c, viewer: viewer, nav: "navDead", status: 400)
        }
        filter.newestFirst = true
        filter.limit = Self.pageSize + 1
        // A reason text is searched for in windows of the newest jobs matching the other fields, a
        // page at a time: a text no job has costs one window, not a scan of the whole DLQ.
        if filter.reason != nil { filter.scanLimit = Self.reasonWindow }
        var jobs = try await dlq.page(filter)
        let hasMore = jobs.count > Self.pageSize
        if hasMore { jobs.removeLast() }
        var next = hasMore ? jobs.last.map(JobCursor.init(after:)) : nil
        if filter.reason != nil, !hasMore { next = try await dlq.scanEnd(filter) }
        var fromStart = filter
        fromStart.cursor = nil
        var windowed = false
        if filter.reason != nil {
            if filter.cursor == nil, !hasMore { windowed = next != nil } else { windowed = try await dlq.scanEnd(fromStart) != nil }
        }
        // A first page that is not full already holds every match (of the first window, with a
        // reason text): no second pass to count them.
        var count = jobs.count
        if filter.cursor != nil || hasMore { count = try await dlq.count(filter, upTo: Self.countCap + 1) }
        let countShort = count > Self.countCap ? "\(Self.countCap.formatted())+" : count.formatted()
        c["countShort"] = countShort
        c["countText"] =
            windowed
            ? "\(countShort) of the newest \(Self.reasonWindow.formatted()) dead jobs match; older jobs are searched page by page (Older jobs)."
            : count > Self.countCap ? "More than \(Self.countCap.formatted()) dead jobs match." : "\(count.formatted()) dead jobs match."
        c["jobs"] = jobs.map { j -> [String: Any] in
            ["id": j.id, "rule": j.job.rule, "target": j.job.target, "dagID": j.job.dagId, "reason": j.lastReason ?? "", "attempts": j.attempts,
             "updated": ISO8601.format(j.updatedAt)]
        }
        var keep: [(String, String)] = []
        for name in Self.filterFields { if let v = query.nonEmpty(name) { keep.append((name, v)) } }
        c["hiddenFilter"] = keep.map { ["name": $0.0, "value": $0.1] }
        if filter.cursor != nil { c["firstURL"] = Self.url("/console/dead-letters", keep) }
        if let next { c["nextURL"] = Self.url("/console/dead-letters", keep + [("before", next.text)]) }
        return render("dead-letters", c, viewer: viewer, nav: "navDead")
    }

    /// A console URL with a percent-encoded query.
    static func url(_ path: String, _ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return path }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return path + "?" + query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }
}
