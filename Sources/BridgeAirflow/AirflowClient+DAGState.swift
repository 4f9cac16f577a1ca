public import BridgeCore

extension AirflowClient: DAGStateReader {
    /// Reads whether a DAG is paused (`GET /dags/{id}`, experimental: `/dags/{id}/paused`) and how many of
    /// its runs are queued (`GET /dags/{id}/dagRuns?state=queued&limit=1`, its `total_entries`).
    /// - Throws: ``AirflowError`` with the read's reason when it fails or the flavour cannot read it.
    public func dagState(_ dagId: String, paused: Bool, queuedRuns: Bool) async throws -> DAGState {
        var state = DAGState()
        if paused {
            let json = try Self.found(await getDAG(dagId))
            guard case .bool(let p)? = json["is_paused"] else {
                throw AirflowError(.badAnswer, "target '\(config.name)' answered DAG '\(dagId)' without is_paused")
            }
            state.paused = p
        }
        if queuedRuns {
            guard let call = config.api.queuedRunsCall(dagId: dagId) else {
                throw AirflowError(.config, "api \(config.api) of target '\(config.name)' cannot count queued runs")
            }
            let json = try Self.found(await read(call, what: "queued runs of DAG '\(dagId)'"))
            guard case .int(let n)? = json["total_entries"] else {
                throw AirflowError(.badAnswer, "target '\(config.name)' listed runs of DAG '\(dagId)' without total_entries")
            }
            state.queuedRuns = Int(n)
        }
        return state
    }

    private static func found(_ read: AirflowRead) throws(AirflowError) -> JSONValue {
        switch read {
        case .found(let json): return json
        case .notFound(let why), .unsupported(let why): throw AirflowError(.badAnswer, why)
        case .failed(let r): throw AirflowError(.badAnswer, r.reason)
        }
    }
}
