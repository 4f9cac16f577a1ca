import Foundation
import NIOCore
import PostgresNIO

/// A `text[]` bind whose elements may be NULL (postgres-nio encodes only arrays without NULLs).
struct NullableTextArray: PostgresNonThrowingEncodable {
    var values: [String?]

    static var psqlType: PostgresDataType { .textArray }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<E: PostgresJSONEncoder>(into b: inout ByteBuffer, context: PostgresEncodingContext<E>) {
        // The binary array format: dimensions, has-NULL flag, element type, then each dimension's
        // length and lower bound, then each element as length + bytes (-1 for NULL).
        b.writeInteger(values.isEmpty ? 0 : 1, as: Int32.self)
        b.writeInteger(values.contains { $0 == nil } ? 1 : 0, as: Int32.self)
        b.writeInteger(PostgresDataType.text.rawValue)
        guard !values.isEmpty else { return }
        b.writeInteger(Int32(values.count))
        b.writeInteger(1, as: Int32.self)
        for v in values {
            if let v {
                b.writeInteger(Int32(v.utf8.count))
                b.writeString(v)
            } else {
                b.writeInteger(-1, as: Int32.self)
            }
        }
    }
}

extension String {
    /// The text as PostgreSQL can store it: `text` refuses the NUL character, which an HTTP answer
    /// or a Kafka key may hold; it becomes U+FFFD.
    var pgText: String {
        utf8.contains(0) ? replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : self
    }
}

extension Optional where Wrapped == String {
    var pgText: String? { map(\.pgText) }
}
