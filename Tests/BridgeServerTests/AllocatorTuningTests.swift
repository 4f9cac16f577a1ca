@testable import BridgeServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("glibc malloc tuning for serve")
struct AllocatorTuningTests {
    #if canImport(Glibc)
    /// Whether glibc gave the block at `p` a mapping of its own: the chunk's size word, just before the
    /// pointer, has bit 1 (`IS_MMAPPED`) set. Read per block, so other tests allocating at the same time
    /// cannot change the answer.
    static func isMapped(_ p: UnsafeMutableRawPointer) -> Bool {
        p.load(fromByteOffset: -MemoryLayout<Int>.size, as: Int.self) & 0x2 != 0
    }

    @Test("a freed large block does not raise the threshold: the next one is mapped and unmapped again")
    func largeBlocksStayMapped() throws {
        #expect(AllocatorTuning.apply(environment: [:]) == .fixed(bytes: AllocatorTuning.mmapThreshold))
        // Give back the free space at the top of the arenas, which serves a request before a mapping
        // would (earlier tests in this process may have left some). 24 MiB: above anything the other
        // tests free, below glibc's 32 MiB ceiling for the dynamic threshold.
        let trim = try #require(AllocatorTuning.glibc("malloc_trim", as: (@convention(c) (Int) -> Int32).self))
        _ = trim(0)
        let small = try #require(malloc(16 * 1024))
        defer { free(small) }
        #expect(!Self.isMapped(small))
        // glibc's default: freeing the first mapped block raises the threshold to its size, and the next
        // one comes from an arena, which keeps it when freed. Held fixed, every one is mapped.
        for _ in 0..<3 {
            let block = try #require(malloc(24 << 20))
            #expect(Self.isMapped(block))
            free(block)
        }
    }
    #endif

    @Test("an operator's own setting in the environment is left alone")
    func environmentWins() {
        #expect(AllocatorTuning.apply(environment: ["MALLOC_MMAP_THRESHOLD_": "65536"]) == .environment)
        #expect(AllocatorTuning.apply(environment: ["GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"]) == .environment)
    }
}
