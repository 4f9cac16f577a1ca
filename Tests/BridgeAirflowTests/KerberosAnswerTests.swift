@testable import BridgeAirflow
import BridgeCore
import BridgeHTTP
import Testing

/// A transport that answers every request with one canned response.
private struct CannedTransport: HTTPTransport {
    let response: HTTPResponse
    func execute(_ request: HTTPRequest) async throws -> HTTPResponse { response }
}

/// The dead-letter reasons of a 401 from a Kerberos target (the real exchange, through libcurl and
/// Apache's mod_auth_gssapi, is `KerberosTargetTests` in BridgeServerTests).
@Suite("401 answers of a Kerberos target")
struct KerberosAnswerTests {
    let gss = "gss_init_sec_context() failed: No credentials were supplied, or the credentials were unavailable or inaccessible."
    let negotiate = [(name: "www-authenticate", value: "Negotiate")]

    func reason(_ response: HTTPResponse, auth: AuthConfig = .kerberos) async throws -> TriggerResult {
        let config = TargetConfig(name: "krb", url: "https://airflow.corp.example.com:8443/", api: .v2, auth: auth, timeout: 5)
        let client = try AirflowClient(config: config, transport: CannedTransport(response: response))
        return await client.trigger(job("d"))
    }

    @Test("no ticket: libcurl's GSS-API error, the service principal of the URL's host, and what to check")
    func noTicket() async throws {
        let r = try await reason(HTTPResponse(status: 401, headers: negotiate, negotiate: NegotiateExchange(tokenSent: false, gssError: gss)))
        #expect(r.outcome == .permanent)
        #expect(r.httpStatus == 401)
        #expect(r.reason.hasPrefix("Kerberos authentication to target 'krb' failed (401): dagbridge got no ticket for HTTP/airflow.corp.example.com (\(gss));"), "\(r.reason)")
        for check in ["klist", "KRB5CCNAME", "kinit", "KRB5_CLIENT_KTNAME", "KRB5_CONFIG"] {
            #expect(r.reason.contains(check), "\(check) missing from: \(r.reason)")
        }
    }

    @Test("a ticket was sent and refused: the reason points at the server's keytab and clock, with GSS-API's error on its answer")
    func ticketRefused() async throws {
        let keyVersion = "gss_init_sec_context() failed: Key version is not available."
        let r = try await reason(HTTPResponse(status: 401, headers: negotiate, negotiate: NegotiateExchange(tokenSent: true, gssError: keyVersion)))
        #expect(r.outcome == .permanent)
        #expect(r.reason == "Kerberos authentication to target 'krb' failed (401): the server did not accept dagbridge's ticket for HTTP/airflow.corp.example.com (\(keyVersion)); check that the server's keytab holds the principal's current key (kvno HTTP/airflow.corp.example.com shows the KDC's) and that the clocks agree")
        let bare = try await reason(HTTPResponse(status: 401, headers: negotiate, negotiate: NegotiateExchange(tokenSent: true)))
        #expect(bare.reason.hasPrefix("Kerberos authentication to target 'krb' failed (401): the server did not accept dagbridge's ticket for HTTP/airflow.corp.example.com; "), "\(bare.reason)")
    }

    @Test("no token and no GSS-API error although the server offers Negotiate: still the client-side checklist")
    func noTokenNoError() async throws {
        let r = try await reason(HTTPResponse(status: 401, headers: negotiate, negotiate: NegotiateExchange()))
        #expect(r.reason.hasPrefix("Kerberos authentication to target 'krb' failed (401): dagbridge got no ticket for HTTP/airflow.corp.example.com; check with klist"), "\(r.reason)")
    }

    @Test("a server that does not offer Negotiate: Kerberos cannot work at this URL")
    func noNegotiate() async throws {
        let r = try await reason(HTTPResponse(status: 401, headers: [(name: "www-authenticate", value: #"Basic realm="airflow""#)], negotiate: NegotiateExchange()))
        #expect(r.reason == #"target 'krb' answered 401 without offering Kerberos (it asks for WWW-Authenticate: Basic realm="airflow"): check url and auth"#)
        let none = try await reason(HTTPResponse(status: 401, negotiate: NegotiateExchange()))
        #expect(none.reason == "target 'krb' answered 401 without offering Kerberos (no WWW-Authenticate): check url and auth")
    }

    @Test("other targets keep the plain reason, and Kerberos targets' other answers are unchanged")
    func otherTargets() async throws {
        let basic = try await reason(HTTPResponse(status: 401, headers: negotiate, negotiate: NegotiateExchange(gssError: gss)), auth: .none)
        #expect(basic.reason == "credentials rejected by target 'krb' (401): check auth")
        let forbidden = try await reason(HTTPResponse(status: 403, negotiate: NegotiateExchange(gssError: gss)))
        #expect(forbidden.reason == "credentials rejected by target 'krb' (403): check auth and the user's permissions")
    }
}
