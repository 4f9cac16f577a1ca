public import BridgeConfig
import BridgeCore

extension StoreConfig {
    /// Reads the `store:` section; a missing section (nil) gives the defaults.
    ///
    /// Every problem is recorded in `diagnostics` (unknown keys with a did-you-mean suggestion,
    /// bad values with what is expected); returns `nil` when there was any.
    public static func parse(_ node: ConfigNode?, diagnostics: inout Diagnostics) -> StoreConfig? {
        var config = StoreConfig()
        guard let node, !node.isNull else { return config }
        guard node.mapping != nil else {
            diagnostics.error("expected a mapping, found \(node.describeValue)", at: node)
            return nil
        }
        let before = diagnostics.items.count
        var section = ConfigSection(node)
        if let n = section["path"], let s = n.string(&diagnostics) {
            if s.trimmingSpaces.isEmpty {
                diagnostics.error("store path must not be empty", at: n)
            } else {
                config.path = s
            }
        }
        if let n = section["durability"], let s = n.string(&diagnostics) {
            if let d = Durability(rawValue: s.lowercased()) {
                config.durability = d
            } else {
                diagnostics.error("durability must be 'full' or 'normal', found '\(s)'", at: n)
            }
        }
        if let n = section["retention"], let d = n.duration(&diagnostics) {
            if d <= 0 { diagnostics.error("retention must be longer than 0s", at: n) } else { config.retention = d }
        }
        if let n = section["busy_timeout"], let d = n.duration(&diagnostics) { config.busyTimeout = d }
        if let n = section["high_water"], let v = n.int(&diagnostics, in: 1...Int(Int32.max)) { config.highWater = v }
        if let n = section["low_water"], let v = n.int(&diagnostics, in: 0...Int(Int32.max)) { config.lowWater = v }
        section.reportUnknown(&diagnostics)
        if config.lowWater > config.highWater {
            diagnostics.error(
                "low_water (\(config.lowWater)) must not be above high_water (\(config.highWater))",
                at: node["low_water"] ?? node)
        }
        return diagnostics.items.count == before ? config : nil
    }
}
