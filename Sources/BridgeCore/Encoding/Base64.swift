/// Base64 (RFC 4648), the one codec of the project, without Foundation.
///
/// Encoding: ``encode(_:)`` is standard and padded (Basic credentials, `b64encode`, Standard
/// Webhooks signatures); ``encodeURL(_:)`` is URL-safe and unpadded (JWT segments).
///
/// Decoding accepts what senders produce and refuses what is ambiguous, the same for every caller
/// (CloudEvents `data_base64`, JWT payloads, `whsec_` keys, Basic credentials, signatures, the
/// `b64decode` filter):
/// - both alphabets (`+/` and `-_`);
/// - spaces, tabs and line breaks anywhere are skipped (MIME-wrapped text);
/// - padding is optional, but when present it is complete (`QQ==`, not `QQ=`) and only at the end;
/// - a single character left over (a length of 4n+1) is an error.
public enum Base64 {
    /// Why a text is not base64.
    public struct DecodeError: Error, Equatable, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    @usableFromInline static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    @usableFromInline static let urlAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let invalid: UInt8 = 0xFF
    private static let whitespace: UInt8 = 0xFE

    /// Decoding table: both alphabets; ``invalid`` and ``whitespace`` mark the rest.
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: invalid, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        t[Int(UInt8(ascii: "-"))] = 62
        t[Int(UInt8(ascii: "_"))] = 63
        for w in [0x20, 0x09, 0x0A, 0x0D] { t[w] = whitespace }
        return t
    }()

    /// Standard base64 with padding.
    @inlinable
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        encode(bytes, alphabet: alphabet, pad: true)
    }

    /// URL-safe base64 without padding (JWT).
    @inlinable
    public static func encodeURL(_ bytes: some Collection<UInt8>) -> String {
        encode(bytes, alphabet: urlAlphabet, pad: false)
    }

    @inlinable
    static func encode(_ bytes: some Collection<UInt8>, alphabet: [UInt8], pad: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var it = bytes.makeIterator()
        while let a = it.next() {
            let b = it.next()
            let c = it.next()
            let n = UInt32(a) << 16 | UInt32(b ?? 0) << 8 | UInt32(c ?? 0)
            out.append(alphabet[Int(n >> 18)])
            out.append(alphabet[Int(n >> 12 & 63)])
            if b != nil { out.append(alphabet[Int(n >> 6 & 63)]) } else if pad { out.append(UInt8(ascii: "=")) }
            if c != nil { out.append(alphabet[Int(n & 63)]) } else if pad { out.append(UInt8(ascii: "=")) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of a base64 text, or nil when it is not base64 (see the type's rules).
    public static func decode(_ text: String) -> [UInt8]? {
        try? decodeChecked(text).get()
    }

    /// The bytes of a base64 text, or nil when it is not base64 (see the type's rules).
    public static func decode(_ text: Substring) -> [UInt8]? {
        decode(String(text))
    }

    /// The bytes of a base64 text, or why it is not base64 (for messages to users).
    public static func decodeChecked(_ text: String) -> Result<[UInt8], DecodeError> {
        var text = text
        return text.withUTF8 { decode(bytes: $0) }
    }

    /// The decoder proper, on contiguous UTF-8 (no generic or String indexing in the loop).
    private static func decode(bytes: UnsafeBufferPointer<UInt8>) -> Result<[UInt8], DecodeError> {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 4 * 3 + 3)
        var acc: UInt32 = 0
        var n = 0
        var padding = 0
        let table = Base64.table
        for offset in 0..<bytes.count {
            let c = bytes[offset]
            let v = table[Int(c)]
            if v == whitespace { continue }
            if c == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            if v == invalid { return .failure(DecodeError(message: "character \(offset + 1) is not base64")) }
            if padding > 0 { return .failure(DecodeError(message: "'=' padding is only allowed at the end")) }
            acc = acc << 6 | UInt32(v)
            n += 1
            if n == 4 {
                out.append(UInt8(truncatingIfNeeded: acc >> 16))
                out.append(UInt8(truncatingIfNeeded: acc >> 8))
                out.append(UInt8(truncatingIfNeeded: acc))
                acc = 0
                n = 0
            }
        }
        switch n {
        case 0:
            if padding != 0 { return .failure(DecodeError(message: "unexpected '=' padding")) }
        case 1:
            return .failure(DecodeError(message: "the length is not valid base64 (one character too many or too few)"))
        case 2:
            guard padding == 0 || padding == 2 else { return .failure(DecodeError(message: "wrong '=' padding")) }
            out.append(UInt8(truncatingIfNeeded: acc >> 4))
        default:
            guard padding == 0 || padding == 1 else { return .failure(DecodeError(message: "wrong '=' padding")) }
            out.append(UInt8(truncatingIfNeeded: acc >> 10))
            out.append(UInt8(truncatingIfNeeded: acc >> 2))
        }
        return .success(out)
    }
}
