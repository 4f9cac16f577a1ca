import Foundation

/// The rule files of a rules folder, as both the loader and the reload watcher see them.
///
/// A folder mounted from a Kubernetes ConfigMap holds the data in a hidden timestamped folder
/// (`..2026_12_04_11_00_00.123/github.yaml`), a `..data` symlink to it, and `github.yaml ->
/// ..data/github.yaml` at the top; an update swaps `..data` atomically. So names that start with
/// a dot (files and folders) are skipped, symlinks are followed (to files and to folders), and a
/// file reached twice is listed once.
public enum RuleFiles {
    /// One rule file: the path under the rules folder (used in diagnostics) and what it resolves to.
    public struct Entry: Sendable, Equatable {
        /// The path as reached from the folder, e.g. `rules/github.yaml`.
        public let path: String
        /// The file behind every symlink, e.g. `rules/..2026_…/github.yaml`.
        public let resolved: String
        public let size: Int64
        /// Modification time in nanoseconds since the epoch.
        public let modified: Int64
    }

    /// The `*.yaml` and `*.yml` files under `directory`, sorted by path.
    public static func list(in directory: String) -> [Entry] {
        var out: [Entry] = []
        var seenFiles: Set<String> = []
        var seenFolders: Set<String> = [canonical(directory)]
        walk(directory, depth: 0, into: &out, seenFiles: &seenFiles, seenFolders: &seenFolders)
        return out.sorted { $0.path < $1.path }
    }

    /// A text that changes when a rule file is added, removed, edited, or swapped behind a symlink.
    public static func fingerprint(of directory: String) -> String {
        list(in: directory).map { "\($0.path)>\($0.resolved):\($0.size):\($0.modified)" }.joined(separator: "|")
    }

    static let maxDepth = 16

    static func walk(_ folder: String, depth: Int, into out: inout [Entry], seenFiles: inout Set<String>, seenFolders: inout Set<String>) {
        guard depth < maxDepth, let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = (folder as NSString).appendingPathComponent(name)
            var st = stat()
            guard stat(path, &st) == 0 else { continue }  // a dangling symlink: nothing to load
            let real = canonical(path)
            if (st.st_mode & S_IFMT) == S_IFDIR {
                guard seenFolders.insert(real).inserted else { continue }  // a symlink loop or a second way in
                walk(path, depth: depth + 1, into: &out, seenFiles: &seenFiles, seenFolders: &seenFolders)
            } else if name.hasSuffix(".yaml") || name.hasSuffix(".yml"), seenFiles.insert(real).inserted {
                let modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
                out.append(Entry(path: path, resolved: real, size: Int64(st.st_size), modified: modified))
            }
        }
    }

    static func canonical(_ path: String) -> String {
        guard let r = realpath(path, nil) else { return path }
        defer { free(r) }
        return String(cString: r)
    }
}
