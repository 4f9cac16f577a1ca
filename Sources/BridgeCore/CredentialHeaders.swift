/// Request headers that carry credentials, and how they are kept out of events.
///
/// A sender's credentials (a bearer token, Basic credentials, a cookie, a header a source names
/// as secret) are what a forger needs. They are replaced by ``marker`` before an event is built,
/// so they never reach the journal, an admin or CLI answer, a log or a rule's template. The
/// header itself stays, so a rule can still ask whether it was present.
public enum CredentialHeaders {
    /// What a removed credential reads as.
    public static let marker = "[removed by dagbridge: credential]"

    /// Credentials whatever a source verifies (lower-cased).
    public static let standard: Set<String> = ["authorization", "proxy-authorization", "cookie"]

    /// Replaces the value of every header of `names` (lower-cased) in `headers` by ``marker``.
    /// - Returns: the values removed, for scrubbing copies of them elsewhere.
    @discardableResult
    public static func scrub(_ headers: inout [String: String], names: Set<String>) -> [String] {
        var removed: [String] = []
        for name in names {
            guard let value = headers[name], value != marker else { continue }
            removed.append(value)
            headers[name] = marker
        }
        return removed
    }

    /// The secret parts of a removed header value, longest first: the value itself and, for
    /// `Scheme credentials` (`Bearer t`, `Basic b64`), the credentials alone and Basic's decoded
    /// `user:password` and password. A template may have rendered any of them.
    public static func secretParts(of value: String) -> [String] {
        var parts = [value]
        let words = value.split(separator: " ", maxSplits: 1)
        if words.count == 2 {
            let credentials = String(words[1]).trimmingSpaces
            parts.append(credentials)
            if words[0].lowercased() == "basic", let decoded = Base64.decode(credentials), let text = String(validating: decoded, as: UTF8.self) {
                parts.append(text)
                if let colon = text.firstIndex(of: ":") { parts.append(String(text[text.index(after: colon)...])) }
            }
        }
        for pair in value.split(separator: ";") {  // Cookie: name=value; name2=value2
            if let eq = pair.firstIndex(of: "=") { parts.append(String(pair[pair.index(after: eq)...]).trimmingSpaces) }
        }
        // Short fragments (an empty password, "a") would match unrelated text.
        return Array(Set(parts.filter { $0.utf8.count >= 6 })).sorted { $0.utf8.count > $1.utf8.count }
    }
}
