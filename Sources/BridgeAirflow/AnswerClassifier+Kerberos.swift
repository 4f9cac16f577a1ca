import BridgeHTTP

extension AnswerClassifier {
    /// What to check on dagbridge's side when Kerberos fails.
    static let kerberosChecklist =
        "check with klist in dagbridge's environment that KRB5CCNAME names a ticket cache holding a valid ticket (kinit), "
        + "or KRB5_CLIENT_KTNAME a keytab, and that KRB5_CONFIG names the realm's KDC"

    /// The reason for a 401 from a Kerberos (SPNEGO) target: which step failed and what to check.
    ///
    /// libcurl does not fail the request when Negotiate fails: it sends it without credentials and
    /// hands back the server's 401, with what happened in ``HTTPResponse/negotiate``:
    /// - a token was sent and the server still said 401: it refused the ticket (its keytab lacks the
    ///   key the KDC used, or the clocks disagree); GSS-API's error on the server's answer says which;
    /// - no token, and a GSS-API error: dagbridge had no ticket for `principal`, and the error says why;
    /// - no token because the server does not offer `Negotiate`: Kerberos cannot work at this URL.
    ///
    /// - Parameters:
    ///   - response: the 401 answer.
    ///   - target: the target's name.
    ///   - principal: the service principal libcurl asked for (`HTTP/host`).
    static func kerberosReason(_ response: HTTPResponse, target: String, principal: String) -> String {
        let exchange = response.negotiate ?? NegotiateExchange()
        let gss = exchange.gssError.map { " (\($0))" } ?? ""
        if exchange.tokenSent {
            return "Kerberos authentication to target '\(target)' failed (401): the server did not accept dagbridge's ticket for \(principal)\(gss); "
                + "check that the server's keytab holds the principal's current key (kvno \(principal) shows the KDC's) and that the clocks agree"
        }
        let offers = response.headers.contains { $0.name == "www-authenticate" && $0.value.lowercased().hasPrefix("negotiate") }
        if !offers {
            let offered = response.header("www-authenticate").map { "it asks for WWW-Authenticate: \($0)" } ?? "no WWW-Authenticate"
            return "target '\(target)' answered 401 without offering Kerberos (\(offered)): check url and auth"
        }
        return "Kerberos authentication to target '\(target)' failed (401): dagbridge got no ticket for \(principal)\(gss); \(kerberosChecklist)"
    }
}
