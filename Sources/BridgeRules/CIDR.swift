/// An IPv4 or IPv6 address as a 128-bit number (IPv4 in the low 32 bits).
struct IPAddress: Sendable, Equatable {
    var isV6: Bool
    var value: UInt128

    /// Parses dotted-quad IPv4 (`10.0.0.1`) or IPv6 (`2001:db8::1`, `::ffff:10.0.0.1`); `nil` if neither.
    init?(_ text: some StringProtocol) {
        if text.contains(":") {
            guard let v = IPAddress.parseV6(Substring(text)) else { return nil }
            isV6 = true
            value = v
        } else {
            guard let v = IPAddress.parseV4(Substring(text)) else { return nil }
            isV6 = false
            value = UInt128(v)
        }
    }

    static func parseV4(_ s: Substring) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard (1...3).contains(p.utf8.count), p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let octet = UInt32(p), octet <= 255
            else { return nil }
            v = v << 8 | octet
        }
        return v
    }

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
