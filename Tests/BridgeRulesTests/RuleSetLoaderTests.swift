import BridgeConfig
import BridgeCore
import BridgeRules
import Foundation
import Testing

@Suite struct RuleSetLoaderTests {
    func load(_ text: String, targets: Set<String>? = nil, file: String = "r.yaml") -> RuleSetLoader.Loaded {
        RuleSetLoader.load(sources: [(text, file)], options: .init(targets: targets))
    }

    func errors(_ loaded: RuleSetLoader.Loaded) -> [String] {
        loaded.diagnostics.filter { $0.severity == .error }.map(\.description)
    }

    static let minimal = """
        rules:
          - name: a
            trigger: { target: t, dag_id: d }
        """

    @Test func minimalRuleLoads() throws {
        let loaded = load(Self.minimal)
        #expect(errors(loaded).isEmpty)
        let set = try #require(loaded.ruleSet)
        #expect(set.rules.map(\.name) == ["a"])
        #expect(set.rules[0].trigger.target == "t")
    }

    @Test func unknownKeysGetPositionAndSuggestion() {
        let loaded = load(
            """
            rules:
              - name: a
                sorce: [x]
                trigger:
                  target: t
                  dag_id: d
                  confs: {}
            """)
        let e = errors(loaded)
        #expect(loaded.ruleSet == nil)
        #expect(e.contains { $0.hasPrefix("r.yaml:3:5: error: unknown key 'sorce'; did you mean 'source'?") })
        #expect(e.contains { $0.hasPrefix("r.yaml:7:7: error: unknown key 'confs'; did you mean 'conf'?") })
    }

    @Test func duplicateNamesAcrossFilesAreReported() {
        let loaded = RuleSetLoader.load(sources: [(Self.minimal, "one.yaml"), (Self.minimal, "two.yaml")])
        let e = errors(loaded)
        #expect(e.count == 1)
        #expect(e[0].hasPrefix("two.yaml:2:11: error: duplicate rule name 'a' (first defined at one.yaml:2:5)"))
    }

    @Test func unknownTargetIsAnErrorWhenTargetsAreKnown() {
        let loaded = load(Self.minimal.replacingOccurrences(of: "target: t", with: "target: prdo"), targets: ["prod", "dev"])
        #expect(errors(loaded).contains { $0.contains("unknown target 'prdo'; did you mean 'prod'?") })
        #expect(errors(load(Self.minimal, targets: ["t"])).isEmpty)
    }

    @Test func missingPiecesAreAllReported() {
        let loaded = load(
            """
            rules:
              - description: no name
                trigger: { dag_id: d }
              - name: "bad name!"
              - name: ok
                trigger: { target: t }
            """)
        let e = errors(loaded)
        #expect(e.contains { $0.contains("rule has no 'name'") })
        #expect(e.contains { $0.contains("trigger has no 'target'") })
        #expect(e.contains { $0.contains("rule name 'bad name!' must start") })
        #expect(e.contains { $0.contains("has no 'trigger'") })
        #expect(e.contains { $0.contains("trigger has no 'dag_id'") })
    }

    @Test func yamlSyntaxErrorHasPosition() {
        let loaded = load("rules:\n  - name: a\n    trigger: { target: t, dag_id: [d\n")
        let e = errors(loaded)
        #expect(e.count == 1)
        #expect(e[0].hasPrefix("r.yaml:"))
        #expect(e[0].contains("YAML syntax"))
    }

    @Test(arguments: [
        ("rules: 3", "'rules' must be a list of rules"),
        ("rulez: []", "unknown key 'rulez'; did you mean 'rules'?"),
        ("- a\n- b", "expected a mapping"),
    ])
    func badFileShapes(text: String, message: String) {
        #expect(errors(load(text)).contains { $0.contains(message) })
    }

    @Test func constantDagIdMustBeValid() {
        let loaded = load(Self.minimal.replacingOccurrences(of: "dag_id: d", with: "dag_id: 'my dag'"))
        #expect(errors(loaded).contains { $0.contains("dag_id 'my dag' is not a valid DAG id") })
    }

    @Test func retryOverridesAreValidated() throws {
        let good = load(Self.minimal + "\n    retry: { max_attempts: 3, max_age: 2h, initial_backoff: 500ms, max_backoff: 1m }")
        let retry = try #require(good.ruleSet?.rules[0].retry)
        #expect(retry == RetryOverrides(maxAttempts: 3, maxAge: 7200, initialBackoff: 0.5, maxBackoff: 60))
        let bad = load(Self.minimal + "\n    retry: { max_attempts: 0, max_age: soon, initial_backoff: 2m, max_backoff: 1m }")
        let e = errors(bad)
        #expect(e.contains { $0.contains("0 is out of range 1...1000") })
        #expect(e.contains { $0.contains("expected a duration") })
        #expect(e.contains { $0.contains("initial_backoff (2m) is larger than max_backoff (1m)") })
    }

    @Test func disabledRulesAreLeftOut() throws {
        let loaded = load(Self.minimal + "\n    enabled: false")
        #expect(try #require(loaded.ruleSet).rules.isEmpty)
    }

    @Test func emptySourceListIsAnError() {
        #expect(errors(load(Self.minimal + "\n    source: []")).contains { $0.contains("'source' is an empty list") })
    }

    @Test func missingFolderIsAnError() {
        let loaded = RuleSetLoader.load(directory: "/nonexistent/rules")
        #expect(loaded.ruleSet == nil)
        #expect(errors(loaded).first?.contains("does not exist") == true)
    }

    @Test func folderLoadReadsYamlFilesInOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.minimal.write(to: dir.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
        try Self.minimal.replacingOccurrences(of: "name: a", with: "name: z").write(
            to: dir.appendingPathComponent("sub/a.yml"), atomically: true, encoding: .utf8)
        try "not: rules".write(to: dir.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let loaded = RuleSetLoader.load(directory: dir.path)
        #expect(errors(loaded).isEmpty)
        #expect(try #require(loaded.ruleSet).rules.map(\.name) == ["a", "z"])
    }
}
