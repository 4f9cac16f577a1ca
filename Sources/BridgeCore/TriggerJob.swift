/// One DAG run to create: the output of the rules, the unit the journal stores
/// and the dispatcher delivers.
public struct TriggerJob: Sendable, Equatable {
    /// Name of the rule that produced the job.
    public var rule: String
    /// Name of the Airflow target (a key of `targets:` in the service config).
    public var target: String
    /// The DAG to run.
    public var dagId: String
    /// The run's `conf` (any JSON; usually an object).
    public var conf: JSONValue
    /// Deterministic run id: a redelivery of the same event maps to the same run.
    public var dagRunId: String
    /// ISO-8601 logical date, or `nil` to let Airflow choose (v2: sent as `null`).
    public var logicalDate: String?
    /// Free-text note shown on the run in Airflow's UI.
    public var note: String?
    /// Per-rule overrides of the target's retry policy.
    public var retry: RetryOverrides?

    public init(
        rule: String, target: String, dagId: String, conf: JSONValue, dagRunId: String,
        logicalDate: String? = nil, note: String? = nil, retry: RetryOverrides? = nil
    ) {
        self.rule = rule
        self.target = target
        self.dagId = dagId
        self.conf = conf
        self.dagRunId = dagRunId
        self.logicalDate = logicalDate
        self.note = note
        self.retry = retry
    }

    /// The job as JSON (`rule`, `target`, `dag_id`, `dag_run_id`, `logical_date`, `note`, `conf`).
    public var json: JSONValue {
        var o = JSONObject()
        o["rule"] = .string(rule)
        o["target"] = .string(target)
        o["dag_id"] = .string(dagId)
        o["dag_run_id"] = .string(dagRunId)
        o["logical_date"] = logicalDate.map(JSONValue.string) ?? .null
        o["note"] = note.map(JSONValue.string) ?? .null
        o["conf"] = conf
        return .object(o)
    }
}

/// Retry settings a rule may override; `nil` fields use the target's policy.
public struct RetryOverrides: Sendable, Equatable, Codable {
    public var maxAttempts: Int?
    /// Seconds.
    public var maxAge: Double?
    /// Seconds.
    public var initialBackoff: Double?
    /// Seconds.
    public var maxBackoff: Double?

    public init(maxAttempts: Int? = nil, maxAge: Double? = nil, initialBackoff: Double? = nil, maxBackoff: Double? = nil) {
        self.maxAttempts = maxAttempts
        self.maxAge = maxAge
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }
}
