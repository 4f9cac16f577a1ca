public import Foundation

/// Fast ISO-8601 / RFC 3339 formatting and parsing in UTC, without `DateFormatter`.
public enum ISO8601 {
    /// `2024-05-01T12:00:00.123Z` (milliseconds, always UTC).
    public static func format(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var secs = ms / 1000
        var milli = ms % 1000
        if milli < 0 { milli += 1000; secs -= 1 }
        let (y, mo, d, h, mi, s) = civil(secs)
        if (0...9999).contains(y) {
            // Every event's envelope carries one of these: write the 24 bytes directly.
            return String(unsafeUninitializedCapacity: 24) { b in
                func put(_ v: Int, _ width: Int, at i: Int) {
                    var v = v
                    for k in stride(from: i + width - 1, through: i, by: -1) {
                        b[k] = UInt8(48 + v % 10)
                        v /= 10
                    }
                }
                put(y, 4, at: 0)
                b[4] = 45
                put(mo, 2, at: 5)
                b[7] = 45
                put(d, 2, at: 8)
                b[10] = 84
                put(h, 2, at: 11)
                b[13] = 58
                put(mi, 2, at: 14)
                b[16] = 58
                put(s, 2, at: 17)
                b[19] = 46
                put(Int(milli), 3, at: 20)
                b[23] = 90
                return 24
            }
        }
        return pad(y, 4) + "-" + pad(mo, 2) + "-" + pad(d, 2) + "T" + pad(h, 2) + ":" + pad(mi, 2) + ":" + pad(s, 2)
            + "." + pad(Int(milli), 3) + "Z"
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff…]]` with `Z`, `±HH:MM` or no zone (UTC).
    /// Returns `nil` for anything else.
    public static func parse(_ text: String) -> Date? {
        let u = Array(text.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= u.count else { return nil }
            var v = 0
            for i in from..<(from + len) {
                let c = u[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let y = num(0, 4), u.count >= 10, u[4] == 45, let mo = num(5, 2), u[7] == 45, let d = num(8, 2),
            (1...12).contains(mo), (1...daysIn(y, mo)).contains(d)
        else { return nil }
        var h = 0, mi = 0, s = 0
        var frac = 0.0
        var offset = 0
        var i = 10
        if i < u.count {
            guard u[i] == UInt8(ascii: "T") || u[i] == UInt8(ascii: "t") || u[i] == UInt8(ascii: " "),
                let hh = num(11, 2), u.count > 13, u[13] == 58, let mm = num(14, 2), hh < 24, mm < 60
            else { return nil }
            h = hh
            mi = mm
            i = 16
            if i < u.count, u[i] == 58 {
                guard let ss = num(17, 2), ss <= 60 else { return nil }
                s = ss
                i = 19
                if i < u.count, u[i] == UInt8(ascii: ".") || u[i] == UInt8(ascii: ",") {
                    i += 1
                    var scale = 0.1
                    let start = i
                    while i < u.count, u[i] >= 48, u[i] <= 57 {
                        frac += Double(u[i] - 48) * scale
                        scale /= 10
                        i += 1
                    }
                    if i == start { return nil }
                }
            }
            if i < u.count {
                if u[i] == UInt8(ascii: "Z") || u[i] == UInt8(ascii: "z") {
                    i += 1
                } else if u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
                    let sign = u[i] == UInt8(ascii: "+") ? 1 : -1
                    guard let oh = num(i + 1, 2) else { return nil }
                    var om = 0
                    if i + 3 < u.count, u[i + 3] == 58 {
                        guard let m = num(i + 4, 2) else { return nil }
                        om = m
                        i += 6
                    } else if let m = num(i + 3, 2) {
                        om = m
                        i += 5
                    } else {
                        i += 3
                    }
                    offset = sign * (oh * 3600 + om * 60)
                } else {
                    return nil
                }
            }
            if i != u.count { return nil }
        }
        let days = daysFromCivil(y, mo, d)
        let secs = Double(days * 86400 + h * 3600 + mi * 60 + s - offset) + frac
        return Date(timeIntervalSince1970: secs)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// Calendar fields (UTC) of a Unix time in seconds.
    public static func civil(_ secs: Int64) -> (Int, Int, Int, Int, Int, Int) {
        var days = Int(secs / 86400)
        var rem = Int(secs % 86400)
        if rem < 0 { rem += 86400; days -= 1 }
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
    }

    static func daysIn(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
