import Foundation
import Testing

/// `bench-rules file`: JSON-lines rules and events another engine can read, counted before they are timed.
@Suite struct BenchRulesFileTests {
    static var binary: URL { CLI.root.appendingPathComponent(".build/debug/bench-rules") }

    static func write(_ lines: [String], _ name: String, in dir: URL) throws -> String {
        let url = dir.appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test(.timeLimit(.minutes(1)))
    func countsMatchesPerEventAndPerPass() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build it first: swift build --product bench-rules")
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = try Self.write([
            #"{"a":["x"]}"#,
            #"{"n":[{"numeric":[">",1]}]}"#,
            "",  // blank lines are skipped and name no rule
            "{}",
            #"{"items":{"k":["y"],"d":[{"exists":false}]}}"#,
        ], "rules.jsonl", in: dir)
        let events = try Self.write([
            #"{"a":"x","n":2}"#,
            #"{"a":"z","n":1}"#,
            #"{"items":[{"k":"y","d":1},{"k":"y"}]}"#,
            #"{"items":[{"k":"y","d":1},{"k":"z"}]}"#,
        ], "events.jsonl", in: dir)
        let r = try await CLI.runProgram([Self.binary.path, "file", "--rules", rules, "--events", events, "--seconds", "0.05", "--list"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        // Rules are r0… in file order; each pattern applies to the event as its body.
        #expect(Array(lines.prefix(4)) == ["e0: r0 r1 r2", "e1: r2", "e2: r2 r3", "e3: r2"])
        #expect(lines.contains("rules: 4 (r0…r3) from \(rules)"))
        #expect(lines.contains { $0.hasPrefix("matches per pass: 7 (event, rule) pairs; 4 events match at least one rule, 4 rules match at least one event") })
        #expect(lines.contains { $0.hasPrefix("passes: ") && $0.hasSuffix(", 7 matches each") })
        #expect(lines.contains { $0.hasPrefix("events/s: ") })
    }

    @Test func badLinesAreNamed() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build it first: swift build --product bench-rules")
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = try Self.write([#"{"a":["x"]}"#, #"{"a":[{"numeric":["<",1,">",0]}]}"#], "rules.jsonl", in: dir)
        let events = try Self.write([#"{"a":"x"}"#], "events.jsonl", in: dir)
        let r = try await CLI.runProgram([Self.binary.path, "file", "--rules", rules, "--events", events])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(rules):2: rule r1: body.a[0].numeric[0]: 'numeric' range gives its upper bound first"), "\(r.stderr)")
    }
}
