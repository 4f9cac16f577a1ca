/// The object members a selective parse keeps: a tree of key names.
///
/// `JSONParser.parse(_:keeping:)` builds only the members on these paths and
/// checks everything else without building it. Arrays are looked through (the
/// elements of an array sit at the same place in the tree as the array), so
/// the path `["commits", "author", "name"]` keeps `commits[*].author.name`.
/// A scalar on a path is kept whole; an object is kept with only the members
/// the tree names below it (an empty object when it names none).
///
/// ```swift
/// let filter = JSONKeyFilter(paths: [["repository", "name"], ["action"]])
/// let pruned = try JSONParser.parse(bytes, keeping: filter)   // {"action":…,"repository":{"name":…}}
/// ```
public struct JSONKeyFilter: Sendable {
    let nodes: JSONKeyFilterNodes

    /// A filter keeping the given key paths (and nothing else).
    public init(paths: some Sequence<[String]>) {
        var children: [[(String, Int)]] = [[]]
        for path in paths {
            var node = 0
            for key in path {
                if let next = children[node].first(where: { $0.0 == key })?.1 {
                    node = next
                } else {
                    children.append([])
                    children[node].append((key, children.count - 1))
                    node = children.count - 1
                }
            }
        }
        nodes = JSONKeyFilterNodes(children)
    }

    /// The names the filter keeps at its root, in the order first given.
    public var keys: [String] { Array(nodes.names[nodes.childStart[nodes.root]..<nodes.childStart[nodes.root + 1]]) }

    /// The sub-filter below `key` of the root: what to keep of the value at `key`.
    public func child(_ key: String) -> JSONKeyFilter {
        JSONKeyFilter(nodes: nodes, root: nodes.child(of: nodes.root, named: key))
    }

    private init(nodes: JSONKeyFilterNodes, root: Int?) {
        self.nodes = root.map { JSONKeyFilterNodes(nodes, root: $0) } ?? JSONKeyFilterNodes([[]])
    }
}

/// Flat storage of a ``JSONKeyFilter``: children of a node are contiguous, names kept as bytes
/// so a key without escapes is compared in place, without building a `String`.
final class JSONKeyFilterNodes: Sendable {
    let root: Int
    let childStart: [Int]
    let names: [String]
    let nameStart: [Int]
    let nameBytes: [UInt8]
    let childNode: [Int]
    /// Whether some name is not ASCII. Such a name can equal an ASCII key under `String`'s
    /// canonical equivalence (U+212A KELVIN SIGN and "K"), which a byte comparison would miss.
    let hasNonASCIINames: Bool

    init(_ children: [[(String, Int)]]) {
        var childStart: [Int] = []
        var names: [String] = []
        var nameStart: [Int] = [0]
        var nameBytes: [UInt8] = []
        var childNode: [Int] = []
        for list in children {
            childStart.append(names.count)
            for (name, node) in list {
                names.append(name)
                nameBytes += Array(name.utf8)
                nameStart.append(nameBytes.count)
                childNode.append(node)
            }
        }
        childStart.append(names.count)
        self.root = 0
        hasNonASCIINames = nameBytes.contains { $0 >= 0x80 }
        self.childStart = childStart
        self.names = names
        self.nameStart = nameStart
        self.nameBytes = nameBytes
        self.childNode = childNode
    }

    /// The same storage seen from another root node.
    init(_ other: JSONKeyFilterNodes, root: Int) {
        self.root = root
        childStart = other.childStart
        names = other.names
        nameStart = other.nameStart
        nameBytes = other.nameBytes
        childNode = other.childNode
        hasNonASCIINames = other.hasNonASCIINames
    }

    func child(of node: Int, named key: String) -> Int? {
        for i in childStart[node]..<childStart[node + 1] where names[i] == key { return childNode[i] }
        return nil
    }

    /// The child of `node` whose name has exactly the bytes `key` (a key without escapes).
    @inline(__always)
    func child(of node: Int, bytes key: UnsafeRawBufferPointer) -> Int? {
        let lo = childStart[node], hi = childStart[node + 1]
        if lo == hi { return nil }
        return nameBytes.withUnsafeBytes { all in
            for i in lo..<hi {
                let s = nameStart[i], e = nameStart[i + 1]
                guard e - s == key.count else { continue }
                if key.count == 0 || JSONTape.bytesEqual(all.baseAddress! + s, key.baseAddress!, key.count) { return childNode[i] }
            }
            return nil
        }
    }
}
