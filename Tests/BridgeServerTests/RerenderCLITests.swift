import BridgeCore
import BridgeStore
import Foundation
import Testing

/// `dlq replay --rerender` and `config check`, through the built binary on real files.
@Suite("dlq replay --rerender and config check (built binary)", .serialized, .onTestThreads)
struct RerenderCLITests {
    static let brokenRule = """
        rules:
          - name: ingest
            trigger: { target: prod, dag_id: ingest, conf: { x: "{{ body.missing }}" } }
        """
    static let fixedRule = """
        rules:
          - name: ingest
            trigger: { target: prod, dag_id: ingest, conf: { x: "{{ body.present | int }}" } }
        """

    @Test func renderFailureIsReplayedWithTheFixedRule() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let rules = dir.path + "/rules"
        try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true)
        let journal = try Journal(path: dir.store)
        _ = try await journal.enqueue(
            event: Event(id: "ev-9", source: "hooks", rawBody: Array(#"{"present":"7"}"#.utf8)), jobs: [],
            failures: [RenderFailure(rule: "ingest", target: "prod", reason: "missing value at body.missing")])
        let id = try #require(try await journal.jobs(matching: JobFilter(state: .dead)).first?.id)

        // Without --rerender: refused, and the message says what to do.
        let plain = try await CLI.run(["dlq", "replay", "\(id)", "--store", dir.store])
        #expect(plain.status == 1)
        #expect((plain.out + plain.err).contains("--rerender"))

        // With the still-broken rule: the render error is reported, nothing changes.
        try Self.brokenRule.write(toFile: rules + "/r.yaml", atomically: true, encoding: .utf8)
        let broken = try await CLI.run(["dlq", "replay", "\(id)", "--store", dir.store, "--rerender", "--rules", rules])
        #expect(broken.status == 1)
        #expect((broken.out + broken.err).contains("body.missing"))

        // With the fixed rule: replayed with the deterministic run id and the new conf.
        try Self.fixedRule.write(toFile: rules + "/r.yaml", atomically: true, encoding: .utf8)
        let fixed = try await CLI.run(["dlq", "replay", "\(id)", "--store", dir.store, "--rerender", "--rules", rules, "--json"])
        #expect(fixed.status == 0, "\(fixed.err)")
        let job = try #require(try await journal.job(id: id))
        #expect(job.state == .pending)
        #expect(job.job.dagId == "ingest")
        #expect(job.job.conf == ["x": 7])
        #expect(job.job.dagRunId == "ingest__ev-9")
    }

    @Test("--rerender with --config renders with its rules.path; an explicit --rules wins")
    func rerenderTakesTheRulesOfTheConfig() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        for (folder, rule) in [("rules", Self.fixedRule), ("other", Self.brokenRule)] {
            try FileManager.default.createDirectory(atPath: dir.path + "/" + folder, withIntermediateDirectories: true)
            try rule.write(toFile: dir.path + "/\(folder)/r.yaml", atomically: true, encoding: .utf8)
        }
        let config = dir.path + "/dagbridge.yaml"
        try """
        store: { path: journal.sqlite }
        rules: { path: rules }
        targets:
          prod: { url: "http://127.0.0.1:9", api: v2 }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let journal = try Journal(path: dir.store)
        _ = try await journal.enqueue(
            event: Event(id: "ev-10", source: "hooks", rawBody: Array(#"{"present":"7"}"#.utf8)), jobs: [],
            failures: [RenderFailure(rule: "ingest", target: "prod", reason: "missing value at body.missing")])
        let id = try #require(try await journal.jobs(matching: JobFilter(state: .dead)).first?.id)

        let explicit = try await CLI.run(["dlq", "replay", "--config", config, "--all", "--rerender", "--rules", dir.path + "/other"])
        #expect(explicit.status == 1)
        #expect((explicit.out + explicit.err).contains("body.missing"), "\(explicit.out)\(explicit.err)")
        #expect(try await journal.job(id: id)?.state == .dead)

        let viaConfig = try await CLI.run(["dlq", "replay", "--config", config, "--all", "--rerender", "--json"])
        #expect(viaConfig.status == 0, "\(viaConfig.out)\(viaConfig.err)")
        let job = try #require(try await journal.job(id: id))
        #expect(job.state == .pending && job.job.conf == ["x": 7] && job.job.dagRunId == "ingest__ev-10")
    }

    @Test func configCheckValidatesConfigAndRulesTogether() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try FileManager.default.createDirectory(atPath: dir.path + "/rules", withIntermediateDirectories: true)
        try """
        rules:
          - name: a
            source: [gihub]
            trigger: { target: prd, dag_id: d }
        """.write(toFile: dir.path + "/rules/a.yaml", atomically: true, encoding: .utf8)
        let config = dir.path + "/dagbridge.yaml"
        try """
        store: { path: var/j.sqlite }
        rules: { path: rules }
        targets:
          prod: { url: "http://127.0.0.1:9", api: v2 }
        sources:
          webhooks:
            - name: github
              verify: { type: github, secret: "${env:DAGBRIDGE_TEST_UNSET_SECRET}" }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let bad = try await CLI.run(["config", "check", "--config", config])
        #expect(bad.status == 1)
        #expect(bad.err.contains("environment variable DAGBRIDGE_TEST_UNSET_SECRET is not set"))
        #expect(bad.err.contains("dagbridge.yaml:8:"))

        try """
        store: { path: var/j.sqlite }
        rules: { path: rules }
        targets:
          prod: { url: "http://127.0.0.1:9", api: v2 }
        sources:
          webhooks:
            - name: github
              verify: { type: none }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let rulesBad = try await CLI.run(["config", "check", "--config", config])
        #expect(rulesBad.status == 1)
        #expect(rulesBad.err.contains("unknown source 'gihub'; did you mean 'github'?"))
        #expect(rulesBad.err.contains("unknown target 'prd'; did you mean 'prod'?"))

        try """
        rules:
          - name: a
            source: [github]
            trigger: { target: prod, dag_id: d }
        """.write(toFile: dir.path + "/rules/a.yaml", atomically: true, encoding: .utf8)
        let good = try await CLI.run(["config", "check", "--config", config])
        #expect(good.status == 0, "\(good.err)")
        #expect(good.out.contains("1 target(s), 1 webhook source(s), 1 rule(s)"))

        let usage = try await CLI.run(["config", "check", "--config", dir.path + "/nope.yaml"])
        #expect(usage.status == 2)
    }
}
