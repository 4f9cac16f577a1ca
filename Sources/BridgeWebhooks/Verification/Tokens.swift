import BridgeCore

extension WebhookVerifier {
    /// A bearer token in `Authorization` (or the token alone in another header).
    func verifyBearer(tokens: [Secret], header name: String, headers: [String: String]) throws(Rejection) -> Verified {
        let value = try header(headers, name)
        let presented: Substring
        if name == "authorization" {
            guard value.count > 7, value.prefix(7).lowercased() == "bearer " else {
                throw reject("missing bearer token", "Authorization is not 'Bearer <token>'")
            }
            presented = value.dropFirst(7)
        } else {
            presented = Substring(value)
        }
        let bytes = Array(presented.trimmingSpaces.utf8)
        guard tokens.contains(where: { constantTimeEqual(Array($0.value.utf8), bytes) }) else {
            throw reject("invalid token", "bearer token not accepted")
        }
        return Verified()
    }

    /// HTTP Basic credentials.
    func verifyBasic(credentials: [Secret], headers: [String: String]) throws(Rejection) -> Verified {
        let value = try header(headers, "authorization")
        guard value.count > 6, value.prefix(6).lowercased() == "basic ", let decoded = Base64.decode(String(value.dropFirst(6)))
        else { throw reject("missing basic credentials", "Authorization is not 'Basic <base64>'") }
        guard credentials.contains(where: { constantTimeEqual(Array($0.value.utf8), decoded) }) else {
            throw reject("invalid credentials", "basic credentials not accepted")
        }
        return Verified()
    }
}
