import BridgeHTTP

extension AnswerClassifier {
    /// What to check when Kerberos fails, in every reason below.
    static let kerberosChecklist =
        "check with klist in dagbridge's environment that KRB5CCNAME names a ticket cache holding a valid ticket (kinit), "
        + "or KRB5_CLIENT_KTNAME a keytab, and that KRB5_CONFIG names the realm's KDC"

    /// The reason for a 401 from a Kerberos (SPNEGO) target: which step failed and what to check.
    ///
    /// libcurl does not fail the request when it cannot get a ticket: it sends it without
    /// credentials and hands back the server's 401, with the GSS-API error in
    /// ``HTTPResponse/authenticationFailure``. Three cases:
    /// - libcurl reported a GSS-API error: dagbridge had no usable ticket for `principal`;
    /// - the server does not offer `Negotiate`: Kerberos cannot work at this URL;
    /// - a ticket was sent and refused: the server's keytab or clock is the likelier culprit.
    ///
    /// - Parameters:
    ///   - response: the 401 answer.
    ///   - target: the target's name.
    ///   - principal: the service principal libcurl asked for (`HTTP/host`).
    static func kerberosReason(_ response: HTTPResponse, target: String, principal: String) -> String {
        if let gss = response.authenticationFailure {
            return "Kerberos authentication to target '\(target)' failed (401): dagbridge got no ticket for \(principal) (\(gss)); \(kerberosChecklist)"
        }
        let offers = response.headers.contains { $0.name == "www-authenticate" && $0.value.lowercased().hasPrefix("negotiate") }
        if !offers {
            let offered = response.header("www-authenticate").map { "it asks for WWW-Authenticate: \($0)" } ?? "no WWW-Authenticate"
            return "target '\(target)' answered 401 without offering Kerberos (\(offered)): check url and auth"
        }
        return "Kerberos authentication to target '\(target)' failed (401): the server did not accept dagbridge's ticket for \(principal); "
            + "\(kerberosChecklist), and that the server's keytab holds the principal's current key (kvno \(principal)) and its clock is right"
    }
}
