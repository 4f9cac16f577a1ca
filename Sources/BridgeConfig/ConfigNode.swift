public import BridgeCore

/// A YAML node with its position and key path, decoupled from the YAML library.
///
/// Every configuration reader in dagbridge walks these so its diagnostics can
/// say `file:line:col` and the key path. Plain (unquoted) scalars resolve to
/// null/bool/int/float by the YAML 1.2 core schema in ``json``; quoted scalars
/// are always strings.
public struct ConfigNode: Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// A scalar and whether it was written without quotes.
        case scalar(String, plain: Bool)
        case mapping([(key: ConfigNode, value: ConfigNode)])
        case sequence([ConfigNode])
    }

    public var kind: Kind
    public var location: SourceLocation
    /// Key path from the document root, e.g. `rules[0].trigger.conf`.
    public var path: String

    public init(kind: Kind, location: SourceLocation, path: String) {
        self.kind = kind
        self.location = location
        self.path = path
    }

    public var description: String { "\(location) \(path)" }

    // MARK: Shape

    /// The scalar text, if this is a scalar.
    public var scalar: String? {
        if case .scalar(let s, _) = kind { return s }
        return nil
    }

    /// The mapping's pairs, if this is a mapping.
    public var mapping: [(key: ConfigNode, value: ConfigNode)]? {
        if case .mapping(let m) = kind { return m }
        return nil
    }

    /// The sequence's items, if this is a sequence.
    public var sequence: [ConfigNode]? {
        if case .sequence(let s) = kind { return s }
        return nil
    }

    /// The value under `key` in a mapping.
    public subscript(key: String) -> ConfigNode? {
        mapping?.first { $0.key.scalar == key }?.value
    }

    /// The keys of a mapping, in order.
    public var keys: [String] { mapping?.compactMap { $0.key.scalar } ?? [] }

    /// What kind of YAML node this is, for messages.
    public var shapeName: String {
        switch kind {
        case .scalar(let s, let plain):
            if plain {
                switch json {
                case .null: return "null"
                case .bool: return "boolean"
                case .int, .double: return "number"
                default: return s.isEmpty ? "empty value" : "string"
                }
            }
            return "string"
        case .mapping: return "mapping"
        case .sequence: return "list"
        }
    }

    /// `true` for a plain `null`, `~` or empty scalar.
    public var isNull: Bool {
        if case .scalar(let s, true) = kind { return s.isEmpty || s == "null" || s == "Null" || s == "NULL" || s == "~" }
        return false
    }

    // MARK: Typed reads

    /// The node as JSON: scalars typed by the core schema, mappings as ordered objects.
    public var json: JSONValue {
        switch kind {
        case .scalar(let s, let plain):
            guard plain else { return .string(s) }
            return ConfigNode.resolvePlain(s)
        case .sequence(let items):
            return .array(items.map(\.json))
        case .mapping(let pairs):
            var o = JSONObject()
            for (k, v) in pairs { o[k.scalar ?? ""] = v.json }
            return .object(o)
        }
    }

    /// YAML 1.2 core schema resolution of a plain scalar.
    public static func resolvePlain(_ s: String) -> JSONValue {
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let first = s.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
        {
            if let i = Int64(s) { return .int(i) }
            if s.hasPrefix("0x"), let i = Int64(s.dropFirst(2), radix: 16) { return .int(i) }
            if s.hasPrefix("0o"), let i = Int64(s.dropFirst(2), radix: 8) { return .int(i) }
            if let d = Double(s), d.isFinite, s.utf8.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "_") }),
                !s.lowercased().contains("inf"), !s.lowercased().contains("nan")
            {
                return .double(d)
            }
        }
        return .string(s)
    }

    /// A string value; records an error when the node is not a scalar.
    public func string(_ diags: inout Diagnostics) -> String? {
        if case .scalar(let s, _) = kind { return s }
        diags.error("expected a string, found a \(shapeName)", at: self)
        return nil
    }

    /// An integer value within `range`; records an error otherwise.
    public func int(_ diags: inout Diagnostics, in range: ClosedRange<Int> = Int.min...Int.max) -> Int? {
        guard case .scalar(let s, _) = kind, let v = Int(s.trimmingSpaces) else {
            diags.error("expected a whole number, found \(describeValue)", at: self)
            return nil
        }
        guard range.contains(v) else {
            diags.error("\(v) is out of range \(range.lowerBound)...\(range.upperBound)", at: self)
            return nil
        }
        return v
    }

    /// A number value; records an error otherwise.
    public func double(_ diags: inout Diagnostics) -> Double? {
        guard case .scalar(let s, _) = kind, let v = Double(s.trimmingSpaces), v.isFinite else {
            diags.error("expected a number, found \(describeValue)", at: self)
            return nil
        }
        return v
    }

    /// A boolean (`true`/`false`); records an error otherwise.
    public func bool(_ diags: inout Diagnostics) -> Bool? {
        if case .scalar(_, true) = kind, case .bool(let b) = json { return b }
        diags.error("expected true or false, found \(describeValue)", at: self)
        return nil
    }

    /// A duration (`30s`, `5m`, `1h30m`, `250ms`, or seconds) in seconds; records an error otherwise.
    public func duration(_ diags: inout Diagnostics) -> Double? {
        if case .scalar(let s, _) = kind, let v = DurationText.seconds(s) { return v }
        diags.error("expected a duration like 30s, 5m, 24h or 7d, found \(describeValue)", at: self)
        return nil
    }

    /// A list of strings; a single scalar is accepted as a one-item list.
    public func stringList(_ diags: inout Diagnostics) -> [String]? {
        switch kind {
        case .scalar(let s, _): return [s]
        case .sequence(let items):
            var out: [String] = []
            for item in items {
                guard let s = item.string(&diags) else { return nil }
                out.append(s)
            }
            return out
        case .mapping:
            diags.error("expected a list of strings, found a mapping", at: self)
            return nil
        }
    }

    /// The value for messages: a scalar's text in quotes, or the node's shape.
    public var describeValue: String {
        if case .scalar(let s, _) = kind { return "'\(s)'" }
        return "a \(shapeName)"
    }

    /// Records an error for every key not in `allowed`, with a did-you-mean suggestion.
    /// Returns `false` if this node is not a mapping (also recorded).
    @discardableResult
    public func checkKeys(_ allowed: [String], _ diags: inout Diagnostics, what: String = "key") -> Bool {
        guard let pairs = mapping else {
            diags.error("expected a mapping, found \(describeValue)", at: self)
            return false
        }
        for (k, _) in pairs {
            let name = k.scalar ?? ""
            if !allowed.contains(name) {
                var msg = "unknown \(what) '\(name)'"
                if let s = didYouMean(name, allowed) { msg += "; did you mean '\(s)'?" }
                msg += " (allowed: \(allowed.joined(separator: ", ")))"
                diags.error(msg, at: k)
            }
        }
        return true
    }
}

extension ConfigNode {
    /// A byte size (`1MiB`, `512KiB`, `10MB`, `2048`) in bytes; records an error otherwise.
    public func byteSize(_ diags: inout Diagnostics) -> Int? {
        if case .scalar(let s, _) = kind, let v = ByteSize.parse(s) { return v }
        diags.error("expected a size like 1MiB, 512KiB or 1048576, found \(describeValue)", at: self)
        return nil
    }
}

/// Byte sizes in configuration.
public enum ByteSize {
    /// Parses `123`, `64KiB`, `1MiB`, `1GiB`, `10KB`, `5MB` (KB/MB are powers of 1000).
    public static func parse(_ text: String) -> Int? {
        let t = text.trimmingSpaces
        let digits = t.prefix { $0.isNumber }
        guard !digits.isEmpty, let n = Int(digits) else { return nil }
        let unit = t.dropFirst(digits.count).trimmingSpaces.lowercased()
        let mult: Int
        switch unit {
        case "", "b": mult = 1
        case "k", "kb": mult = 1000
        case "kib": mult = 1024
        case "m", "mb": mult = 1_000_000
        case "mib": mult = 1024 * 1024
        case "g", "gb": mult = 1_000_000_000
        case "gib": mult = 1024 * 1024 * 1024
        default: return nil
        }
        let (v, overflow) = n.multipliedReportingOverflow(by: mult)
        return overflow ? nil : v
    }
}
