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
        /// The array with its constant children in place, and the children to render.
        case arraySlots(skeleton: [JSONValue], slots: [(index: Int, node: Node)])
        /// The object with its constant members in place (keys in order), and the members to render.
        case objectSlots(skeleton: JSONObject, slots: [(key: String, node: Node)])

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
            case .arraySlots(_, let slots): slots.forEach { walk($0.node) }
            case .objectSlots(_, let slots): slots.forEach { walk($0.node) }
            }
        }
        walk(root)
        return out
    }

    private static func render(_ node: Node, _ ctx: RenderContext) throws(RenderError) -> JSONValue {
        switch node {
        case .constant(let v): return v
        case .template(let t): return try t.render(ctx)
        case .arraySlots(let skeleton, let slots):
            var out = skeleton
            for slot in slots { out[slot.index] = try render(slot.node, ctx) }
            return .array(out)
        case .objectSlots(let skeleton, let slots):
            // Copy-on-write shares the skeleton's keys; only the values are copied, once.
            var out = skeleton
            for slot in slots { out[slot.key] = try render(slot.node, ctx) }
            return .object(out)
        }
    }

    // MARK: Compiling

    private static func leaf(_ t: Template) -> Node {
        t.isConstant ? .constant(.string(t.text)) : .template(t)
    }

    /// Turns a compiled container into a constant (no templates inside) or a
    /// skeleton holding its constants plus the slots that need rendering.
    private static func array(_ items: [Node]) -> Node {
        var skeleton: [JSONValue] = []
        var slots: [(index: Int, node: Node)] = []
        for (i, item) in items.enumerated() {
            if case .constant(let v) = item {
                skeleton.append(v)
            } else {
                skeleton.append(.null)
                slots.append((i, item))
            }
        }
        return slots.isEmpty ? .constant(.array(skeleton)) : .arraySlots(skeleton: skeleton, slots: slots)
    }

    private static func object(_ keys: [String], _ values: [Node]) -> Node {
        var skeleton = JSONObject()
        var slots: [(key: String, node: Node)] = []
        for (key, value) in zip(keys, values) {
            if case .constant(let v) = value {
                skeleton[key] = v
            } else {
                skeleton[key] = .null
                slots.append((key, value))
            }
        }
        return slots.isEmpty ? .constant(.object(skeleton)) : .objectSlots(skeleton: skeleton, slots: slots)
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
