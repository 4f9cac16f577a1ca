import BridgeCore

/// An immutable hash table from byte strings to lists of condition ids.
///
/// Used per field path for exact strings, prefixes and suffixes. Keys are
/// hashed with 64-bit FNV-1a, which can be computed incrementally: one pass
/// over a value's bytes yields the hash of every prefix, so all prefix lengths
/// in use are probed without building substrings. Suffix tables hash the bytes
/// from the end. Comparison is by bytes, like EventBridge (no Unicode normalisation).
/// A class, so the matcher passes a table by reference instead of copying its ten fields.
final class PatternByteTable: Sendable {
    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325
    @inline(__always) static func step(_ h: UInt64, _ b: UInt8) -> UInt64 { (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }

    private let slotHash: [UInt64]
    private let slotEntry: [Int32]
    private let mask: Int
    private let keyBytes: [UInt8]
    private let keyStart: [Int32]
    private let condStart: [Int32]
    private let condList: [Int32]
    /// `lengthUsed[n]` is true when some key has `n` bytes.
    let lengthUsed: [Bool]
    /// The key lengths in use, ascending.
    let lengths: [Int]
    /// The longest key, or -1 when empty.
    let maxLength: Int
    /// Whether the table has no keys.
    var isEmpty: Bool { maxLength < 0 }

    /// Builds from keys (already in the byte order they are compared in) and their condition ids.
    /// - Parameter reversed: hash keys from their last byte (suffix tables).
    init(_ entries: [[UInt8]: [Int32]], reversed: Bool) {
        let keys = entries.keys.sorted { $0.lexicographicallyPrecedes($1) }
        var capacity = 4
        while capacity < keys.count * 2 { capacity *= 2 }
        var slotHash = [UInt64](repeating: 0, count: capacity)
        var slotEntry = [Int32](repeating: -1, count: capacity)
        var keyBytes: [UInt8] = []
        var keyStart: [Int32] = [0]
        var condStart: [Int32] = [0]
        var condList: [Int32] = []
        var maxLength = -1
        for (i, key) in keys.enumerated() {
            keyBytes += key
            keyStart.append(Int32(keyBytes.count))
            condList += entries[key]!
            condStart.append(Int32(condList.count))
            maxLength = max(maxLength, key.count)
            var h = PatternByteTable.seed
            if reversed { for b in key.reversed() { h = PatternByteTable.step(h, b) } } else { for b in key { h = PatternByteTable.step(h, b) } }
            var slot = Int(truncatingIfNeeded: PatternByteTable.mix(h)) & (capacity - 1)
            while slotEntry[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
            slotHash[slot] = h
            slotEntry[slot] = Int32(i)
        }
        var lengthUsed = [Bool](repeating: false, count: maxLength + 1)
        for key in keys { lengthUsed[key.count] = true }
        self.slotHash = slotHash
        self.slotEntry = slotEntry
        self.mask = capacity - 1
        self.keyBytes = keyBytes
        self.keyStart = keyStart
        self.condStart = condStart
        self.condList = condList
        self.lengthUsed = lengthUsed
        lengths = lengthUsed.indices.filter { lengthUsed[$0] }
        self.maxLength = maxLength
    }

    @inline(__always) static func mix(_ h: UInt64) -> UInt64 { h ^ (h >> 29) ^ (h >> 47) }

    /// Calls `body` with each condition id of every key that `buf` starts with, shortest first, and
    /// returns the hash of the first `consumed` bytes (the longest length in use that fits), for a
    /// caller that goes on hashing the whole value.
    @inline(__always) @discardableResult
    func forEachPrefix(of buf: UnsafeBufferPointer<UInt8>, _ body: (Int32) -> Void) -> (hash: UInt64, consumed: Int) {
        let n = buf.count
        var h = PatternByteTable.seed
        var i = 0
        for length in lengths {
            if length > n { break }
            while i < length {
                h = PatternByteTable.step(h, buf[i])
                i &+= 1
            }
            lookup(hash: h, bytes: buf, from: 0, to: length, body)
        }
        return (h, i)
    }

    /// Calls `body` with each condition id of every key that `buf` ends with, shortest first (keys
    /// of a table built `reversed`).
    @inline(__always)
    func forEachSuffix(of buf: UnsafeBufferPointer<UInt8>, _ body: (Int32) -> Void) {
        let n = buf.count
        var h = PatternByteTable.seed
        var i = 0
        for length in lengths {
            if length > n { break }
            while i < length {
                h = PatternByteTable.step(h, buf[n &- 1 &- i])
                i &+= 1
            }
            lookup(hash: h, bytes: buf, from: n &- length, to: n, body)
        }
    }

    /// Calls `body` with each condition id of the key whose hash is `h` and whose bytes equal `bytes[from..<to]`.
    @inline(__always)
    func lookup(hash h: UInt64, bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int, _ body: (Int32) -> Void) {
        var slot = Int(truncatingIfNeeded: PatternByteTable.mix(h)) & mask
        while true {
            let e = Int(slotEntry[slot])
            if e < 0 { return }
            if slotHash[slot] == h {
                let ks = Int(keyStart[e]), ke = Int(keyStart[e + 1])
                if ke - ks == to - from, equal(ks, bytes, from, to - from) {
                    for k in Int(condStart[e])..<Int(condStart[e + 1]) { body(condList[k]) }
                    return
                }
            }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    private func equal(_ ks: Int, _ bytes: UnsafeBufferPointer<UInt8>, _ from: Int, _ count: Int) -> Bool {
        count == 0 || keyBytes.withUnsafeBufferPointer { kb in JSONTape.bytesEqual(kb.baseAddress! + ks, bytes.baseAddress! + from, count) }
    }
}
