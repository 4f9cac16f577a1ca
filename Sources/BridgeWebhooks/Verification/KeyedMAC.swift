import Crypto

/// HMAC of `data` with `key`.
func hmac(_ algorithm: WebhookVerifier.HMACScheme.Algorithm, key: [UInt8], _ data: [UInt8]) -> [UInt8] {
    let k = SymmetricKey(data: key)
    switch algorithm {
    case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: k))
    case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: k))
    case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: k))
    }
}

/// An HMAC keyed once with one secret; each ``code(_:)`` copies the keyed state.
struct KeyedMAC: Sendable {
    private enum State: Sendable {
        case sha1(HMAC<Insecure.SHA1>)
        case sha256(HMAC<SHA256>)
        case sha512(HMAC<SHA512>)
    }

    private let state: State

    init(_ algorithm: WebhookVerifier.HMACScheme.Algorithm, key: [UInt8]) {
        let k = SymmetricKey(data: key)
        switch algorithm {
        case .sha1: state = .sha1(HMAC(key: k))
        case .sha256: state = .sha256(HMAC(key: k))
        case .sha512: state = .sha512(HMAC(key: k))
        }
    }

    /// The authentication code of `data`.
    func code(_ data: [UInt8]) -> [UInt8] {
        switch state {
        case .sha1(let h): Self.code(h, data)
        case .sha256(let h): Self.code(h, data)
        case .sha512(let h): Self.code(h, data)
        }
    }

    /// `data` signed by a copy of the keyed state `keyed`.
    private static func code<H: HashFunction>(_ keyed: HMAC<H>, _ data: [UInt8]) -> [UInt8] {
        var h = keyed
        h.update(data: data)
        return Array(h.finalize())
    }
}
