import BridgeCore
import Foundation

/// A pre-compiled strftime-like format for the `date` filter (always UTC).
///
/// Directives: `%Y` year (4 digits), `%y` year (2 digits), `%m` month, `%d` day,
/// `%H` hour, `%M` minute, `%S` second, `%f` microseconds (6 digits),
/// `%j` day of the year (3 digits), `%s` seconds since the epoch,
/// `%F` = `%Y-%m-%d`, `%T` = `%H:%M:%S`, `%z` = `+0000`, `%Z` = `UTC`, `%%` = `%`.
/// Everything else is copied as is, so `%Y-%m-%dT%H:%M:%SZ` works.
struct DateFormat: Sendable {
    enum Piece: Sendable {
        case text(String)
        case year, year2, month, day, hour, minute, second, micro, dayOfYear, epoch
    }

    var pieces: [Piece]

    /// The directive letters, for error messages.
    static let directives = "%Y %y %m %d %H %M %S %f %j %s %F %T %z %Z %%"

    /// Compiles `format`; on an unknown directive returns the UTF-8 offset of its `%`.
    static func compile(_ format: String) -> Result<DateFormat, DateFormatError> {
        var pieces: [Piece] = []
        var text: [UInt8] = []
        func flush() {
            if !text.isEmpty {
                pieces.append(.text(String(decoding: text, as: UTF8.self)))
                text.removeAll()
            }
        }
        let u = Array(format.utf8)
        var i = 0
        while i < u.count {
            guard u[i] == UInt8(ascii: "%") else {
                text.append(u[i])
                i += 1
                continue
            }
            guard i + 1 < u.count else { return .failure(DateFormatError(offset: i, directive: "%")) }
            let piece: Piece?
            switch u[i + 1] {
            case UInt8(ascii: "Y"): piece = .year
            case UInt8(ascii: "y"): piece = .year2
            case UInt8(ascii: "m"): piece = .month
            case UInt8(ascii: "d"): piece = .day
            case UInt8(ascii: "H"): piece = .hour
            case UInt8(ascii: "M"): piece = .minute
            case UInt8(ascii: "S"): piece = .second
            case UInt8(ascii: "f"): piece = .micro
            case UInt8(ascii: "j"): piece = .dayOfYear
            case UInt8(ascii: "s"): piece = .epoch
            case UInt8(ascii: "F"):
                flush()
                pieces += [.year, .text("-"), .month, .text("-"), .day]
                piece = nil
            case UInt8(ascii: "T"):
                flush()
                pieces += [.hour, .text(":"), .minute, .text(":"), .second]
                piece = nil
            case UInt8(ascii: "z"): text += Array("+0000".utf8); piece = nil
            case UInt8(ascii: "Z"): text += Array("UTC".utf8); piece = nil
            case UInt8(ascii: "%"): text.append(UInt8(ascii: "%")); piece = nil
            default:
                let scalarEnd = format.utf8.index(format.utf8.startIndex, offsetBy: i + 1)
                let directive = "%" + String(format[scalarEnd...].prefix(1))
                return .failure(DateFormatError(offset: i, directive: directive))
            }
            if let piece {
                flush()
                pieces.append(piece)
            }
            i += 2
        }
        flush()
        return .success(DateFormat(pieces: pieces))
    }

    /// Formats seconds since the epoch (UTC).
    func format(_ seconds: Double) -> String {
        let whole = seconds.rounded(.down)
        let secs = Int64(whole)
        // Nearest microsecond: epoch milliseconds divided by 1000 are not exact in binary.
        let micro = min(999_999, Int(((seconds - whole) * 1_000_000).rounded()))
        let (y, mo, d, h, mi, s) = ISO8601.civil(secs)
        var out = ""
        out.reserveCapacity(32)
        for piece in pieces {
            switch piece {
            case .text(let t): out += t
            case .year: DateFormat.append(y, width: 4, to: &out)
            case .year2: DateFormat.append(((y % 100) + 100) % 100, width: 2, to: &out)
            case .month: DateFormat.append(mo, width: 2, to: &out)
            case .day: DateFormat.append(d, width: 2, to: &out)
            case .hour: DateFormat.append(h, width: 2, to: &out)
            case .minute: DateFormat.append(mi, width: 2, to: &out)
            case .second: DateFormat.append(s, width: 2, to: &out)
            case .micro: DateFormat.append(micro, width: 6, to: &out)
            case .dayOfYear:
                DateFormat.append(ISO8601.daysFromCivil(y, mo, d) - ISO8601.daysFromCivil(y, 1, 1) + 1, width: 3, to: &out)
            case .epoch: out += String(secs)
            }
        }
        return out
    }

    private static func append(_ value: Int, width: Int, to out: inout String) {
        let digits = String(value.magnitude)
        if value < 0 { out += "-" }
        if digits.utf8.count < width { out += String(repeating: "0", count: width - digits.utf8.count) }
        out += digits
    }

    /// Seconds since the epoch of a `date` filter input: ISO-8601 text, epoch
    /// seconds as a number or as all-digit text. Numbers of 100,000,000,000 or
    /// more are taken as milliseconds (Kafka timestamps are in milliseconds).
    static func seconds(of value: JSONValue) -> Double? {
        switch value {
        case .int(let i): return fromEpoch(Double(i))
        case .double(let d): return d.isFinite ? fromEpoch(d) : nil
        case .string(let s):
            if let date = ISO8601.parse(s) { return date.timeIntervalSince1970 }
            if !s.isEmpty, s.utf8.count <= 18, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let i = Int64(s) {
                return fromEpoch(Double(i))
            }
            return nil
        default: return nil
        }
    }

    private static func fromEpoch(_ n: Double) -> Double? {
        let secs = abs(n) >= 100_000_000_000 ? n / 1000 : n
        // Keep within years 0…9999 so the civil arithmetic stays meaningful.
        guard secs >= -62_167_219_200, secs < 253_402_300_800 else { return nil }
        return secs
    }
}

/// An unknown `%` directive in a `date` format.
struct DateFormatError: Error {
    var offset: Int
    var directive: String
}
