public import BridgeCore
import BridgeHTTP
import Foundation
public import Logging

/// Creates DAG runs on one Airflow target: builds the flavour's request, authenticates, sends, classifies.
///
/// ```swift
/// let client = try AirflowClient(config: target, transport: httpClient)
/// let result = await client.trigger(job)   // never throws
/// ```
public final class AirflowClient: TriggerClient {
    /// The target's configuration.
    public let config: TargetConfig
    let channel: any AirflowChannel
    let classifier: AnswerClassifier
    /// The authorizer for direct channels (exposed for tests and metrics).
    public let authorizer: (any RequestAuthorizer)?
    let logger: Logger

    /// Builds the client for one target.
    /// - Parameters:
    ///   - config: the target.
    ///   - transport: the HTTP client (shared, or configured with ``TargetConfig/transportOptions``).
    ///   - environment: where AWS/Google settings are read (the process environment by default).
    ///   - webServerURL: MWAA web-login only: use this instead of `https://{WebServerHostname}` (tests).
    /// - Throws: ``AirflowError`` when the auth settings cannot work (unreadable key file).
    public init(
        config: TargetConfig, transport: any HTTPTransport, environment: [String: String]? = nil, webServerURL: String? = nil,
        logger: Logger = Logger(label: "dagbridge.airflow")
    ) throws(AirflowError) {
        self.config = config
        self.logger = logger
        var kerberosPrincipal: String?
        if case .kerberos = config.auth { kerberosPrincipal = "HTTP/" + (URL(string: config.url)?.host ?? config.url) }
        classifier = AnswerClassifier(target: config.name, api: config.api, timeout: config.timeout, kerberosPrincipal: kerberosPrincipal)
        switch config.auth {
        case .awsMWAA(let m):
            let chain = AWSCredentialChain(config: m, environment: environment, transport: transport)
            authorizer = nil
            switch m.mode {
            case .invokeRestAPI:
                channel = MWAAInvokeChannel(config: m, credentials: chain, transport: transport, target: config.name)
            case .webLogin:
                channel = MWAAWebLoginChannel(
                    config: m, credentials: chain, transport: transport, target: config.name, webServerURL: webServerURL ?? (config.url.isEmpty ? nil : config.url))
            }
            return
        case .airflowPassword(let user, let password, let tokenURL):
            authorizer = AirflowPasswordAuthorizer(
                tokenURL: tokenURL ?? config.url + "/auth/token", username: user, password: password, target: config.name,
                timeout: config.timeout, transport: transport)
        case .google(let g):
            authorizer = try GoogleAuthorizer(config: g, target: config.name, transport: transport)
        case .none, .basic, .bearer, .header, .kerberos:
            authorizer = StaticAuthorizer(config.auth)
        }
        channel = DirectChannel(baseURL: config.url, transport: transport, authorizer: authorizer!)
        if config.tls.insecureSkipVerify {
            logger.warning("TLS certificate checks are off for this target", metadata: ["target": "\(config.name)"])
        }
    }

    /// The target's name.
    public var name: String { config.name }

    /// Sends the job once and classifies the answer. Never throws.
    public func trigger(_ job: TriggerJob) async -> TriggerResult {
        guard RunID.isValid(job.dagRunId) else {
            return TriggerResult(
                outcome: .permanent,
                reason: "run id '\(job.dagRunId.prefix(80))' is not accepted by Airflow: use only letters, digits and _ . ~ : + - (at most \(RunID.maxLength) characters)")
        }
        guard !job.dagId.isEmpty else {
            return TriggerResult(outcome: .permanent, reason: "empty DAG id for target '\(config.name)'")
        }
        let call = config.api.triggerCall(job)
        let start = Clock.monotonic()
        do {
            let response = try await channel.send(call, timeout: config.timeout)
            var result = classifier.classify(response, job: job, call: call, duration: Clock.monotonic() - start)
            logger.debug(
                "trigger answered",
                metadata: ["target": "\(config.name)", "dag": "\(job.dagId)", "run": "\(job.dagRunId)", "status": "\(response.status)"])
            if result.outcome == .duplicate, config.api == .v1 || config.api == .v2 {
                result = await lookUpExisting(job, duplicate: result)
                result.duration = Clock.monotonic() - start
            }
            return result
        } catch {
            return classifier.classify(error: error, duration: Clock.monotonic() - start)
        }
    }

    /// A run with the job's id exists already: ours from an earlier attempt whose answer was lost
    /// (a timeout, a reset after sending), a redelivery, or someone else's run that happens to use
    /// the id. Reads the run and compares its `conf`: the same conf stays a duplicate (done), a
    /// different one is a permanent failure that says so. The reason records the look-up either
    /// way, for the job's attempt history.
    func lookUpExisting(_ job: TriggerJob, duplicate: TriggerResult) async -> TriggerResult {
        var result = duplicate
        let run = "run '\(job.dagRunId)' of DAG '\(job.dagId)'"
        switch await getRun(dagId: job.dagId, runId: job.dagRunId) {
        case .found(let existing):
            guard let conf = existing["conf"] else {
                result.reason = "\(run) already exists on target '\(config.name)'; looked up, but the answer has no conf to compare: counted as done"
                return result
            }
            if Self.sameConf(conf, job.conf) {
                result.reason = "\(run) already exists on target '\(config.name)' with the same conf (looked up): an earlier delivery of this job, counted as done"
                return result
            }
            result.outcome = .permanent
            result.reason = "\(run) already exists on target '\(config.name)' with a different conf (looked up): "
                + "another trigger used this run id. Replay with a new run id (dlq replay --new-run-id) to start a run of this event"
            return result
        case .notFound(let why), .unsupported(let why):
            result.reason += "; looking the run up found nothing (\(why)): counted as done"
        case .failed(let r):
            result.reason += "; looking the run up failed (\(r.reason)): counted as done"
        }
        return result
    }

    /// Airflow stores an absent or null conf as `{}`.
    static func sameConf(_ stored: JSONValue, _ sent: JSONValue) -> Bool {
        let empty = JSONValue.object(JSONObject())
        return (stored == .null ? empty : stored) == (sent == .null ? empty : sent)
    }

    /// Reads a DAG (`GET /dags/{id}`; experimental: `GET /dags/{id}/paused`).
    public func getDAG(_ dagId: String) async -> AirflowRead {
        guard let call = config.api.dagCall(dagId) else { return .unsupported("api \(config.api) cannot read DAGs") }
        return await read(call, what: "DAG '\(dagId)'")
    }

    /// Reads one run (`GET /dags/{id}/dagRuns/{run}`; experimental: the run out of `GET /dags/{id}/dag_runs`).
    public func getRun(dagId: String, runId: String) async -> AirflowRead {
        guard let call = config.api.runCall(dagId: dagId, runId: runId) else { return .unsupported("api \(config.api) cannot read runs") }
        let r = await read(call, what: "run '\(runId)' of DAG '\(dagId)'")
        if config.api == .experimental, case .found(let list) = r {
            if let run = list.arrayValue?.first(where: { $0["run_id"]?.stringValue == runId }) { return .found(run) }
            return .notFound("run '\(runId)' of DAG '\(dagId)' not found on target '\(config.name)'")
        }
        return r
    }

    /// Lists a DAG's runs (`GET /dags/{id}/dagRuns`: the first `limit` runs and `total_entries`).
    public func listRuns(dagId: String, limit: Int = 100) async -> AirflowRead {
        guard let call = config.api.runsCall(dagId: dagId, limit: limit) else { return .unsupported("api \(config.api) cannot list runs") }
        return await read(call, what: "runs of DAG '\(dagId)'")
    }

    /// Checks that the API answers and the credentials work (a cheap authenticated read).
    public func probe() async -> AirflowRead {
        await read(config.api.probeCall, what: "the API")
    }

    func read(_ call: AirflowCall, what: String) async -> AirflowRead {
        let start = Clock.monotonic()
        do {
            let response = try await channel.send(call, timeout: config.timeout)
            let json = try? JSONParser.parse(response.body)
            switch response.status {
            case 200..<300:
                return .found(json ?? .string(response.text))
            case 404:
                return .notFound("\(what) not found on target '\(config.name)' (404)")
            default:
                let job = TriggerJob(rule: "", target: config.name, dagId: "", conf: .null, dagRunId: "")
                var r = classifier.classify(response, job: job, call: call, duration: Clock.monotonic() - start)
                if response.status == 400 || response.status == 422 {
                    r.reason = "target '\(config.name)' refused \(call.summary) (\(response.status)): \(AnswerClassifier.detail(json))"
                }
                return .failed(r)
            }
        } catch {
            return .failed(classifier.classify(error: error, duration: Clock.monotonic() - start))
        }
    }
}

/// The result of reading something from Airflow.
public enum AirflowRead: Sendable, Equatable {
    /// Airflow's JSON answer.
    case found(JSONValue)
    /// The thing does not exist (404).
    case notFound(String)
    /// The read failed: the classified result says why.
    case failed(TriggerResult)
    /// The API flavour cannot do this read.
    case unsupported(String)

    /// The JSON when found.
    public var json: JSONValue? {
        if case .found(let j) = self { return j }
        return nil
    }
}
