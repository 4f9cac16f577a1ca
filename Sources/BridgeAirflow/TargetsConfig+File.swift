public import BridgeConfig
import BridgeCore

extension TargetsConfig {
    /// Top-level sections of `dagbridge.yaml` (others belong to the service config).
    public static let topLevelKeys = ["server", "store", "targets", "rules", "sources", "logging", "dispatcher", "kafka", "admin", "metrics"]

    /// Reads the `targets:` section of a `dagbridge.yaml` file; other sections are left to their owners.
    /// - Parameters:
    ///   - path: the file.
    ///   - resolver: resolves secret references.
    ///   - alsoRead: reads each target's keys that belong to another component (see ``parse(_:resolver:diagnostics:alsoRead:)``).
    /// - Returns: the targets and every diagnostic (errors and warnings) with `file:line:col`.
    public static func load(
        path: String, resolver: SecretResolver = SecretResolver(),
        alsoRead: SectionReader = { _, _, _ in }
    ) -> (targets: [String: TargetConfig], diagnostics: [Diagnostic]) {
        let (root, yamlDiags) = YAMLLoader.load(path: path)
        var diags = Diagnostics()
        diags.append(contentsOf: yamlDiags)
        guard let root, !diags.hasErrors else {
            if root == nil && !diags.hasErrors {
                diags.error("the file is empty: add a 'targets:' section", location: SourceLocation(file: path, line: 1, column: 1))
            }
            return ([:], diags.items)
        }
        let targets = parseRoot(root, resolver: resolver, diagnostics: &diags, alsoRead: alsoRead)
        return (targets, diags.items)
    }

    /// Finds and parses `targets:` in a parsed `dagbridge.yaml` root mapping.
    public static func parseRoot(
        _ root: ConfigNode, resolver: SecretResolver, diagnostics: inout Diagnostics,
        alsoRead: SectionReader = { _, _, _ in }
    ) -> [String: TargetConfig] {
        guard root.checkKeys(topLevelKeys, &diagnostics, what: "section") else { return [:] }
        guard let node = root["targets"] else {
            diagnostics.error("no 'targets:' section: add one with at least one Airflow target", at: root)
            return [:]
        }
        let targets = parse(node, resolver: resolver, diagnostics: &diagnostics, alsoRead: alsoRead)
        if targets.isEmpty && !diagnostics.hasErrors {
            diagnostics.error("'targets:' is empty: add at least one Airflow target", at: node)
        }
        return targets
    }
}
