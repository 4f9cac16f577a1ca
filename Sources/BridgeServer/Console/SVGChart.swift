/// A small bar chart drawn on the server as inline SVG: no script, no external image, and
/// nothing inline that a strict Content-Security-Policy would block (presentation attributes only).
struct SVGChart {
    var values: [Int]
    var width = 240
    var height = 48
    /// What a screen reader says instead of the bars.
    var label: String

    /// The chart's markup. Every value is a number, and the label is escaped here.
    var svg: String {
        let peak = max(values.max() ?? 0, 1)
        let barWidth = Double(width) / Double(max(values.count, 1))
        var out = ##"<svg class="chart" role="img" viewBox="0 0 \##(width) \##(height)" width="\##(width)" height="\##(height)" aria-label="\##(Self.escape(label))">"##
        out += ##"<rect x="0" y="0" width="\##(width)" height="\##(height)" fill="#f4f6f8"/>"##
        for (i, v) in values.enumerated() where v > 0 {
            let h = max(1.0, Double(v) / Double(peak) * Double(height - 4))
            let x = Double(i) * barWidth
            out += ##"<rect x="\##(fmt(x))" y="\##(fmt(Double(height) - h))" width="\##(fmt(max(barWidth - 1, 1)))" height="\##(fmt(h))" fill="#2f6f9f"/>"##
        }
        out += "</svg>"
        return out
    }

    /// A coordinate with one decimal.
    private func fmt(_ x: Double) -> String { String(Double(Int((x * 10).rounded())) / 10) }

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
