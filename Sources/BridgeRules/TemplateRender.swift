public import BridgeCore
public import Foundation

/// What a template renders against: the event envelope, the rule's name and the clock.
///
/// The envelope's top-level members are looked up once here, so each path in a
/// template starts from its root without a key search.
public struct RenderContext: Sendable {
    /// The event envelope (`{"id","source","received_at","headers","body",…}`).
    public let envelope: JSONValue
    /// The rule's name (`{{ rule }}`).
    public let rule: String
    /// The time `{{ now }}` renders.
    public let now: Date
    /// Longest text a `replace` or an interpolated string may produce, in UTF-8
    /// bytes (default 1 MiB), so a hostile input cannot make rendering explode.
    public var maxTextBytes: Int = 1 << 20

    let id: JSONValue?
    let source: JSONValue?
    let receivedAt: JSONValue?
    let headers: JSONValue?
    let body: JSONValue?
    let kafka: JSONValue?
    let cloudevent: JSONValue?

    /// Makes a context.
    /// - Parameters:
    ///   - envelope: the event's envelope (``Event/envelope``); a non-object gives every path as missing.
    ///   - rule: the rule's name.
    ///   - now: the clock for `now` (pass a fixed date in tests).
    public init(envelope: JSONValue, rule: String, now: Date) {
        self.envelope = envelope
        self.rule = rule
        self.now = now
        let o = envelope.objectValue ?? JSONObject()
        id = o["id"]
        source = o["source"]
        receivedAt = o["received_at"]
        headers = o["headers"]
        body = o["body"]
        kafka = o["kafka"]
        cloudevent = o["cloudevent"]
    }

    @inline(__always)
    func root(_ r: PathRoot) -> JSONValue? {
        switch r {
        case .id: return id
        case .source: return source
        case .receivedAt: return receivedAt
        case .headers: return headers
        case .body: return body
        case .kafka: return kafka
        case .cloudevent: return cloudevent
        case .rule: return .string(rule)
        }
    }
}

extension PathExpr {
    /// The value at this path, or `nil` when it is missing.
    @inline(__always)
    func lookup(_ ctx: RenderContext) -> JSONValue? {
        guard let start = ctx.root(root) else { return nil }
        if segments.isEmpty { return start }
        return PathExpr.walk(start, segments, 0)
    }

    /// One step per call: the container is a borrowed parameter, so reading a
    /// member does not copy the container out of its enum.
    private static func walk(_ v: JSONValue, _ segments: [PathSegment], _ i: Int) -> JSONValue? {
        let next: JSONValue
        switch segments[i] {
        case .key(let k):
            guard case .object(let o) = v, let n = member(o, k) else { return nil }
            next = n
        case .index(let index):
            guard case .array(let a) = v else { return nil }
            let j = index < 0 ? a.count + index : index
            guard j >= 0, j < a.count else { return nil }
            next = a[j]
        }
        return i + 1 == segments.count ? next : walk(next, segments, i + 1)
    }

    /// `o[key]`, faster for the usual webhook body: up to 64 members are scanned
    /// comparing UTF-8 lengths first (O(1) per key), which beats hashing the key.
    @inline(__always)
    private static func member(_ o: JSONObject, _ key: String) -> JSONValue? {
        let keys = o.keys
        guard keys.count <= 64 else { return o[key] }
        let length = key.utf8.count
        for i in keys.indices where keys[i].utf8.count == length && keys[i] == key {
            return o.values[i]
        }
        return nil
    }
}

extension Operand {
    @inline(__always)
    func value(_ ctx: RenderContext) -> JSONValue? {
        switch self {
        case .literal(let v): return v
        case .path(let p): return p.lookup(ctx)
        case .now: return .string(ISO8601.format(ctx.now))
        }
    }

    var pathText: String? {
        if case .path(let p) = self { return p.text }
        return nil
    }
}

extension Expr {
    /// Evaluates the operand and the filter chain.
    func evaluate(_ ctx: RenderContext) throws(RenderError) -> JSONValue {
        var value = operand.value(ctx)
        // Which operand made the value missing: -1 the expression's own, else the filter
        // index of a `default` whose argument was missing. Its path text is only built for the error.
        var missingFrom = -1
        for i in filters.indices {
            if case .defaultValue(let fallback) = filters[i] {
                if value == nil || value!.isNull {
                    value = fallback.value(ctx)
                    if value == nil { missingFrom = i }
                }
                continue
            }
            guard let v = value else { throw missing(missingFrom) }
            value = try filters[i].apply(v, expr: self, ctx: ctx)
        }
        guard let value else { throw missing(missingFrom) }
        return value
    }

    private func missing(_ from: Int) -> RenderError {
        var path = operand.pathText
        if from >= 0, case .defaultValue(let fallback) = filters[from] { path = fallback.pathText }
        let p = path ?? "value"
        return RenderError(message: "\(p) is missing in \(source) (add | default(...) to allow that)", path: path)
    }
}

extension Template {
    /// Renders the template: the expression's typed value when the string is
    /// exactly one expression, otherwise the interpolated `.string`.
    /// - Throws: ``RenderError`` for a missing path without `default`, a failed
    ///   conversion (`int` of `"abc"`), or a text over ``RenderContext/maxTextBytes``.
    public func render(_ ctx: RenderContext) throws(RenderError) -> JSONValue {
        if let single = program.single { return try single.evaluate(ctx) }
        return .string(try interpolate(ctx))
    }

    /// Renders the template as text: a typed value becomes compact JSON, a string stays as is
    /// (and null becomes the empty string).
    public func renderString(_ ctx: RenderContext) throws(RenderError) -> String {
        if let single = program.single {
            var out = ""
            TemplateText.append(try single.evaluate(ctx), to: &out)
            return out
        }
        return try interpolate(ctx)
    }

    /// Interpolation in two passes: render every part, then copy them once
    /// into a string of exactly the right size (no regrowth, one allocation).
    private func interpolate(_ ctx: RenderContext) throws(RenderError) -> String {
        let parts = program.parts
        if parts.count == 1, case .text(let t) = parts[0] { return t }
        let result = withUnsafeTemporaryAllocation(of: String.self, capacity: parts.count) { pieces -> Result<String, RenderError> in
            var filled = 0
            defer { pieces.baseAddress!.deinitialize(count: filled) }
            var total = 0
            for part in parts {
                let piece: String
                switch part {
                case .text(let t): piece = t
                case .expr(let e):
                    do throws(RenderError) {
                        piece = TemplateText.text(try e.evaluate(ctx))
                    } catch {
                        return .failure(error)
                    }
                }
                total += piece.utf8.count
                (pieces.baseAddress! + filled).initialize(to: piece)
                filled += 1
            }
            guard total <= ctx.maxTextBytes else {
                return .failure(RenderError(
                    message: "the text rendered from \(TemplateText.quote(program.text)) is longer than \(ctx.maxTextBytes) bytes"))
            }
            let text = String(unsafeUninitializedCapacity: total) { buffer in
                var at = 0
                for i in 0..<filled {
                    var piece = pieces[i]
                    piece.withUTF8 { utf8 in
                        if let src = utf8.baseAddress, !utf8.isEmpty {
                            (buffer.baseAddress! + at).initialize(from: src, count: utf8.count)
                        }
                        at += utf8.count
                    }
                }
                return at
            }
            return .success(text)
        }
        return try result.get()
    }
}
