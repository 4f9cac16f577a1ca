// bench-console: the operations console's pages rendered on the server over a real SQLite journal
// holding 100,000 jobs (90 % dead, with attempts), as `dagbridge serve` renders them: the same
// ConsolePages the routes call, the journal's queries and the Mustache templates, no HTTP.
//
//   swift run -c release bench-console [JOBS] [ITERATIONS]     (defaults 100000 and 200)
//
// Prints p50 / p99 / max per page in milliseconds; the goal is p99 < 50 ms for every page.
import BridgeCore
import BridgeIntake
import BridgeRules
import BridgeServer
import BridgeStore
import Foundation
import Logging

func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let args = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let total = args.first ?? 100_000
let iterations = args.count > 1 ? args[1] : 200
let dir = NSTemporaryDirectory() + "bench-console-\(UUID().uuidString)"
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
// BENCH_CONSOLE_KEEP=1 keeps the journal (its path is printed) to read query plans on it.
let keep = ProcessInfo.processInfo.environment["BENCH_CONSOLE_KEEP"] == "1"
defer { if !keep { try? FileManager.default.removeItem(atPath: dir) } }

let rulesText = (0..<10).map { i in
    """
      - name: rule_\(i)
        match: { body: { kind: [k\(i)] } }
        trigger: { target: \(i % 3 == 0 ? "staging" : "prod"), dag_id: dag_\(i), conf: { ref: "{{ body.ref }}" } }
    """
}.joined(separator: "\n")
let loaded = RuleSetLoader.load(sources: [("rules:\n" + rulesText, "rules.yaml")])
guard let ruleSet = loaded.ruleSet else { fatalError("bench rules: \(loaded.diagnostics)") }

let logger = Logger(label: "bench-console")
let journal = try await JournalOpener.open(
    StoreConfig(path: dir + "/journal.sqlite", durability: .normal, highWater: Int(Int32.max), lowWater: 0), logger: logger)
let reasons = [
    "DAG 'dag_%d' not found (404): is it deployed and not paused?", "422 Unprocessable: conf.ref must be a string",
    "403 Forbidden: the token lacks the can_create permission on DAG Runs", "max_attempts (8) reached; last: 500 Internal Server Error",
]

// Fill: every job through the journal's own write path (enqueue, claim, complete with an attempt).
let fillStart = Date()
let body = Array(#"{"ref":"refs/heads/main","kind":"k1","pusher":{"name":"octocat"},"note":"<b>bold</b> & more"}"#.utf8)
var n = 0
while n < total {
    let batch = min(1000, total - n)
    let entries = (0..<batch).map { k -> JobStoreEntry in
        let i = n + k
        let rule = i % 10
        let event = Event(id: "ev-\(i)", source: "github", headers: ["x-github-delivery": "ev-\(i)"], rawBody: body)
        let job = TriggerJob(
            rule: "rule_\(rule)", target: rule % 3 == 0 ? "staging" : "prod", dagId: "dag_\(rule)", conf: ["ref": "refs/heads/main"],
            dagRunId: "rule_\(rule)__ev-\(i)")
        return JobStoreEntry(event: event, jobs: [job], failures: [])
    }
    try await journal.enqueueBatch(entries)
    n += batch
}
var done = 0
for target in ["prod", "staging"] {
    while true {
        let claimed = try await journal.claimDue(target: target, limit: 500)
        if claimed.isEmpty { break }
        for job in claimed {
            done += 1
            let alive = done % 10 == 0
            let reason = String(format: reasons[Int(job.id) % reasons.count], Int(job.id) % 10)
            let attempt = AttemptRecord(
                at: Date(), duration: 0.012, httpStatus: alive ? 200 : 404, outcome: alive ? "delivered" : "permanent", reason: alive ? "created" : reason,
                answer: alive ? "" : #"{"detail": "DAG with dag_id: 'dag_1' not found", "status": 404}"#)
            try await journal.complete(jobID: job.id, attempt: attempt, transition: alive ? .delivered : .dead(reason: reason))
        }
    }
}
let counts = try await journal.counts()
if keep { say("journal: \(dir)/journal.sqlite") }
say("filled \(total) jobs in \(String(format: "%.1f", Date().timeIntervalSince(fillStart))) s: \(counts.dead) dead, \(counts.delivered) delivered")

let dlq = DLQService(journal: journal, currentRules: { ruleSet })
let pages = ConsolePages(
    dlq: dlq, rules: RuleSetHolder(ruleSet), reloader: nil, targetStatus: { [] }, targets: [:], sources: ["github"],
    activity: ConsoleActivity(), queueDepth: { journal.queueDepth })
let admin = ConsoleViewer.tool(admin: true)
let someDead = try await dlq.page(JobFilter(state: .dead, limit: 50)).map(\.id)
// A cursor about 40,000 jobs deep: the "older" link of page 800.
var deepFilter = JobFilter(state: .dead, limit: 40_000)
deepFilter.newestFirst = true
let deep = try await dlq.page(deepFilter).last.map(JobCursor.init(after:))

func form(_ pairs: [(String, String)]) -> ConsoleForm { ConsoleForm(pairs: pairs) }

let cases: [(String, () async throws -> ConsolePage)] = [
    ("overview", { try await pages.overview(viewer: admin) }),
    ("dead letters, first page", { try await pages.deadLetters(form([]), viewer: admin) }),
    ("dead letters, page ~800 (cursor)", { try await pages.deadLetters(form([("before", deep?.text ?? "")]), viewer: admin) }),
    ("dead letters, rule + target", { try await pages.deadLetters(form([("rule", "rule_3"), ("target", "staging")]), viewer: admin) }),
    ("dead letters, reason text", { try await pages.deadLetters(form([("reason", "can_create")]), viewer: admin) }),
    ("dead letters, last 10 min", { try await pages.deadLetters(form([("since", "10m")]), viewer: admin) }),
    ("dead letters, rare reason", { try await pages.deadLetters(form([("reason", "no such words")]), viewer: admin) }),
    ("job", { try await pages.job(id: String(someDead[7]), viewer: admin) }),
    ("event lookup", { try await pages.events(form([("id", "ev-12345")]), viewer: admin) }),
    ("targets", { pages.targetsPage(viewer: admin) }),
    ("rules", { pages.rulesPage(trial: nil, viewer: admin) }),
    ("rules, try an event", {
        pages.rulesPage(trial: form([("source", "github"), ("headers", "X-GitHub-Delivery: t-1"), ("body", #"{"kind":"k3","ref":"x"}"#)]), viewer: admin)
    }),
    ("replay preview, 50 ticked", {
        try await pages.dlqAction(form([("action", "replay"), ("mode", "as_sent"), ("scope", "selected")] + someDead.map { ("ids", String($0)) }), apply: false, viewer: admin)
    }),
]

say("")
say("page (\(total) jobs, \(iterations) renders each)        p50 ms   p99 ms   max ms   bytes")
for (name, render) in cases {
    var times: [Double] = []
    var bytes = 0
    for i in 0..<(iterations + 5) {
        let start = ContinuousClock.now
        let page = try await render()
        let d = ContinuousClock.now - start
        guard page.status == 200 else { fatalError("\(name): status \(page.status)\n\(page.html.prefix(2000))") }
        bytes = page.html.utf8.count
        if i >= 5 { times.append(Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000) }
    }
    times.sort()
    func p(_ q: Double) -> String { String(format: "%8.2f", times[min(times.count - 1, Int(Double(times.count - 1) * q))]) }
    say(name.padding(toLength: 42, withPad: " ", startingAt: 0) + " \(p(0.5)) \(p(0.99)) \(String(format: "%8.2f", times.last ?? 0)) \(String(format: "%7d", bytes))")
}
