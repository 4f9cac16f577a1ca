internal import BridgeCore

/// Reading (not verifying) a JWT's claims: enough to know when a token expires.
enum JWT {
    /// The `exp` claim (seconds since 1970) of a compact JWT, or `nil`.
    static func expiry(_ token: String) -> Double? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Base64.decode(parts[1]), let json = try? JSONParser.parse(payload) else { return nil }
        return json["exp"]?.doubleValue
    }
}
