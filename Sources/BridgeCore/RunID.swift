/// Airflow's run-id alphabet and the default deterministic run id.
public enum RunID {
    /// Longest run id Airflow stores (`dag_run.run_id` is VARCHAR(250)).
    public static let maxLength = 250

    /// `true` for bytes Airflow accepts in a run id: `[A-Za-z0-9_.~:+-]`.
    @inline(__always)
    public static func isAllowed(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: ":"), UInt8(ascii: "+"),
            UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// `true` when `id` is non-empty, within ``maxLength`` and uses only the allowed alphabet.
    public static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= maxLength && id.utf8.allSatisfy(isAllowed)
    }

    /// Maps any text into the alphabet: each run of other characters becomes one `_`,
    /// and the result is cut to ``maxLength``. Deterministic, so the same input
    /// always yields the same id.
    public static func sanitize(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var lastWasReplacement = false
        for b in text.utf8 {
            if isAllowed(b) {
                out.append(b)
                lastWasReplacement = false
            } else if !lastWasReplacement {
                out.append(UInt8(ascii: "_"))
                lastWasReplacement = true
            }
        }
        if out.count > maxLength { out.removeLast(out.count - maxLength) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The default run id of a rule for an event: `<rule>__<event id>`, sanitised.
    public static func defaultID(rule: String, eventID: String) -> String {
        sanitize(rule + "__" + eventID)
    }
}
