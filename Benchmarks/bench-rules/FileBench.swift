import BridgeCore
import BridgeRules
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `bench-rules file --rules RULES.jsonl --events EVENTS.jsonl [--seconds S] [--list]`: the same inputs another
/// engine can read. One pattern per line of RULES (named r0, r1, … in file order, blank lines skipped), one
/// event per line of EVENTS; each pattern applies to the event as the envelope's `body` (so `{"a": [1]}` is
/// `match: {body: {a: [1]}}`; `{}` matches everything). Each event is parsed from its bytes and matched, as
/// the webhook path does (`PatternIndex.matches(rawBody:envelopeBase:)`: strict parse into a tape holding the
/// members the rules read). Prints the (event, rule) matches of one pass first, so that two engines' counts
/// can be compared before their speeds, then events/s over whole passes for about `S` seconds (default 3)
/// after a warm-up pass. `--list` also prints each event's matching rules, one line per event.
/// Exit 0, or 2 with the line at fault when an argument, a pattern or an event is bad.
func runFileBenchmark(_ arguments: [String]) {
    let options = FileBenchOptions.parse(arguments)
    let rules = readLines(options.rules, what: "rules")
    let events = readLines(options.events, what: "events")
    var patterns: [Pattern] = []
    for (n, line) in rules {
        do {
            patterns.append(try compileBodyPattern(JSONParser.parse(line)))
        } catch {
            fail("\(options.rules):\(n): rule r\(patterns.count): \(error)")
        }
    }
    for (n, line) in events {
        do { _ = try JSONParser.parse(line) } catch { fail("\(options.events):\(n): \(error)") }
    }
    let bodies = events.map(\.1)
    let index = PatternIndex(patterns)

    // One pass, checked against the reference walk on the first 200 events (a fast wrong answer is worthless).
    var buffer: [Int] = []
    var perPass = 0
    var eventsMatching = 0
    var perRule = [Int](repeating: 0, count: patterns.count)
    for (i, body) in bodies.enumerated() {
        do { try index.matches(rawBody: body, envelopeBase: JSONObject(), into: &buffer) } catch { fail("\(options.events): event \(i): \(error)") }
        if i < 200, let parsed = try? JSONParser.parse(body) {
            let envelope = JSONValue.object(JSONObject([("body", parsed)]))
            let expected = patterns.indices.filter { patterns[$0].matches(envelope) }
            if expected != buffer { fail("event \(i): index \(buffer) but reference walk \(expected)") }
        }
        perPass += buffer.count
        if !buffer.isEmpty { eventsMatching += 1 }
        for r in buffer { perRule[r] += 1 }
        if options.list { print("e\(i): " + buffer.map { "r\($0)" }.joined(separator: " ")) }
    }
    let bytes = bodies.reduce(0) { $0 + $1.count }
    print("rules: \(patterns.count) (r0…r\(max(patterns.count - 1, 0))) from \(options.rules)")
    print("events: \(bodies.count) from \(options.events), average \(bodies.isEmpty ? 0 : bytes / bodies.count) bytes")
    print("matches per pass: \(perPass) (event, rule) pairs; \(eventsMatching) events match at least one rule, \(perRule.filter { $0 > 0 }.count) rules match at least one event")
    guard !bodies.isEmpty else { return }

    // Warm-up pass, then whole passes until the time is up.
    var sink = 0
    for body in bodies {
        try? index.matches(rawBody: body, envelopeBase: JSONObject(), into: &buffer)
        sink &+= buffer.count
    }
    let clock = ContinuousClock()
    let wallStart = clock.now
    let cpuStart = threadCPUSeconds()
    var passes = 0
    var matched = 0
    repeat {
        for body in bodies {
            try? index.matches(rawBody: body, envelopeBase: JSONObject(), into: &buffer)
            matched &+= buffer.count
        }
        passes += 1
    } while threadCPUSeconds() - cpuStart < options.seconds
    let cpu = threadCPUSeconds() - cpuStart
    let wall = (clock.now - wallStart) / .seconds(1)
    if matched != perPass * passes { fail("a timed pass found \(matched / passes) matches instead of \(perPass)") }
    if sink == -1 { print(sink) }
    let done = Double(passes * bodies.count)
    print("passes: \(passes) in \(format(cpu, 2)) s of CPU (\(format(wall, 2)) s wall), \(perPass) matches each")
    print("events/s: \(grouped(done / cpu)) (CPU), \(grouped(done / wall)) (wall); \(format(cpu / done * 1e6, 3)) µs per event")
}

/// The command line of `bench-rules file`.
struct FileBenchOptions {
    var rules = ""
    var events = ""
    var seconds = 3.0
    var list = false

    static let usage = "usage: bench-rules file --rules RULES.jsonl --events EVENTS.jsonl [--seconds S] [--list]"

    static func parse(_ arguments: [String]) -> FileBenchOptions {
        var o = FileBenchOptions()
        var rest = arguments[...]
        while let a = rest.popFirst() {
            switch a {
            case "--rules": o.rules = rest.popFirst() ?? ""
            case "--events": o.events = rest.popFirst() ?? ""
            case "--seconds":
                guard let s = rest.popFirst().flatMap(Double.init), s >= 0 else { fail("--seconds needs a number of seconds\n\(usage)") }
                o.seconds = s
            case "--list": o.list = true
            default: fail("unknown argument '\(a)'\n\(usage)")
            }
        }
        if o.rules.isEmpty || o.events.isEmpty { fail(usage) }
        return o
    }
}

/// A pattern of the rules file, applied to the envelope's `body`.
private func compileBodyPattern(_ pattern: JSONValue) throws(PatternError) -> Pattern {
    if case .object(let o) = pattern, o.count == 0 { return PatternCompiler.matchAll }
    return try PatternCompiler.compile(json: .object(JSONObject([("body", pattern)])))
}

/// The non-blank lines of a file, with their line numbers (from 1).
private func readLines(_ path: String, what: String) -> [(Int, [UInt8])] {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read the \(what) file '\(path)'") }
    var out: [(Int, [UInt8])] = []
    for (i, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
        var bytes = Array(line)
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
        out.append((i + 1, bytes))
    }
    return out
}

private func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("bench-rules file: " + message + "\n").utf8))
    exit(2)
}

private func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

private func format(_ d: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", d) }

private func grouped(_ d: Double) -> String {
    let digits = String(Int(d.rounded()))
    var out = ""
    for (i, c) in digits.reversed().enumerated() {
        if i > 0, i % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return String(out.reversed())
}
