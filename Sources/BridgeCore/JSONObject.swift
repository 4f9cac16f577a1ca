/// A JSON object that keeps its keys in insertion order.
///
/// Order matters to people reading a rendered `conf` or an envelope, so it is
/// kept. Lookup is linear for small objects (the common case for webhook
/// bodies) and goes through a hash index once an object grows past 16 keys.
public struct JSONObject: Sendable, Equatable {
    public private(set) var keys: [String]
    public private(set) var values: [JSONValue]
    private var index: [String: Int]?

    /// An empty object.
    public init() {
        keys = []
        values = []
    }

    /// An object from key/value pairs; a later duplicate key replaces the earlier value.
    public init(_ pairs: some Sequence<(String, JSONValue)>) {
        self.init()
        for (k, v) in pairs { self[k] = v }
    }

    /// The number of members.
    public var count: Int { keys.count }

    /// `true` when the object has no members.
    public var isEmpty: Bool { keys.isEmpty }

    /// The members in order.
    public var members: Zip2Sequence<[String], [JSONValue]> { zip(keys, values) }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return keys.firstIndex(of: key)
    }

    /// The value for `key`; assigning `nil` removes the member.
    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { values[$0] } }
        set {
            if let i = position(of: key) {
                if let newValue {
                    values[i] = newValue
                } else {
                    keys.remove(at: i)
                    values.remove(at: i)
                    rebuildIndex()
                }
            } else if let newValue {
                keys.append(key)
                values.append(newValue)
                if index != nil {
                    index![key] = keys.count - 1
                } else if keys.count > 16 {
                    rebuildIndex()
                }
            }
        }
    }

    /// An object from keys that are known to be distinct (parser fast path), values in the same order.
    internal init(uncheckedKeys keys: [String], values: [JSONValue]) {
        self.keys = keys
        self.values = values
        if keys.count > 16 { rebuildIndex() }
    }

    /// Appends a member without checking for duplicates (parser fast path).
    /// A duplicate key keeps the last value, as JSON parsers conventionally do.
    internal mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        if keys.count < 16, index == nil, !keys.contains(key) {
            keys.append(key)
            values.append(value)
        } else {
            self[key] = value
        }
    }

    private mutating func rebuildIndex() {
        guard keys.count > 16 else {
            index = nil
            return
        }
        var idx = [String: Int](minimumCapacity: keys.count)
        for (i, k) in keys.enumerated() { idx[k] = i }
        index = idx
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (k, v) in lhs.members where rhs[k] != v { return false }
        return true
    }
}

extension JSONObject {
    /// An object from keys already known to be distinct, and their values, in order.
    ///
    /// For builders that checked the keys once (compiled templates render the
    /// same keys every time): no per-key duplicate search.
    /// - Precondition: `keys.count == values.count` and no key repeats.
    public init(uniqueKeys keys: [String], values: [JSONValue]) {
        precondition(keys.count == values.count, "JSONObject(uniqueKeys:values:) needs one value per key")
        self.keys = keys
        self.values = values
        index = nil
        rebuildIndex()
    }
}
