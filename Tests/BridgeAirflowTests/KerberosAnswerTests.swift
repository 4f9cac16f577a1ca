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
        let r = try await reason(HTTPResponse(status: 401, headers: negotiate, authenticationFailure: gss))
        #expect(r.outcome == .permanent)
        #expect(r.httpStatus == 401)
        #expect(r.reason.hasPrefix("Kerberos authentication to target 'krb' failed (401): dagbridge got no ticket for HTTP/airflow.corp.example.com (\(gss));"), "\(r.reason)")
        for check in ["klist", "KRB5CCNAME", "kinit", "KRB5_CLIENT_KTNAME", "KRB5_CONFIG"] {
            #expect(r.reason.contains(check), "\(check) missing from: \(r.reason)")
        }
    }

    @Test("a ticket was sent and refused: the server's keytab and clock join the checklist")
    func ticketRefused() async throws {
        let r = try await reason(HTTPResponse(status: 401, headers: negotiate))
        #expect(r.outcome == .permanent)
        #expect(r.reason.hasPrefix("Kerberos authentication to target 'krb' failed (401): the server did not accept dagbridge's ticket for HTTP/airflow.corp.example.com;"), "\(r.reason)")
        #expect(r.reason.contains("kvno HTTP/airflow.corp.example.com") && r.reason.contains("KRB5CCNAME"), "\(r.reason)")
    }

    @Test("a server that does not offer Negotiate: Kerberos cannot work at this URL")
    func noNegotiate() async throws {
        let r = try await reason(HTTPResponse(status: 401, headers: [(name: "www-authenticate", value: #"Basic realm="airflow""#)]))
        #expect(r.reason == #"target 'krb' answered 401 without offering Kerberos (it asks for WWW-Authenticate: Basic realm="airflow"): check url and auth"#)
        let none = try await reason(HTTPResponse(status: 401))
        #expect(none.reason == "target 'krb' answered 401 without offering Kerberos (no WWW-Authenticate): check url and auth")
    }

    @Test("other targets keep the plain reason, and Kerberos targets' other answers are unchanged")
    func otherTargets() async throws {
        let basic = try await reason(HTTPResponse(status: 401, headers: negotiate, authenticationFailure: gss), auth: .none)
        #expect(basic.reason == "credentials rejected by target 'krb' (401): check auth")
        let forbidden = try await reason(HTTPResponse(status: 403, authenticationFailure: gss))
        #expect(forbidden.reason == "credentials rejected by target 'krb' (403): check auth and the user's permissions")
    }
}
