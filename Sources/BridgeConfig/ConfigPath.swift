import Foundation

/// Paths written in a config file (`store.path`, `rules.path`, TLS files) are taken from the file's folder.
public enum ConfigPath {
    /// `path` as seen from the folder of `configFile`; an absolute path, or a config file without a
    /// folder, leaves it as written.
    public static func resolve(_ path: String, relativeTo configFile: String) -> String {
        let base = (configFile as NSString).deletingLastPathComponent
        return path.hasPrefix("/") || base.isEmpty ? path : (base as NSString).appendingPathComponent(path)
    }
}
