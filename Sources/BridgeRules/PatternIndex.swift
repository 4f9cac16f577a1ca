public import BridgeCore
import Synchronization

/// Many compiled patterns in one index, matched together without looping over every rule.
///
/// Like aws/event-ruler, the index is organised by field path: a trie of the
/// paths the rule set references and, per path, hash tables of exact values
/// (strings by bytes, numbers numerically), prefix and suffix tables probed in
/// one pass over a value, numeric intervals, and short lists for the rare
/// operators (wildcard, cidr, anything-but).
///
/// Each `$or` alternative of each pattern is *anchored* on its most selective
/// condition (the table key shared by the fewest rules). Matching walks only
/// the referenced paths of the envelope, marks the table entries its values
/// hit (one mark per distinct key, however many rules share it), and turns the
/// anchors among them into candidates. A candidate is confirmed by the marks of
/// its other conditions; rare operators that are not anchors are evaluated
/// only then, and `exists: false` holds when the path had no value. When two
/// conditions of a candidate were met through arrays of objects, or an
/// `exists: false` field has values only there, the reference walk decides
/// (array-consistent matching).
///
/// The result always equals filtering the patterns with ``Pattern/matches(_:)``
/// (a seeded randomized test checks this). Matching is thread-safe; per-call
/// scratch space comes from a small pool, so the `into:` variant allocates
/// nothing once warm.
///
/// ```swift
/// let index = PatternIndex(rules.map(\.pattern))
/// var hits: [Int] = []
/// index.matches(event.envelope, into: &hits)   // rule numbers, ascending
/// ```
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

    /// Indices (ascending) of the patterns that match the envelope held in `tape`.
    /// Equals ``matches(_:)`` on `tape.value()`, but reads the tape's plain entries instead of a value
    /// tree: build the tape once per event (``JSONTape/init(_:)`` or from raw bytes) and match it here.
    public func matches(_ tape: JSONTape) -> [Int] {
        var result: [Int] = []
        matches(tape, into: &result)
        return result
    }

    /// Allocation-free variant appending into a reused buffer (cleared first).
    public func matches(_ tape: JSONTape, into result: inout [Int]) {
        result.removeAll(keepingCapacity: true)
        let scratch = pool.take(for: storage)
        storage.match(tape: tape, scratch, into: &result)
        pool.give(scratch)
    }
}

/// Reusable per-call marks, so matching allocates nothing once warm.
///
/// Marks are epoch-stamped: a mark is set when it equals the current epoch, so a
/// new call invalidates all of them by incrementing the epoch. The storage is
/// raw memory held in `let` pointers, which keeps the hot loop free of
/// exclusivity checks and reference counting.
///
/// `@unchecked Sendable`: a scratch is used by one caller at a time; ``ScratchPool``'s
/// mutex hands it out and takes it back.
final class PatternScratch: @unchecked Sendable {
    let condMark: UnsafeMutablePointer<UInt32>
    let entryMark: UnsafeMutablePointer<UInt32>
    let disjMark: UnsafeMutablePointer<UInt32>
    let patternMark: UnsafeMutablePointer<UInt32>
    let pathMark: UnsafeMutablePointer<UInt32>
    /// Paths that had a value reached through an array holding objects (array consistency may matter).
    let pathArrayMark: UnsafeMutablePointer<UInt32>
    /// Candidate alternatives of this call; at most one per alternative.
    let candidates: UnsafeMutablePointer<Int32>
    /// `[0]` epoch, `[1]` number of candidates.
    let header: UnsafeMutablePointer<Int>
    /// Per entry of the ``JSONTape`` being matched: its trie node, whether it sits in an array of
    /// objects, and the positions of the entries on a pattern path; grown to the largest tape seen.
    private(set) var tapeNode: UnsafeMutablePointer<Int32>
    private(set) var tapeUnder: UnsafeMutablePointer<Bool>
    private(set) var tapeHits: UnsafeMutablePointer<Int32>
    private var tapeCapacity = 0
    /// The tape a raw body is read into, kept for its storage.
    var tape = JSONTape()
    private let sizes: [Int]

    init(_ storage: PatternIndexStorage) {
        sizes = [storage.conditionCount, storage.entryCount, storage.disjunctCount, storage.patterns.count, storage.paths.count, storage.paths.count]
        func zeroed(_ n: Int) -> UnsafeMutablePointer<UInt32> {
            let p = UnsafeMutablePointer<UInt32>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        condMark = zeroed(sizes[0])
        entryMark = zeroed(sizes[1])
        disjMark = zeroed(sizes[2])
        patternMark = zeroed(sizes[3])
        pathMark = zeroed(sizes[4])
        pathArrayMark = zeroed(sizes[5])
        candidates = .allocate(capacity: max(storage.disjunctCount, 1))
        header = .allocate(capacity: 2)
        header.initialize(repeating: 0, count: 2)
        tapeNode = .allocate(capacity: 1)
        tapeUnder = .allocate(capacity: 1)
        tapeHits = .allocate(capacity: 1)
    }

    /// Makes the per-entry tape arrays hold at least `n` entries.
    @inline(__always)
    func reserveTape(_ n: Int) {
        if n <= tapeCapacity { return }
        let capacity = max(n, 2 * tapeCapacity, 64)
        tapeNode.deallocate()
        tapeUnder.deallocate()
        tapeHits.deallocate()
        tapeNode = .allocate(capacity: capacity)
        tapeUnder = .allocate(capacity: capacity)
        tapeHits = .allocate(capacity: capacity)
        tapeCapacity = capacity
    }

    deinit {
        for p in [condMark, entryMark, disjMark, patternMark, pathMark, pathArrayMark] { p.deallocate() }
        candidates.deallocate()
        header.deallocate()
        tapeNode.deallocate()
        tapeUnder.deallocate()
        tapeHits.deallocate()
    }

    @inline(__always) var epoch: UInt32 { UInt32(truncatingIfNeeded: header[0]) }
    @inline(__always) var candidateCount: Int { header[1] }

    /// Starts a new call: a fresh epoch invalidates every mark at once.
    func begin() {
        if header[0] == Int(UInt32.max) {
            header[0] = 0
            for (p, n) in zip([condMark, entryMark, disjMark, patternMark, pathMark, pathArrayMark], sizes) {
                p.update(repeating: 0, count: max(n, 1))
            }
        }
        header[0] += 1
        header[1] = 0
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
