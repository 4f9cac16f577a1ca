#if canImport(Glibc)
import Glibc
#endif

/// glibc malloc settings for a long-running `serve`: large blocks get a mapping of their own and go back
/// to the system when freed.
///
/// glibc serves a block of 128 KiB or more from its own `mmap` and unmaps it on `free`, but the first time
/// such a block is freed it raises that threshold to the block's size (up to 32 MiB), and the trim
/// threshold to twice that. From then on every body of up to that size (a 1 MiB `max_body` webhook, its
/// copy, a parsed tree's larger arrays) is carved out of a malloc arena, and freed arena memory is kept
/// for reuse. The soak (`scripts/soak.sh`) shows it: RSS wandered between 67 and 83 MB under hostile
/// traffic with the default, and stayed within 63.2–63.9 MB with the threshold held at 128 KiB
/// (`MALLOC_ARENA_MAX=2` made no difference of its own). Blocks that large are rare in normal traffic,
/// and parsing a 1 MiB body was no slower (a mapping costs page faults, an arena block was moved
/// by `realloc` as it grew).
///
/// ``apply(environment:)`` sets `M_MMAP_THRESHOLD` (which also stops the dynamic adjustment of the trim
/// threshold) unless the environment already tunes it (`MALLOC_MMAP_THRESHOLD_`, or
/// `glibc.malloc.mmap_threshold` in `GLIBC_TUNABLES`): an operator's setting wins.
public enum AllocatorTuning {
    /// Blocks of this size or more get a mapping of their own: glibc's own starting value, held fixed.
    public static let mmapThreshold = 128 * 1024

    /// What ``apply(environment:)`` did.
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// `M_MMAP_THRESHOLD` is now this many bytes, and no longer adjusted by glibc.
        case fixed(bytes: Int)
        /// The environment tunes the threshold; left as it says.
        case environment
        /// Not glibc, or glibc refused the setting.
        case unchanged

        /// One word for the start-up log line: `mmap-threshold-131072`, `environment` or `default`.
        public var description: String {
            switch self {
            case .fixed(let bytes): "mmap-threshold-\(bytes)"
            case .environment: "environment"
            case .unchanged: "default"
            }
        }
    }

    /// Holds glibc's mmap threshold at ``mmapThreshold``; call once, early in `serve`.
    /// - Parameter environment: the process environment (where an operator's own setting is looked for).
    @discardableResult
    public static func apply(environment: [String: String]) -> Outcome {
        if environment["MALLOC_MMAP_THRESHOLD_"] != nil || (environment["GLIBC_TUNABLES"] ?? "").contains("glibc.malloc.mmap_threshold") {
            return .environment
        }
        guard let mallopt = glibc("mallopt", as: (@convention(c) (Int32, Int32) -> Int32).self) else { return .unchanged }
        return mallopt(mMmapThreshold, Int32(mmapThreshold)) == 1 ? .fixed(bytes: mmapThreshold) : .unchanged
    }

    /// `M_MMAP_THRESHOLD` in glibc's `<malloc.h>`.
    static let mMmapThreshold: Int32 = -3

    /// A glibc function that Swift's `Glibc` module does not declare (it leaves out `<malloc.h>`), looked
    /// up by name; `nil` elsewhere.
    static func glibc<Function>(_ name: String, as type: Function.Type) -> Function? {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, name) else { return nil }  // nil: RTLD_DEFAULT, libc included
        return unsafeBitCast(symbol, to: type)
        #else
        return nil
        #endif
    }
}
