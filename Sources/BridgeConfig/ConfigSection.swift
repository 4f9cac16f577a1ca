/// A mapping read key by key: every key a parser asks for is known, whether the file has it or
/// not, and ``reportUnknown(_:what:)`` reports the keys nobody asked for, with a did-you-mean.
///
/// Several parsers can read one section (a target's connection keys belong to the Airflow
/// client, its `retry:` and limits to the dispatcher), so each key is named once, by its reader.
///
/// ```swift
/// var section = ConfigSection(node)
/// let url = section["url"]?.string(&diags)
/// DispatchPolicy.parse(&section, &diags)
/// section.reportUnknown(&diags)
/// ```
public struct ConfigSection: Sendable {
    /// The mapping node.
    public let node: ConfigNode
    /// Keys asked for so far, in the order asked.
    public private(set) var known: [String] = []

    /// Wraps a mapping node; a node that is not a mapping reads as empty (``reportUnknown(_:what:)`` says so).
    public init(_ node: ConfigNode) { self.node = node }

    /// The value at `key`, and `key` is now known.
    public subscript(key: String) -> ConfigNode? {
        mutating get {
            if !known.contains(key) { known.append(key) }
            return node[key]
        }
    }

    /// Records an error for every key nobody asked for, with a did-you-mean among the known keys.
    /// - Returns: `false` when the node is not a mapping (also recorded) or had unknown keys.
    @discardableResult
    public func reportUnknown(_ diags: inout Diagnostics, what: String = "key") -> Bool {
        node.checkKeys(known, &diags, what: what) && node.keys.allSatisfy(known.contains)
    }
}
