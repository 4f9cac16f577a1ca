public import BridgeCore
public import BridgeHTTP
import Foundation

/// Turns one attempt's answer (or failure) into a ``TriggerResult``, as DESIGN.md's "Answer classification" says.
///
/// | answer | outcome |
/// | --- | --- |
/// | 2xx | delivered |
/// | 409, or a 400 "already exists" from the experimental API or the 1.x plugin | duplicate |
/// | 408, 429, 5xx, connection errors, timeouts | retry (`Retry-After` honoured) |
/// | 401 (after one credential refresh inside the client) | permanent; for Kerberos, what failed and what to check |
/// | 400, 403, 404, 422, other 4xx | permanent, with Airflow's reason |
public struct AnswerClassifier: Sendable {
    /// The target's name, for reasons.
    public var target: String
    /// The target's API flavour (experimental and the plugin answer duplicates differently).
    public var api: AirflowAPI
    /// The target's total timeout, for "timeout after 30s".
    public var timeout: Double
    /// For a Kerberos target, the service principal libcurl asks a ticket for (`HTTP/<host of url>`); nil otherwise.
    public var kerberosPrincipal: String?
    /// Longest answer text kept in the result.
    public static let answerLimit = 2048

    /// Creates a classifier for one target.
    public init(target: String, api: AirflowAPI, timeout: Double, kerberosPrincipal: String? = nil) {
        self.target = target
        self.api = api
        self.timeout = timeout
        self.kerberosPrincipal = kerberosPrincipal
    }

    /// Classifies an HTTP answer to a trigger call for `job`.
    public func classify(_ response: HTTPResponse, job: TriggerJob, call: AirflowCall, duration: Double, now: Double? = nil) -> TriggerResult {
        let now = now ?? Clock.now()
        let status = response.status
        let answer = Self.trim(response.text)
        let json = try? JSONParser.parse(response.body)
        let detail = Self.detail(json)
        func result(_ outcome: TriggerOutcome, _ reason: String) -> TriggerResult {
            TriggerResult(outcome: outcome, reason: reason, httpStatus: status, duration: duration, answer: answer)
        }
        let withDetail = { (s: String) -> String in detail.isEmpty ? s : "\(s): \(detail)" }
        switch status {
        case 200..<300:
            // The 1.x plugin answers 200 with {"status": "ERROR"} for failures it detected itself.
            if api == .restAPIPlugin, let s = json?["status"]?.stringValue, s.uppercased() != "OK" {
                let output = json?["output"]?.stringValue ?? detail
                if output.lowercased().contains("already exists") {
                    return result(.duplicate, "run '\(job.dagRunId)' already exists on target '\(target)'")
                }
                return result(.permanent, "the REST API plugin on target '\(target)' refused the trigger: \(output)")
            }
            return result(.delivered(run: json), "run '\(job.dagRunId)' of DAG '\(job.dagId)' created on target '\(target)' (\(status))")
        case 409:
            return result(.duplicate, "run '\(job.dagRunId)' already exists on target '\(target)' (409)")
        case 408, 429, 500...599:
            let after = Self.retryAfter(response.header("retry-after"), now: now)
            var reason = "Airflow on '\(target)' answered \(status)"
            if let after { reason += "; will retry after \(DurationText.format(after))" } else { reason += "; will retry" }
            if !detail.isEmpty { reason += " (\(detail))" }
            return result(.retry(retryAfter: after), reason)
        case 400 where (api == .experimental || api == .restAPIPlugin) && response.text.lowercased().contains("already exists"):
            // Airflow 1.10's experimental API and the 1.x REST API plugin (teamclairvoyant 1.0.x, 400
            // {"status": "ERROR", "output": "... already exists"}) answer a taken run id this way.
            return result(.duplicate, "run '\(job.dagRunId)' already exists on target '\(target)' (400 already exists)")
        case 401 where kerberosPrincipal != nil:
            return result(.permanent, Self.kerberosReason(response, target: target, principal: kerberosPrincipal ?? ""))
        case 401:
            return result(.permanent, withDetail("credentials rejected by target '\(target)' (401): check auth"))
        case 403:
            return result(.permanent, withDetail("credentials rejected by target '\(target)' (403): check auth and the user's permissions"))
        case 404:
            if json != nil, api != .restAPIPlugin, !detail.lowercased().hasPrefix("aws mwaa api") {
                return result(.permanent, withDetail("DAG '\(job.dagId)' not found on target '\(target)' (404)"))
            }
            return result(.permanent, withDetail("target '\(target)' answered 404 for \(call.summary): check url (path prefix?) and api"))
        case 400, 422:
            return result(.permanent, "conf rejected by target '\(target)' (\(status))" + (detail.isEmpty ? "" : ": \(detail)"))
        case 300..<400:
            let location = response.header("location").map { " to \($0)" } ?? ""
            return result(.permanent, "target '\(target)' redirected\(location) (\(status)): check url and auth (a login page?)")
        default:
            return result(.permanent, withDetail("target '\(target)' answered \(status) for \(call.summary)"))
        }
    }

    /// Classifies a failure with no answer (transport or credentials).
    public func classify(error: any Error, duration: Double) -> TriggerResult {
        if let e = error as? AirflowError {
            switch e.code {
            case .credentialsRejected:
                return TriggerResult(outcome: .permanent, reason: e.message, httpStatus: e.httpStatus, duration: duration)
            case .invalidRequest, .config:
                return TriggerResult(outcome: .permanent, reason: e.message, httpStatus: e.httpStatus, duration: duration)
            default:
                // `.transport`: the network failed while fetching credentials; the target did not get the request.
                return TriggerResult(
                    outcome: e.isRetriable ? .retry(retryAfter: nil) : .permanent, reason: e.message + (e.isRetriable ? "; will retry" : ""),
                    httpStatus: e.httpStatus, duration: duration, reachedTarget: e.code != .transport)
            }
        }
        if let f = error as? any TransportFailure {
            if f.isTimeout {
                let maybeSent = f.mightHaveBeenSent ? " (the request may have reached Airflow)" : ""
                return TriggerResult(
                    outcome: .retry(retryAfter: nil), reason: "timeout after \(DurationText.format(timeout)) on target '\(target)'\(maybeSent); will retry",
                    duration: duration, reachedTarget: f.mightHaveBeenSent)
            }
            if f.isRetriable {
                let maybeSent = f.mightHaveBeenSent ? " (the request may have reached Airflow)" : ""
                return TriggerResult(
                    outcome: .retry(retryAfter: nil), reason: "cannot reach target '\(target)': \(error)\(maybeSent); will retry", duration: duration,
                    reachedTarget: f.mightHaveBeenSent)
            }
            return TriggerResult(outcome: .permanent, reason: "request to target '\(target)' failed: \(error)", duration: duration)
        }
        if error is CancellationError {
            return TriggerResult(outcome: .retry(retryAfter: nil), reason: "cancelled (shutting down); will retry", duration: duration)
        }
        return TriggerResult(outcome: .retry(retryAfter: nil), reason: "request to target '\(target)' failed: \(error); will retry", duration: duration)
    }

    /// Airflow's explanation in an error answer: problem JSON `title`/`detail`, FastAPI validation lists, `error`.
    public static func detail(_ json: JSONValue?) -> String {
        guard let json else { return "" }
        var parts: [String] = []
        if let d = json["detail"] {
            switch d {
            case .string(let s): parts.append(s)
            case .array(let items):
                for item in items.prefix(5) {
                    let loc = item["loc"]?.arrayValue?.compactMap { v -> String? in
                        if case .string(let s) = v { return s }
                        if case .int(let i) = v { return String(i) }
                        return nil
                    }.joined(separator: ".") ?? ""
                    let msg = item["msg"]?.stringValue ?? item.description
                    parts.append(loc.isEmpty ? msg : "\(loc): \(msg)")
                }
            case .object(let o):
                if let m = o["message"]?.stringValue ?? o["reason"]?.stringValue { parts.append(m) } else { parts.append(d.description) }
            default: break
            }
        }
        if let t = json["title"]?.stringValue, !parts.contains(where: { $0.contains(t) }) { parts.insert(t, at: 0) }
        for key in ["error", "message", "output"] where parts.isEmpty {
            if let s = json[key]?.stringValue { parts.append(s) }
        }
        let text = parts.joined(separator: ": ")
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }

    /// Seconds from a `Retry-After` value: delay-seconds or an HTTP-date. Negative dates count as 0.
    public static func retryAfter(_ value: String?, now: Double) -> Double? {
        guard let v = value?.trimmingSpaces, !v.isEmpty else { return nil }
        if let s = Double(v), s >= 0, s.isFinite { return s }
        guard let date = HTTPDate.parse(v) else { return nil }
        return max(0, date - now)
    }

    static func trim(_ text: String) -> String {
        guard text.utf8.count > answerLimit else { return text }
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: answerLimit)
        while end > text.startIndex, !text.unicodeScalars.indices.contains(end) { end = text.utf8.index(before: end) }
        return String(text[..<end]) + "…"
    }
}

/// HTTP-date parsing (IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, plus RFC 850 and asctime forms).
enum HTTPDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Seconds since 1970, or `nil`.
    static func parse(_ text: String) -> Double? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" }).map(String.init)
        var day: Int?, month: Int?, year: Int?, time: [Int]?
        for t in tokens {
            if let m = months.firstIndex(of: t.lowercased().prefix(3).description), t.count >= 3, Int(t) == nil, t.first!.isLetter, month == nil,
                !["mon", "tue", "wed", "thu", "fri", "sat", "sun"].contains(t.lowercased().prefix(3).description)
            {
                month = m + 1
            } else if t.contains(":") {
                let hms = t.split(separator: ":").compactMap { Int($0) }
                if hms.count == 3 { time = hms }
            } else if let n = Int(t) {
                if t.count == 4 { year = n } else if day == nil { day = n } else if year == nil { year = n < 70 ? 2000 + n : 1900 + n }
            }
        }
        guard let d = day, let m = month, let y = year, let hms = time, (1...31).contains(d) else { return nil }
        let days = ISO8601.daysFromCivil(y, m, d)
        return Double(days * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
    }
}
