import BridgeCore
import BridgeRules

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Pattern matching benchmarks: pre-built ~1 KB envelopes against rule sets of
/// 10 to 10,000 rules, and parse + match from raw bytes. Prints events/s by
/// wall clock and by this thread's CPU time (the CPU figure is what one core
/// does even when other processes share the machine).
func runPatternBenchmarks() {
    print("== Pattern matching (one thread) ==")
    // 2000 distinct envelopes (several MB of JSONValue trees): every event starts cold in cache.
    let events = PatternBenchData.envelopes(count: 2000, ruleSpace: 100)
    let bytes = events.map { JSONWriter.bytes($0) }
    // What a webhook route holds: the envelope fields as values, the body as received.
    let bases = events.map { env -> JSONObject in
        var o = env.objectValue!
        o["body"] = nil
        return o
    }
    let bodies = events.map { JSONWriter.bytes($0["body"]!) }
    let avgSize = bytes.reduce(0) { $0 + $1.count } / bytes.count
    print("envelopes: \(events.count) distinct, average \(avgSize) bytes of JSON")
    print("")

    // What an event carries once built (JSONTape(envelope), one per event, like the parsed envelope).
    let tapes = events.map { JSONTape($0) }

    let mixed100Rules = PatternBenchData.mixedRules(100)
    let mixed100 = PatternIndex(mixed100Rules)
    // Tapes as the webhook and Kafka paths build them: only the members some rule reads (the index's key filter).
    let filteredTapes = zip(bases, bodies).map { base, body in
        var tape = JSONTape()
        do { try tape.reset(envelopeBase: base, rawBody: body, keeping: mixed100.keyFilter) } catch { fatalError("benchmark body: \(error)") }
        return tape
    }
    for (tape, event) in zip(filteredTapes, events).prefix(200) where mixed100.matches(tape) != mixed100.matches(event) {
        fatalError("filtered tape matching disagrees on \(event)")
    }
    crossCheckRaw(mixed100, events, bases, bodies)
    crossCheckTape(mixed100, events)
    // PATTERN_BENCH=mixed100|tape|ftape|warm|exact10|parse|raw|filtered: one scenario only (for profiling with perf).
    if let only = getenv("PATTERN_BENCH").map({ String(cString: $0) }) {
        let r = only == "parse" ? measureParse(mixed100, bytes)
            : only == "tape" ? measureTape(mixed100, tapes)
            : only == "ftape" ? measureTape(mixed100, filteredTapes)
            : only == "raw" ? measureRawBody(mixed100, bases, bodies)
            : only == "filtered" ? measureFiltered(mixed100, bytes)
            : only == "exact10" ? measure(PatternIndex(PatternBenchData.exactPrefixRules(10)), events)
            : only == "warm" ? measure(mixed100, Array(events.prefix(64)))
            : measure(mixed100, events)
        printTable([(only, r)])
        // For instruction counts (callgrind): every call made, the warm-up pass included.
        print("calls: \(r.events + min(events.count, 2000))")
        return
    }
    let exact10kRules = PatternBenchData.exactPrefixRules(10_000)
    let exact10k = PatternIndex(exact10kRules)
    let events10k = PatternBenchData.envelopes(count: 2000, ruleSpace: 10_000)
    crossCheck(mixed100, mixed100Rules, events)
    crossCheck(exact10k, exact10kRules, events10k)
    crossCheck(PatternIndex(PatternBenchData.mixedRules(10_000)), PatternBenchData.mixedRules(10_000), events10k)
    crossCheckTape(exact10k, events10k)
    let tapes10k = events10k.map { JSONTape($0) }

    var rows: [(String, PatternBenchResult)] = []
    rows.append(("(1) 100 rules, mixed, event tapes", measureTape(mixed100, tapes)))
    rows.append(("(1c) tapes, 64 envelopes (cache-warm)", measureTape(mixed100, Array(tapes.prefix(64)))))
    rows.append(("(1f) tapes of the members rules read", measureTape(mixed100, filteredTapes)))
    rows.append(("(1v) same, JSONValue envelopes", measure(mixed100, events)))
    // A just-parsed event is in cache; 2000 rotating envelopes are not. Show both.
    rows.append(("(1b) JSONValue, 64 envelopes (cache-warm)", measure(mixed100, Array(events.prefix(64)))))
    rows.append(("(2) 10,000 rules, exact/prefix, tapes", measureTape(exact10k, tapes10k)))
    rows.append(("(2v) same, JSONValue envelopes", measure(exact10k, events10k)))
    rows.append(("(3) parse bytes + match, 100 mixed rules", measureParse(mixed100, bytes)))
    rows.append(("(3b) raw body bytes -> tape + match", measureRawBody(mixed100, bases, bodies)))
    rows.append(("(3t) whole envelope bytes -> tape + match", measureRawEnvelope(mixed100, bytes)))
    rows.append(("(3c) filtered parse envelope + match", measureFiltered(mixed100, bytes)))
    printTable(rows)

    print("")
    print("(4) cost by rule count")
    var scale: [(String, PatternBenchResult)] = []
    for n in [10, 100, 1000, 10_000] {
        let evs = PatternBenchData.envelopes(count: 2000, ruleSpace: n)
        scale.append(("\(n) mixed", measure(PatternIndex(PatternBenchData.mixedRules(n)), evs)))
        scale.append(("\(n) exact/prefix", measure(PatternIndex(PatternBenchData.exactPrefixRules(n)), evs)))
    }
    printTable(scale)
    print("")
    print("targets: (1) >= 1,000,000/s, (2) >= 200,000/s, (3) >= 150,000/s per core")
    print("(1)/(2) match a JSONTape of the whole envelope built once per event; (1f) tapes holding only the members")
    print("the rules read, as the webhook and Kafka paths build them; (1v)/(2v) walk the JSONValue tree instead;")
    print("(3) builds the whole envelope; (3b) is the webhook path (envelope fields as values, body raw, read into a tape);")
    print("(3t) reads the whole raw envelope into a tape;")
    print("(3c) parses the whole raw envelope building only the fields the rules read")
}

struct PatternBenchResult {
    var events: Int
    var wallSeconds: Double
    var cpuSeconds: Double
    var matches: Int

    var wallRate: Double { Double(events) / wallSeconds }
    var cpuRate: Double { Double(events) / max(cpuSeconds, 1e-9) }
}

private func threadCPUTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body` over the events round-robin for about `seconds` of CPU time, after a warm-up.
private func run(seconds: Double = 1.0, count: Int, _ body: (Int) -> Int) -> PatternBenchResult {
    var sink = 0
    for i in 0..<min(count, 2000) { sink &+= body(i) }
    let clock = ContinuousClock()
    let wallStart = clock.now
    let cpuStart = threadCPUTime()
    var done = 0
    var matches = 0
    while threadCPUTime() - cpuStart < seconds {
        for _ in 0..<10_000 {
            matches &+= body(done % count)
            done += 1
        }
    }
    let cpu = threadCPUTime() - cpuStart
    let wall = clock.now - wallStart
    let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
    if sink == -1 { print(sink) }
    return PatternBenchResult(events: done, wallSeconds: wallSeconds, cpuSeconds: cpu, matches: matches)
}

/// Fails loudly if the index disagrees with the reference walk on a sample (a fast wrong answer is worthless).
private func crossCheck(_ index: PatternIndex, _ patterns: [Pattern], _ events: [JSONValue]) {
    for env in events.prefix(200) {
        let expected = patterns.indices.filter { patterns[$0].matches(env) }
        let got = index.matches(env)
        if got != expected { fatalError("index and reference disagree: \(got) vs \(expected) on \(env)") }
    }
}

/// Fails loudly if matching a raw body disagrees with matching the parsed envelope.
private func crossCheckRaw(_ index: PatternIndex, _ events: [JSONValue], _ bases: [JSONObject], _ bodies: [[UInt8]]) {
    for i in 0..<min(events.count, 200) {
        let expected = index.matches(events[i])
        guard let got = try? index.matches(rawBody: bodies[i], envelopeBase: bases[i]), got == expected else {
            fatalError("raw-body matching disagrees on \(events[i])")
        }
    }
}

/// Fails loudly if matching the tape of an envelope disagrees with matching the envelope.
private func crossCheckTape(_ index: PatternIndex, _ events: [JSONValue]) {
    for env in events.prefix(200) where index.matches(JSONTape(env)) != index.matches(env) {
        fatalError("tape matching disagrees on \(env)")
    }
}

private func measureTape(_ index: PatternIndex, _ tapes: [JSONTape]) -> PatternBenchResult {
    var buffer: [Int] = []
    buffer.reserveCapacity(64)
    return run(count: tapes.count) { i in
        index.matches(tapes[i], into: &buffer)
        return buffer.count
    }
}

/// (3t): the whole envelope from raw bytes into a reused tape.
private func measureRawEnvelope(_ index: PatternIndex, _ bytes: [[UInt8]]) -> PatternBenchResult {
    var buffer: [Int] = []
    buffer.reserveCapacity(64)
    var tape = JSONTape()
    return run(count: bytes.count) { i in
        do { try tape.reset(rawDocument: bytes[i]) } catch { return 0 }
        index.matches(tape, into: &buffer)
        return buffer.count
    }
}

/// (3b): the envelope fields are values, the body raw bytes read into a tape.
private func measureRawBody(_ index: PatternIndex, _ bases: [JSONObject], _ bodies: [[UInt8]]) -> PatternBenchResult {
    var buffer: [Int] = []
    buffer.reserveCapacity(64)
    return run(count: bodies.count) { i in
        do { try index.matches(rawBody: bodies[i], envelopeBase: bases[i], into: &buffer) } catch { return 0 }
        return buffer.count
    }
}

/// (3c): the whole envelope from raw bytes, parsed with the index's key filter.
private func measureFiltered(_ index: PatternIndex, _ bytes: [[UInt8]]) -> PatternBenchResult {
    var buffer: [Int] = []
    buffer.reserveCapacity(64)
    let filter = index.keyFilter
    return run(count: bytes.count) { i in
        guard let env = try? JSONParser.parse(bytes[i], keeping: filter) else { return 0 }
        index.matches(env, into: &buffer)
        return buffer.count
    }
}

private func measure(_ index: PatternIndex, _ events: [JSONValue]) -> PatternBenchResult {
    var buffer: [Int] = []
    buffer.reserveCapacity(64)
    return run(count: events.count) { i in
        index.matches(events[i], into: &buffer)
        return buffer.count
    }
}

private func measureParse(_ index: PatternIndex, _ bytes: [[UInt8]]) -> PatternBenchResult {
    var buffer: [Int] = []
    buffer.reserveCapacity(64)
    return run(count: bytes.count) { i in
        guard let env = try? JSONParser.parse(bytes[i]) else { return 0 }
        index.matches(env, into: &buffer)
        return buffer.count
    }
}

private func printTable(_ rows: [(String, PatternBenchResult)]) {
    func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, n - s.count))
        return left ? fill + s : s + fill
    }
    func group(_ d: Double) -> String {
        let digits = String(Int(d.rounded()))
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0, i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }
    print(pad("benchmark", 42) + pad("events/s (CPU)", 16, left: true) + pad("events/s (wall)", 17, left: true)
        + pad("µs/event", 10, left: true) + pad("matches/event", 15, left: true))
    for (name, r) in rows {
        let us = r.cpuSeconds / Double(r.events) * 1e6
        print(pad(name, 42) + pad(group(r.cpuRate), 16, left: true) + pad(group(r.wallRate), 17, left: true)
            + pad(String(format1(us)), 10, left: true)
            + pad(format1(Double(r.matches) / Double(r.events), digits: 2), 15, left: true))
    }
}

private func format1(_ d: Double, digits: Int = 3) -> String {
    let scale = Double((0..<digits).reduce(1) { acc, _ in acc * 10 })
    let v = (d * scale).rounded() / scale
    var s = "\(v)"
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    }
    return s
}

/// Realistic envelopes and rule sets. Event `j` carries values tied to rule
/// `j` of a family, and half of the events point past the rule set, so most
/// events match 0–2 rules, like a real deployment.
enum PatternBenchData {
    static let sources = ["github", "gitlab", "stripe", "gcs-events", "orders", "pubsub", "slack", "jira", "sentry", "std-webhooks"]
    static let githubEvents = ["push", "pull_request", "issues", "release", "workflow_run", "check_suite", "create", "delete"]

    /// Deterministic pseudo-random numbers (SplitMix64).
    struct Random {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
    }

    static func compile(_ text: String) -> Pattern {
        do {
            return try PatternCompiler.compile(json: JSONParser.parse(text))
        } catch {
            fatalError("benchmark pattern does not compile: \(error)\n\(text)")
        }
    }

    /// Rules of every operator, ten families cycling.
    static func mixedRules(_ n: Int) -> [Pattern] {
        (0..<n).map { i in
            let text: String
            switch i % 10 {
            case 0: text = #"{"source":["github"],"headers":{"X-GitHub-Event":["push"]},"body":{"repository":{"name":["repo-\#(i)"]}}}"#
            case 1: text = #"{"source":["github"],"body":{"ref":[{"prefix":"refs/heads/feature-\#(i)/"}]}}"#
            case 2: text = #"{"body":{"repository":{"full_name":[{"suffix":"/repo-\#(i)"}]},"size":[{"numeric":[">",0,"<=",1000]}]}}"#
            case 3: text = #"{"source":["stripe"],"body":{"type":["invoice.paid"],"data":{"object":{"amount":[{"numeric":[">=",\#(i * 10),"<",\#(i * 10 + 10)]}]}}}}"#
            case 4: text = #"{"headers":{"X-Forwarded-For":[{"cidr":"10.\#(i % 250).0.0/16"}]},"body":{"repository":{"name":["repo-\#(i)"]}}}"#
            case 5: text = #"{"body":{"action":[{"anything-but":["deleted","closed"]}],"repository":{"name":[{"equals-ignore-case":"REPO-\#(i)"}]}}}"#
            case 6: text = #"{"source":["github"],"body":{"repository":{"full_name":[{"wildcard":"org-\#(i % 7)/*-\#(i)"}]}}}"#
            case 7: text = #"{"source":["github"],"$or":[{"body":{"repository":{"name":["repo-\#(i)"]}}},{"body":{"sender":{"login":["user-\#(i)"]}}}]}"#
            case 8: text = #"{"body":{"repository":{"name":["repo-\#(i)"]},"deleted":[{"exists":false}]}}"#
            default: text = #"{"source":["github"],"body":{"commits":{"author":{"name":["dev-\#(i)"]}}}}"#
            }
            return compile(text)
        }
    }

    /// Rules that are mostly exact values and prefixes on a handful of fields.
    static func exactPrefixRules(_ n: Int) -> [Pattern] {
        (0..<n).map { i in
            let src = sources[i % 2 == 0 ? 0 : i % sources.count]
            let text: String
            switch i % 4 {
            case 0: text = #"{"source":["\#(src)"],"headers":{"X-GitHub-Event":["\#(githubEvents[i % githubEvents.count])"]},"body":{"repository":{"name":["repo-\#(i)"]}}}"#
            case 1: text = #"{"source":["\#(src)"],"body":{"ref":[{"prefix":"refs/heads/feature-\#(i)/"}]}}"#
            case 2: text = #"{"body":{"repository":{"full_name":["org-\#(i % 7)/repo-\#(i)"]},"action":["opened","synchronize"]}}"#
            default: text = #"{"source":["\#(src)"],"body":{"commits":{"message":[{"prefix":"[T\#(i)] "}]}}}"#
            }
            return compile(text)
        }
    }

    /// About 1 KB envelopes shaped like GitHub webhooks (some Stripe), each tied to one rule number.
    static func envelopes(count: Int, ruleSpace: Int) -> [JSONValue] {
        var rng = Random(state: 42)
        return (0..<count).map { _ in
            let j = rng.next(ruleSpace * 2)
            let stripe = rng.next(10) == 0
            let event = githubEvents[j % githubEvents.count]
            let source = stripe ? "stripe" : (rng.next(4) == 0 ? sources[j % sources.count] : "github")
            let body: String
            if stripe {
                body = #"""
                {"id":"evt_\#(j)","object":"event","type":"invoice.paid","api_version":"2024-06-20","created":1732190000,"livemode":false,"pending_webhooks":1,
                 "data":{"object":{"id":"in_\#(j)","object":"invoice","amount":\#(j * 10 + 5),"amount_paid":\#(j * 10 + 5),"currency":"eur","customer":"cus_\#(j)",
                 "status":"paid","lines":{"object":"list","data":[{"id":"il_1","amount":\#(j * 10 + 5),"description":"Plan \#(j)"}]}}},
                 "request":{"id":"req_\#(j)","idempotency_key":"b1946ac9-2492-4d6a-9d3c-\#(j)"}}
                """#
            } else {
                body = #"""
                {"ref":"refs/heads/feature-\#(j)/login","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"76ae82c7b1a177c8d03f9e96e0adf2466113728f",
                 "action":"\#(j % 3 == 0 ? "closed" : "opened")","size":\#(j % 5),
                 "repository":{"id":\#(100000 + j),"name":"repo-\#(j)","full_name":"org-\#(j % 7)/repo-\#(j)","private":false,
                   "owner":{"login":"org-\#(j % 7)","id":\#(j % 7)},"html_url":"https://github.com/org-\#(j % 7)/repo-\#(j)","default_branch":"main"},
                 "pusher":{"name":"dev-\#(j)","email":"dev\#(j)@example.com"},"sender":{"login":"user-\#(j)","id":\#(j)},
                 "commits":[{"id":"76ae82c7","message":"[T\#(j)] Fix login redirect","timestamp":"2026-11-21T10:00:00Z","author":{"name":"dev-\#(j)","email":"dev\#(j)@example.com"}},
                            {"id":"1a177c8d","message":"Add tests","timestamp":"2026-11-21T10:01:00Z","author":{"name":"bot","email":"bot@example.com"}}]}
                """#
            }
            let env = #"""
            {"id":"\#(j)-\#(rng.next(1_000_000))","source":"\#(source)","received_at":"2026-11-21T10:00:00.123Z",
             "headers":{"content-type":"application/json","user-agent":"GitHub-Hookshot/4a1e7b2","x-github-event":"\#(event)",
               "x-github-delivery":"72d3162e-cc78-11e3-81ab-4c9367dc0958","x-forwarded-for":"10.\#(j % 250).\#(j % 200).7",
               "x-hub-signature-256":"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
             "body":\#(body)}
            """#
            do { return try JSONParser.parse(env) } catch { fatalError("benchmark envelope: \(error)") }
        }
    }
}
