public import BridgeCore
public import BridgeHTTP

/// One Airflow API call before auth and transport: method, the API root and the path below it.
///
/// Channels turn it into HTTP: directly (`{url}{root}{path}`), or wrapped in MWAA's `InvokeRestApi`
/// (which takes only `path`, relative to the API root).
public struct AirflowCall: Sendable {
    /// The HTTP method.
    public var method: HTTPMethod
    /// The API root below the base URL (`/api/v2`, `/api/v1`, `/api/experimental`, `/admin/rest_api`).
    public var root: String
    /// The path below the root, already percent-encoded (`/dags/my%20dag/dagRuns`).
    public var path: String
    /// Query items (not encoded).
    public var query: [(String, String)]
    /// A JSON body, or `nil` for none.
    public var body: JSONValue?

    /// Creates a call; `path` must already be percent-encoded.
    public init(method: HTTPMethod, root: String, path: String, query: [(String, String)] = [], body: JSONValue? = nil) {
        self.method = method
        self.root = root
        self.path = path
        self.query = query
        self.body = body
    }

    /// `METHOD /root/path` for messages (no query: the plugin's query carries the conf).
    public var summary: String { "\(method) \(root)\(path)" }

    /// The full URL below `baseURL`.
    func url(base: String) -> String {
        var u = base + root + path
        if !query.isEmpty { u += "?" + URLEncoding.query(query) }
        return u
    }
}

extension AirflowAPI {
    /// The API root below the base URL.
    var root: String {
        switch self {
        case .v2: return "/api/v2"
        case .v1: return "/api/v1"
        case .experimental: return "/api/experimental"
        case .restAPIPlugin: return "/admin/rest_api"
        }
    }

    /// The call that creates the job's run in this flavour.
    func triggerCall(_ job: TriggerJob) -> AirflowCall {
        let dag = URLEncoding.component(job.dagId)
        switch self {
        case .v2:
            var o = JSONObject()
            o["dag_run_id"] = .string(job.dagRunId)
            o["logical_date"] = job.logicalDate.map(JSONValue.string) ?? .null
            o["conf"] = job.conf
            o["note"] = job.note.map(JSONValue.string) ?? .null
            return AirflowCall(method: .post, root: root, path: "/dags/\(dag)/dagRuns", body: .object(o))
        case .v1:
            var o = JSONObject()
            o["dag_run_id"] = .string(job.dagRunId)
            o["conf"] = job.conf
            if let note = job.note { o["note"] = .string(note) }
            if let date = job.logicalDate { o["logical_date"] = .string(date) }
            return AirflowCall(method: .post, root: root, path: "/dags/\(dag)/dagRuns", body: .object(o))
        case .experimental:
            var o = JSONObject()
            o["run_id"] = .string(job.dagRunId)
            o["conf"] = job.conf
            o["replace_microseconds"] = "false"
            if let date = job.logicalDate { o["execution_date"] = .string(date) }
            return AirflowCall(method: .post, root: root, path: "/dags/\(dag)/dag_runs", body: .object(o))
        case .restAPIPlugin:
            var q: [(String, String)] = [("api", "trigger_dag"), ("dag_id", job.dagId), ("run_id", job.dagRunId)]
            q.append(("conf", JSONWriter.string(job.conf)))
            if let date = job.logicalDate { q.append(("exec_date", date)) }
            return AirflowCall(method: .post, root: root, path: "/api", query: q)
        }
    }

    /// The call that reads a DAG (`nil` when the flavour has none).
    func dagCall(_ dagId: String) -> AirflowCall? {
        let dag = URLEncoding.component(dagId)
        switch self {
        case .v2, .v1: return AirflowCall(method: .get, root: root, path: "/dags/\(dag)")
        case .experimental: return AirflowCall(method: .get, root: root, path: "/dags/\(dag)/paused")
        case .restAPIPlugin: return nil
        }
    }

    /// The call that reads one run (`nil` when the flavour has none).
    func runCall(dagId: String, runId: String) -> AirflowCall? {
        let dag = URLEncoding.component(dagId)
        switch self {
        case .v2, .v1: return AirflowCall(method: .get, root: root, path: "/dags/\(dag)/dagRuns/\(URLEncoding.component(runId))")
        case .experimental: return AirflowCall(method: .get, root: root, path: "/dags/\(dag)/dag_runs")
        case .restAPIPlugin: return nil
        }
    }

    /// The call that lists a DAG's runs (first page; `total_entries` counts them all).
    func runsCall(dagId: String, limit: Int) -> AirflowCall? {
        switch self {
        case .v2, .v1:
            return AirflowCall(method: .get, root: root, path: "/dags/\(URLEncoding.component(dagId))/dagRuns", query: [("limit", "\(limit)")])
        case .experimental, .restAPIPlugin: return nil
        }
    }

    /// The call that counts a DAG's queued runs (`total_entries` of a one-item page; nil when the flavour has none).
    func queuedRunsCall(dagId: String) -> AirflowCall? {
        switch self {
        case .v2, .v1:
            return AirflowCall(method: .get, root: root, path: "/dags/\(URLEncoding.component(dagId))/dagRuns", query: [("state", "queued"), ("limit", "1")])
        case .experimental, .restAPIPlugin: return nil
        }
    }

    /// A cheap authenticated read that shows the API is reachable and the credentials work.
    var probeCall: AirflowCall {
        switch self {
        case .v2, .v1: return AirflowCall(method: .get, root: root, path: "/dags", query: [("limit", "1")])
        case .experimental: return AirflowCall(method: .get, root: root, path: "/test")
        case .restAPIPlugin: return AirflowCall(method: .get, root: root, path: "/api", query: [("api", "version")])
        }
    }
}
