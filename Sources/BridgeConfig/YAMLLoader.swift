internal import BridgeCore
internal import Foundation
internal import Yams

/// Reads YAML text into ``ConfigNode`` trees with positions.
public enum YAMLLoader {
    /// Parses one YAML document.
    /// - Parameters:
    ///   - text: the YAML source.
    ///   - file: the name used in diagnostics.
    /// - Returns: the root node (nil for an empty document), plus any problems:
    ///   YAML syntax errors, duplicate keys, non-scalar keys, documents that expand (through
    ///   aliases) to more than `maxNodes` nodes.
    public static func parse(_ text: String, file: String, maxNodes: Int = 1_000_000) -> (ConfigNode?, [Diagnostic]) {
        var diags = Diagnostics()
        let node: Yams.Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            diags.append(diagnostic(for: error, file: file))
            return (nil, diags.items)
        } catch {
            diags.error("cannot read YAML: \(error)", location: SourceLocation(file: file, line: 1, column: 1))
            return (nil, diags.items)
        }
        guard let node else { return (nil, diags.items) }
        var budget = maxNodes  // so alias bombs cannot blow up memory
        let root = convert(node, file: file, path: "", diags: &diags, budget: &budget)
        return (root, diags.items)
    }

    /// Reads and parses a file.
    public static func load(path: String) -> (ConfigNode?, [Diagnostic]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            return (nil, [Diagnostic(.error, "cannot read file (missing or unreadable)", at: SourceLocation(file: path, line: 1, column: 1))])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return (nil, [Diagnostic(.error, "file is not valid UTF-8", at: SourceLocation(file: path, line: 1, column: 1))])
        }
        return parse(text, file: path)
    }

    private static func location(_ mark: Mark?, _ file: String) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    private static func diagnostic(for error: YamlError, file: String) -> Diagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let ctx = context.map { " \($0.text)" } ?? ""
            return Diagnostic(.error, "YAML syntax: \(problem)\(ctx)", at: location(mark, file))
        case .reader(let problem, _, _, _):
            return Diagnostic(.error, "YAML cannot be read: \(problem)", at: SourceLocation(file: file, line: 1, column: 1))
        case .duplicatedKeysInMapping(let duplicates, let context):
            return Diagnostic(
                .error, "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", "))",
                at: location(context.mark, file))
        default:
            return Diagnostic(.error, "YAML error: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    private static func convert(_ node: Yams.Node, file: String, path: String, diags: inout Diagnostics, budget: inout Int) -> ConfigNode {
        budget -= 1
        let loc = location(node.mark, file)
        if budget < 0 {
            if budget == -1 { diags.error("document too large (too many nodes after expanding aliases)", location: loc) }
            return ConfigNode(kind: .scalar("", plain: true), location: loc, path: path)
        }
        switch node {
        case .scalar(let s):
            return ConfigNode(kind: .scalar(s.string, plain: s.style == .plain || s.style == .any), location: loc, path: path)
        case .sequence(let seq):
            var items: [ConfigNode] = []
            for (i, item) in seq.enumerated() {
                items.append(convert(item, file: file, path: "\(path)[\(i)]", diags: &diags, budget: &budget))
            }
            return ConfigNode(kind: .sequence(items), location: loc, path: path)
        case .mapping(let map):
            var pairs: [(key: ConfigNode, value: ConfigNode)] = []
            var seen = Set<String>()
            for (k, v) in map {
                let keyLoc = location(k.mark, file)
                guard case .scalar(let ks) = k else {
                    // `x: {{ body.y }}` parses as a flow mapping used as a key: say how to fix it.
                    diags.error(
                        "mapping keys must be plain strings; if this is a template, quote it: \"{{ ... }}\"",
                        location: keyLoc, keyPath: path)
                    continue
                }
                let name = ks.string
                let childPath = path.isEmpty ? name : "\(path).\(name)"
                if !seen.insert(name).inserted {
                    diags.error("duplicate key '\(name)'", location: keyLoc, keyPath: childPath)
                }
                let keyNode = ConfigNode(kind: .scalar(name, plain: true), location: keyLoc, path: childPath)
                pairs.append((keyNode, convert(v, file: file, path: childPath, diags: &diags, budget: &budget)))
            }
            return ConfigNode(kind: .mapping(pairs), location: loc, path: path)
        case .alias(let a):
            diags.error("YAML aliases are not supported here", location: location(a.mark, file), keyPath: path)
            return ConfigNode(kind: .scalar("", plain: true), location: loc, path: path)
        }
    }
}
