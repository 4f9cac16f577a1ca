public import BridgeConfig
import BridgeCore
internal import Foundation

/// Reads a rules folder into a ``RuleSet``, gathering every problem as a
/// `file:line:col` diagnostic instead of stopping at the first.
///
/// Each `*.yaml`/`*.yml` file (sorted by path, sub-folders included) holds
/// `rules:`, a list of rules:
///
/// - `name` (string, required): unique across the folder; letters, digits and `_ . : + ~ -`.
/// - `description` (string, optional).
/// - `enabled` (bool, default true): `false` keeps the rule in the file but out of the set.
/// - `source` (string or list, optional): source names the rule listens to; absent = all.
/// - `match` (mapping, optional): an EventBridge event pattern over the envelope; absent = every event.
/// - `trigger` (mapping, required): `target` (required), `dag_id` (required template),
///   `dag_run_id` (template, default `<rule>__<event id>`), `logical_date`, `note` (templates),
///   `conf` (any tree; its strings are templates; default `{}`).
/// - `retry` (mapping, optional): `max_attempts`, `max_age`, `initial_backoff`, `max_backoff`
///   overriding the target's retry policy for this rule's jobs.
public enum RuleSetLoader {
    /// What the loader checks names against.
    public struct Options: Sendable {
        /// Known target names; `nil` skips the check.
        public var targets: Set<String>?
        /// Known source names; `nil` skips the check.
        public var sources: Set<String>?
        /// Largest encoded `conf` accepted at render time.
        public var maxConfBytes: Int

        public init(targets: Set<String>? = nil, sources: Set<String>? = nil, maxConfBytes: Int = 256 * 1024) {
            self.targets = targets
            self.sources = sources
            self.maxConfBytes = maxConfBytes
        }
    }

    /// The result of loading: the set (nil when there are errors), every diagnostic, and the files read.
    public struct Loaded: Sendable {
        public var ruleSet: RuleSet?
        public var diagnostics: [Diagnostic]
        public var files: [String]
    }

    static let ruleKeys = ["name", "description", "enabled", "source", "match", "trigger", "retry"]
    static let triggerKeys = ["target", "dag_id", "dag_run_id", "logical_date", "note", "conf"]
    static let retryKeys = ["max_attempts", "max_age", "initial_backoff", "max_backoff"]

    /// Loads every rule file under `directory`.
    public static func load(directory: String, options: Options = Options()) -> Loaded {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            let d = Diagnostic(.error, "rules folder '\(directory)' does not exist or is not a folder", at: nil)
            return Loaded(ruleSet: nil, diagnostics: [d], files: [])
        }
        let files = RuleFiles.list(in: directory).map(\.path)
        var sources: [(text: String, file: String)] = []
        var diags = Diagnostics()
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                diags.error("cannot read file", location: SourceLocation(file: path, line: 1, column: 1))
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                diags.error("file is not valid UTF-8", location: SourceLocation(file: path, line: 1, column: 1))
                continue
            }
            sources.append((text, path))
        }
        if files.isEmpty {
            diags.append(Diagnostic(.warning, "no rule files (*.yaml, *.yml) in '\(directory)'", at: nil))
        }
        var loaded = load(sources: sources, options: options)
        loaded.diagnostics = diags.items + loaded.diagnostics
        if diags.hasErrors { loaded.ruleSet = nil }
        loaded.files = files
        return loaded
    }

    /// Loads rules from in-memory texts (tests, admin API).
    public static func load(sources: [(text: String, file: String)], options: Options = Options()) -> Loaded {
        var diags = Diagnostics()
        var rules: [Rule] = []
        var seen: [String: SourceLocation] = [:]
        for (text, file) in sources {
            let (root, parseDiags) = YAMLLoader.parse(text, file: file)
            diags.append(contentsOf: parseDiags)
            guard let root else { continue }
            if root.isNull { continue }
            guard root.checkKeys(["rules"], &diags) else { continue }
            guard let list = root["rules"] else {
                diags.error("a rule file holds 'rules:', a list of rules", at: root)
                continue
            }
            if list.isNull { continue }
            guard let items = list.sequence else {
                diags.error("'rules' must be a list of rules, found \(list.describeValue)", at: list)
                continue
            }
            for item in items {
                // Names are checked before the rule compiles, so a duplicate is reported
                // even when the rule has other problems too.
                if let name = item["name"]?.scalar, !name.isEmpty {
                    if let first = seen[name] {
                        diags.error("duplicate rule name '\(name)' (first defined at \(first))", at: item["name"])
                    } else {
                        seen[name] = item.location
                    }
                }
                guard let rule = compileRule(item, options: options, diags: &diags) else { continue }
                rules.append(rule)
            }
        }
        let items = diags.items.sorted { a, b in
            guard let la = a.location, let lb = b.location else { return a.location == nil && b.location != nil }
            return (la.file, la.line, la.column) < (lb.file, lb.line, lb.column)
        }
        let set = diags.hasErrors ? nil : RuleSet(rules: rules.filter(\.enabled), maxConfBytes: options.maxConfBytes)
        return Loaded(ruleSet: set, diagnostics: items, files: sources.map(\.file))
    }

    static func isValidRuleName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 100 else { return false }
        let alnum: (UInt8) -> Bool = { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
        return alnum(first) && name.utf8.allSatisfy { alnum($0) || "_.:+~-".utf8.contains($0) }
    }

    static func compileRule(_ node: ConfigNode, options: Options, diags: inout Diagnostics) -> Rule? {
        guard node.checkKeys(ruleKeys, &diags) else { return nil }
        let before = diags.items.count
        var name = ""
        if let n = node["name"] {
            if let s = n.string(&diags) {
                if isValidRuleName(s) {
                    name = s
                } else {
                    diags.error(
                        "rule name '\(s)' must start with a letter or digit and use only letters, digits and _ . : + ~ - (at most 100)",
                        at: n)
                }
            }
        } else {
            diags.error("rule has no 'name'", at: node)
        }
        var description: String?
        if let d = node["description"] { description = d.string(&diags) }
        var enabled = true
        if let e = node["enabled"] { enabled = e.bool(&diags) ?? true }
        var sources: Set<String>?
        if let s = node["source"] {
            if let list = s.stringList(&diags) {
                if list.isEmpty { diags.error("'source' is an empty list: the rule would never match; remove 'source' to listen to all sources", at: s) }
                if let known = options.sources {
                    for (i, name) in list.enumerated() where !known.contains(name) {
                        var msg = "unknown source '\(name)'"
                        if let m = didYouMean(name, known) { msg += "; did you mean '\(m)'?" }
                        diags.error(msg, at: s.sequence?[i] ?? s)
                    }
                }
                sources = Set(list)
            }
        }
        let pattern: Pattern?
        if let m = node["match"], !m.isNull {
            pattern = PatternCompiler.compile(m, diagnostics: &diags)
        } else {
            pattern = PatternCompiler.matchAll
        }
        var trigger: TriggerTemplate?
        if let t = node["trigger"] {
            trigger = compileTrigger(t, options: options, diags: &diags)
        } else {
            diags.error("rule '\(name)' has no 'trigger' (target, dag_id, conf)", at: node)
        }
        var retry: RetryOverrides?
        if let r = node["retry"] { retry = compileRetry(r, diags: &diags) }
        guard diags.items.count == before || !diags.items[before...].contains(where: { $0.severity == .error }),
            let pattern, let trigger
        else { return nil }
        var rule = Rule(
            name: name, description: description, sources: sources, pattern: pattern, trigger: trigger, retry: retry,
            location: node.location)
        rule.enabled = enabled
        return rule
    }

    static func template(_ node: ConfigNode, _ key: String, diags: inout Diagnostics) -> Template? {
        guard let text = node.string(&diags) else { return nil }
        do {
            return try Template(text)
        } catch {
            diags.error("bad template in '\(key)': \(error.message)", at: node)
            return nil
        }
    }

    static func compileTrigger(_ node: ConfigNode, options: Options, diags: inout Diagnostics) -> TriggerTemplate? {
        guard node.checkKeys(triggerKeys, &diags) else { return nil }
        var target: String?
        if let t = node["target"] {
            if let s = t.string(&diags) {
                if s.isEmpty {
                    diags.error("'target' is empty: name an Airflow target", at: t)
                } else if let known = options.targets, !known.contains(s) {
                    var msg = "unknown target '\(s)'"
                    if let m = didYouMean(s, known) { msg += "; did you mean '\(m)'?" }
                    msg += " (known: \(known.sorted().joined(separator: ", ")))"
                    diags.error(msg, at: t)
                } else {
                    target = s
                }
            }
        } else {
            diags.error("trigger has no 'target' (the name of an Airflow target)", at: node)
        }
        var dagId: Template?
        if let d = node["dag_id"] {
            dagId = template(d, "dag_id", diags: &diags)
            if let dagId, dagId.isConstant, let text = d.scalar, !RuleSet.isValidDagID(text) {
                diags.error("dag_id '\(text)' is not a valid DAG id (letters, digits, '_', '.', '-')", at: d)
            }
        } else {
            diags.error("trigger has no 'dag_id'", at: node)
        }
        var runId: Template?
        if let r = node["dag_run_id"] {
            runId = template(r, "dag_run_id", diags: &diags)
            if let runId, runId.isConstant {
                diags.warning(
                    "dag_run_id has no template expression: every event would map to the same run, so only the first would ever run",
                    at: r)
            }
        }
        let logicalDate = node["logical_date"].flatMap { template($0, "logical_date", diags: &diags) }
        let note = node["note"].flatMap { template($0, "note", diags: &diags) }
        var conf: ValueTemplate?
        if let c = node["conf"] {
            conf = ValueTemplate.compile(c, diagnostics: &diags)
        } else {
            conf = try? ValueTemplate(json: .object(JSONObject()))
        }
        guard let target, let dagId, let conf else { return nil }
        return TriggerTemplate(
            target: target, dagId: dagId, dagRunId: runId, logicalDate: logicalDate, note: note, conf: conf,
            targetLocation: node["target"]?.location ?? node.location)
    }

    static func compileRetry(_ node: ConfigNode, diags: inout Diagnostics) -> RetryOverrides? {
        guard node.checkKeys(retryKeys, &diags) else { return nil }
        var r = RetryOverrides()
        if let n = node["max_attempts"] { r.maxAttempts = n.int(&diags, in: 1...1000) }
        if let n = node["max_age"] { r.maxAge = n.duration(&diags) }
        if let n = node["initial_backoff"] { r.initialBackoff = n.duration(&diags) }
        if let n = node["max_backoff"] { r.maxBackoff = n.duration(&diags) }
        if let a = r.initialBackoff, let b = r.maxBackoff, a > b {
            diags.error("initial_backoff (\(DurationText.format(a))) is larger than max_backoff (\(DurationText.format(b)))", at: node)
        }
        return r
    }
}
