/// Parses human durations from configuration: `250ms`, `30s`, `5m`, `24h`, `7d`,
/// combinations like `1h30m`, or a bare number of seconds.
public enum DurationText {
    /// The duration in seconds, or `nil` when `text` is not a duration.
    public static func seconds(_ text: String) -> Double? {
        let t = text.trimmingSpaces
        if t.isEmpty { return nil }
        if let d = Double(t), d >= 0, d.isFinite { return d }
        var total = 0.0
        var number = ""
        var unit = ""
        var sawAny = false
        func flush() -> Bool {
            guard let n = Double(number), n >= 0 else { return false }
            let mult: Double
            switch unit {
            case "ms": mult = 0.001
            case "s": mult = 1
            case "m": mult = 60
            case "h": mult = 3600
            case "d": mult = 86400
            default: return false
            }
            total += n * mult
            number = ""
            unit = ""
            sawAny = true
            return true
        }
        for c in t {
            if c.isNumber || c == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(c)
            } else if c.isLetter {
                guard !number.isEmpty else { return nil }
                unit.append(c)
            } else {
                return nil
            }
        }
        guard flush(), sawAny else { return nil }
        return total
    }

    /// Compact text for a number of seconds (`90` → `1m30s`).
    public static func format(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        var s = Int(seconds.rounded())
        var out = ""
        for (u, n) in [("d", 86400), ("h", 3600), ("m", 60)] where s >= n {
            out += "\(s / n)\(u)"
            s %= n
        }
        if s > 0 || out.isEmpty { out += "\(s)s" }
        return out
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs and newlines (no Foundation needed).
    public var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}

extension Duration {
    /// The duration in (fractional) seconds, for `Date` arithmetic and metrics.
    public var timeInterval: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
