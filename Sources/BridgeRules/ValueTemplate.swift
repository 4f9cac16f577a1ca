public import BridgeConfig
public import BridgeCore

/// A YAML/JSON tree whose string leaves are templates, such as a rule's `conf`.
///
/// Keys are never templated. Plain (unquoted) YAML scalars that read as
/// numbers, booleans or null stay typed constants; every other string leaf is a
/// ``Template``, typed when it is exactly one expression. Subtrees without any
/// expression are kept as ready-made constants, so rendering only walks the
/// parts that change.
public struct ValueTemplate: Sendable {
    indirect enum Node: Sendable {
        case constant(JSONValue)
        case template(Template)
        /// An array with at least one template inside (constant children are `.constant`).
        case array([Node])
        /// An object with at least one template inside: distinct keys in order, and their values.
        case object(keys: [String], values: [Node])

        var isConstant: Bool {
            if case .constant = self { return true }
            return false
        }
    }

    let root: Node

    init(root: Node) { self.root = root }

    /// Compiles every string leaf of `node`.
    ///
    /// Each bad template is recorded in `diagnostics` at its scalar's position
    /// (for a plain one-line scalar, the column of the problem itself) with the
    /// key path, so all problems of a file are reported together.
    /// - Returns: the compiled tree, or `nil` when any leaf had an error.
    public static func compile(_ node: ConfigNode, diagnostics: inout Diagnostics) -> ValueTemplate? {
        var ok = true
        let root = compileNode(node, &diagnostics, &ok)
        return ok ? ValueTemplate(root: root) : nil
    }

    /// Compiles a JSON tree whose string values are templates.
    /// - Throws: ``TemplateError`` of the first bad string.
    public init(json: JSONValue) throws(TemplateError) {
        root = try ValueTemplate.compileJSON(json)
    }

    /// Renders the tree: constants as they are, templates rendered (typed when single-expression).
    /// - Throws: the first ``RenderError``.
    public func render(_ ctx: RenderContext) throws(RenderError) -> JSONValue {
        try ValueTemplate.render(root, ctx)
    }

    /// `true` when no leaf has an expression.
    public var isConstant: Bool { root.isConstant }

    /// Every envelope path the tree reads, in order of first use.
    public var referencedPaths: [String] {
        var out: [String] = []
        func walk(_ n: Node) {
            switch n {
            case .constant: break
            case .template(let t):
                for p in t.referencedPaths where !out.contains(p) { out.append(p) }
            case .array(let items): items.forEach(walk)
            case .object(_, let values): values.forEach(walk)
            }
        }
        walk(root)
        return out
    }

    private static func render(_ node: Node, _ ctx: RenderContext) throws(RenderError) -> JSONValue {
        switch node {
        case .constant(let v): return v
        case .template(let t): return try t.render(ctx)
        case .array(let items):
            return .array(try renderAll(items, ctx))
        case .object(let keys, let values):
            // The keys array is shared with the compiled tree; only the values are new.
            return .object(JSONObject(uniqueKeys: keys, values: try renderAll(values, ctx)))
        }
    }

    private static func renderAll(_ nodes: [Node], _ ctx: RenderContext) throws(RenderError) -> [JSONValue] {
        var out: [JSONValue] = []
        out.reserveCapacity(nodes.count)
        for node in nodes {
            switch node {
            case .constant(let v): out.append(v)
            case .template(let t): out.append(try t.render(ctx))
            default: out.append(try render(node, ctx))
            }
        }
        return out
    }

    // MARK: Compiling

    private static func leaf(_ t: Template) -> Node {
        t.isConstant ? .constant(.string(t.text)) : .template(t)
    }

    /// An array node, or one constant when nothing inside is a template.
    private static func array(_ items: [Node]) -> Node {
        var constants: [JSONValue] = []
        for item in items {
            guard case .constant(let v) = item else { return .array(items) }
            constants.append(v)
        }
        return .constant(.array(constants))
    }

    /// An object node (later duplicate keys replace earlier ones), or one constant when nothing inside is a template.
    private static func object(_ keys: [String], _ values: [Node]) -> Node {
        var uniqueKeys: [String] = []
        var uniqueValues: [Node] = []
        for (key, value) in zip(keys, values) {
            if let i = uniqueKeys.firstIndex(of: key) {
                uniqueValues[i] = value
            } else {
                uniqueKeys.append(key)
                uniqueValues.append(value)
            }
        }
        var constants: [JSONValue] = []
        for value in uniqueValues {
            guard case .constant(let v) = value else { return .object(keys: uniqueKeys, values: uniqueValues) }
            constants.append(v)
        }
        return .constant(.object(JSONObject(uniqueKeys: uniqueKeys, values: constants)))
    }

    private static func compileJSON(_ v: JSONValue) throws(TemplateError) -> Node {
        switch v {
        case .string(let s): return leaf(try Template(s))
        case .array(let items):
            var out: [Node] = []
            for item in items { out.append(try compileJSON(item)) }
            return array(out)
        case .object(let o):
            var values: [Node] = []
            for v in o.values { values.append(try compileJSON(v)) }
            return object(o.keys, values)
        default: return .constant(v)
        }
    }

    private static func compileNode(_ node: ConfigNode, _ diags: inout Diagnostics, _ ok: inout Bool) -> Node {
        switch node.kind {
        case .scalar(let s, let plain):
            if plain, case let typed = ConfigNode.resolvePlain(s), typed.stringValue == nil { return .constant(typed) }
            do {
                return leaf(try Template(s))
            } catch {
                ok = false
                var location = node.location
                if plain, !s.contains("\n") {
                    // A plain scalar's text starts at its node, so the offset lands on the problem itself
                    // (YAML columns count characters).
                    let prefix = String(decoding: s.utf8.prefix(error.offset), as: UTF8.self)
                    location.column += prefix.unicodeScalars.count
                }
                diags.error("bad template: \(error.message) — near \(excerpt(s, at: error.offset))", location: location, keyPath: node.path)
                return .constant(.null)
            }
        case .sequence(let items):
            return array(items.map { compileNode($0, &diags, &ok) })
        case .mapping(let pairs):
            return object(pairs.map { $0.key.scalar ?? "" }, pairs.map { compileNode($0.value, &diags, &ok) })
        }
    }

    /// Up to 24 bytes of the template from `offset`, quoted, for diagnostics.
    private static func excerpt(_ s: String, at offset: Int) -> String {
        let u = Array(s.utf8)
        let start = min(max(0, offset), u.count)
        guard start < u.count else { return "the end of '\(s.count > 40 ? String(s.suffix(40)) : s)'" }
        var end = min(u.count, start + 24)
        while end < u.count, (u[end] & 0xC0) == 0x80 { end += 1 }
        return "'\(String(decoding: u[start..<end], as: UTF8.self))'"
    }
}
