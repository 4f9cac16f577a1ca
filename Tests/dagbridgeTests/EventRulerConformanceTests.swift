import Foundation
import Testing

/// aws/event-ruler's own cases (`../shared/conformance/event-ruler-cases.json` beside the package, read in
/// place, never copied here), run through the built binary's `rules test --json` and `rules check` by the
/// shared `check.py`.
enum Conformance {
    static let folder = CLI.root.deletingLastPathComponent().appendingPathComponent("shared/conformance")
    static let script = folder.appendingPathComponent("check.py").path
    static let cases = folder.appendingPathComponent("event-ruler-cases.json").path

    /// The first `python3` on `PATH`.
    static let python: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// What is missing, or nil when the check can run.
    static let missing: String? = {
        var missing: [String] = []
        if !FileManager.default.fileExists(atPath: script) { missing.append(script) }
        if !FileManager.default.fileExists(atPath: cases) { missing.append(cases) }
        if python == nil { missing.append("python3 on PATH") }
        return missing.isEmpty ? nil : missing.joined(separator: ", ")
    }()

    /// Whether the suite runs: everything is there, or `CI=true` (where a missing file or python3 must
    /// fail, not skip). Elsewhere it is skipped with ``skipReason``.
    static var suiteRuns: Bool { missing == nil || ProcessInfo.processInfo.environment["CI"] == "true" }
    static var skipReason: Comment { "the event-ruler conformance check cannot run here: missing \(missing ?? "nothing")" }

    /// The cases dagbridge reads differently on purpose, each explained in the README's Patterns section:
    /// 265, a field both outside and inside `$or` (event-ruler lets the alternative's list replace the
    /// outer one; dagbridge requires both).
    static let documentedExceptions: [Int] = [265]
}

@Suite("EventBridge conformance (aws/event-ruler's cases)", .enabled(if: Conformance.suiteRuns, Conformance.skipReason))
struct EventRulerConformanceTests {
    @Test(.timeLimit(.minutes(5)))
    func casesAgreeAndInvalidPatternsAreRefused() async throws {
        if let missing = Conformance.missing {
            Issue.record("CI=true needs the conformance check; missing \(missing)")
            return
        }
        let r = try await CLI.runProgram([Conformance.python!, Conformance.script, CLI.binary.path, Conformance.cases])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        // "410/411 cases agree, 52/52 invalid patterns refused"
        let summary = try #require(lines.last { $0.contains(" cases agree, ") }, "no summary from check.py (exit \(r.status)): \(r.stderr)")
        let numbers = summary.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        try #require(numbers.count == 4, "summary: \(summary)")
        #expect(numbers[1] == 411, "the file holds \(numbers[1]) cases")
        #expect(numbers[3] == 52, "the file holds \(numbers[3]) invalid patterns")
        #expect(numbers[2] == numbers[3], "invalid patterns accepted:\n\(lines.filter { $0.hasPrefix("invalid ") }.joined(separator: "\n"))")
        // Every case agrees but the documented exceptions, which do differ (else the README is out of date).
        let wrong = lines.compactMap { line -> Int? in
            guard line.hasPrefix("case "), let n = line.dropFirst(5).split(separator: ":").first else { return nil }
            return Int(n)
        }
        #expect(wrong == Conformance.documentedExceptions, "disagreements:\n\(r.stdout)")
        #expect(numbers[0] == numbers[1] - Conformance.documentedExceptions.count, "summary: \(summary)")
        // Case 265 differs in one direction: event-ruler matches, dagbridge does not.
        #expect(lines.contains("case 265: expected match"))
    }
}

extension CLI {
    /// Runs another program (`args[0]`, a path) on a thread of its own, as ``run(_:stdin:cwd:env:)`` runs
    /// `dagbridge`: a child process must not hold a cooperative thread.
    static func runProgram(_ args: [String]) async throws -> Output {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Output, any Error>) in
            Thread {
                done.resume(with: Result {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: args[0])
                    p.arguments = Array(args.dropFirst())
                    let out = Pipe()
                    let err = Pipe()
                    p.standardOutput = out
                    p.standardError = err
                    try p.run()
                    // The programs run here write little to stderr, so reading stdout first cannot block them.
                    let o = out.fileHandleForReading.readDataToEndOfFile()
                    let e = err.fileHandleForReading.readDataToEndOfFile()
                    p.waitUntilExit()
                    return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
                })
            }.start()
        }
    }
}
