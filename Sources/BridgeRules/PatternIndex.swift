public import BridgeCore
import Synchronization

/// Many compiled patterns in one index, matched together without looping over every rule.
///
/// Like aws/event-ruler, the index is organised by field path: a trie of the
/// paths the rule set references, and per path hash tables of exact values
/// (strings by bytes, numbers numerically), prefix and suffix tables probed in
/// one pass over a value, numeric intervals, and short lists for the rare
/// operators (wildcard, cidr, anything-but). Matching walks only the
/// referenced paths of the envelope, marks the satisfied table entries and conditions,
/// confirms only the alternatives whose most selective condition (the anchor)
/// was hit; `exists: false` conditions hold when their path had no value.
/// Candidates that could depend on array-consistent matching are confirmed
/// with ``Pattern/matches(_:)``.
///
/// The result always equals filtering the patterns with ``Pattern/matches(_:)``.
/// Matching is thread-safe; per-call scratch space comes from a small pool.
public struct PatternIndex: Sendable {
    let storage: PatternIndexStorage
    let pool: ScratchPool

    /// Builds the index. Pattern `i` belongs to rule `i`.
    public init(_ patterns: [Pattern]) {
        storage = PatternIndexStorage(patterns)
        pool = ScratchPool()
    }

    /// The number of patterns indexed.
    public var count: Int { storage.patterns.count }

    /// Indices (ascending) of the patterns that match `envelope`. Equals filtering by ``Pattern/matches(_:)``.
    public func matches(_ envelope: JSONValue) -> [Int] {
        var result: [Int] = []
        matches(envelope, into: &result)
        return result
    }

    /// Allocation-free variant appending into a reused buffer (cleared first).
    public func matches(_ envelope: JSONValue, into result: inout [Int]) {
        result.removeAll(keepingCapacity: true)
        let scratch = pool.take(for: storage)
        storage.match(envelope, scratch, into: &result)
        pool.give(scratch)
    }
}

/// Reusable per-call marks, so matching allocates nothing once warm.
///
/// `@unchecked Sendable`: a scratch is used by one caller at a time; ``ScratchPool``'s
/// mutex hands it out and takes it back.
final class PatternScratch: @unchecked Sendable {
    var epoch: UInt32 = 0
    var condMark: [UInt32]
    var entryMark: [UInt32]
    var disjMark: [UInt32]
    var patternMark: [UInt32]
    var pathMark: [UInt32]
    var candidates: [Int32] = []
    var sawObjectArray = false

    init(_ storage: PatternIndexStorage) {
        condMark = [UInt32](repeating: 0, count: storage.conditionCount)
        entryMark = [UInt32](repeating: 0, count: storage.entryCount)
        disjMark = [UInt32](repeating: 0, count: storage.disjunctCount)
        patternMark = [UInt32](repeating: 0, count: storage.patterns.count)
        pathMark = [UInt32](repeating: 0, count: storage.paths.count)
        candidates.reserveCapacity(64)
    }

    /// Starts a new call: a fresh epoch invalidates every mark at once.
    func begin() {
        if epoch == UInt32.max {
            epoch = 0
            for i in condMark.indices { condMark[i] = 0 }
            for i in entryMark.indices { entryMark[i] = 0 }
            for i in disjMark.indices { disjMark[i] = 0 }
            for i in patternMark.indices { patternMark[i] = 0 }
            for i in pathMark.indices { pathMark[i] = 0 }
        }
        epoch += 1
        candidates.removeAll(keepingCapacity: true)
        sawObjectArray = false
    }
}

/// A few scratch objects shared by concurrent callers of one index.
final class ScratchPool: Sendable {
    private let free = Mutex<[PatternScratch]>([])

    func take(for storage: PatternIndexStorage) -> PatternScratch {
        if let s = free.withLock({ $0.popLast() }) { return s }
        return PatternScratch(storage)
    }

    func give(_ scratch: PatternScratch) {
        free.withLock { if $0.count < 16 { $0.append(scratch) } }
    }
}
