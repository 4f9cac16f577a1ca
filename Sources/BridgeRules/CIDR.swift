/// An IPv4 or IPv6 address as a 128-bit number (IPv4 in the low 32 bits).
struct IPAddress: Sendable, Equatable {
    var isV6: Bool
    var value: UInt128

    /// Parses dotted-quad IPv4 (`10.0.0.1`) or IPv6 (`2001:db8::1`, `::ffff:10.0.0.1`); `nil` if neither.
    init?(_ text: some StringProtocol) {
        if let v4 = IPAddress.fastV4(text.utf8) {
            isV6 = false
            value = UInt128(v4)
        } else if text.utf8.contains(UInt8(ascii: ":")), let v = IPAddress.parseV6(Substring(text)) {
            isV6 = true
            value = v
        } else {
            return nil
        }
    }

    /// Dotted-quad IPv4 straight from the bytes (the hot path when events carry addresses).
    static func fastV4(_ bytes: some Sequence<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for b in bytes {
            if b >= 0x30 && b <= 0x39 {
                octet = octet * 10 + UInt32(b - 0x30)
                digits += 1
                if digits > 3 || octet > 255 { return nil }
            } else if b == UInt8(ascii: ".") {
                if digits == 0 || dots == 3 { return nil }
                value = value << 8 | octet
                octet = 0
                digits = 0
                dots += 1
            } else {
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return value << 8 | octet
    }

    static func parseV4(_ s: Substring) -> UInt32? { fastV4(s.utf8) }

    static func parseV6(_ s: Substring) -> UInt128? {
        // Split around a single "::" and expand it to the missing zero groups.
        var halves = [String(s)]
        if let r = s.firstRange(of: "::") {
            halves = [String(s[..<r.lowerBound]), String(s[r.upperBound...])]
            if halves[1].contains("::") { return nil }
        }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, item) in items.enumerated() {
                if i == items.count - 1, item.contains(".") {
                    guard let v4 = parseV4(item) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xFFFF))
                } else {
                    guard (1...4).contains(item.utf8.count), let g = UInt16(item, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all += [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }
}

/// A `cidr` operand: a network such as `10.0.0.0/8` or `2001:db8::/32`.
struct CIDRBlock: Sendable {
    /// The operand as written, for messages.
    let source: String
    let isV6: Bool
    let network: UInt128
    let mask: UInt128

    /// Why an operand is not a CIDR block.
    struct Problem: Error {
        var message: String
    }

    init(_ source: String) throws(Problem) {
        self.source = source
        let parts = source.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let ip = IPAddress(parts[0]) else {
            throw Problem(message: "'\(source)' is not a CIDR block; write an address and a prefix length, like '10.0.0.0/8' or '2001:db8::/32'")
        }
        let bits = ip.isV6 ? 128 : 32
        guard parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let len = Int(parts[1]), (0...bits).contains(len) else {
            throw Problem(message: "'\(source)': the prefix length must be a whole number from 0 to \(bits)")
        }
        isV6 = ip.isV6
        let width: UInt128 = ip.isV6 ? ~0 : UInt128(UInt32.max)
        mask = len == 0 ? 0 : (width << (bits - len)) & width
        network = ip.value & mask
    }

    func contains(_ ip: IPAddress) -> Bool {
        ip.isV6 == isV6 && ip.value & mask == network
    }
}
