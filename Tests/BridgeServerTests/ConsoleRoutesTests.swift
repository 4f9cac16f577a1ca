import BridgeAirflow
import BridgeConfig
import BridgeCore
import BridgeIntake
import BridgeRules
@testable import BridgeServer
import BridgeStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The console's security and bad input, in process over a real SQLite journal with dead jobs:
/// disabled without an admin token, login and its CSRF check, cookie flags, forged and expired
/// sessions, CSRF on every form, the viewer role, hostile event bodies escaped, bad filters and
/// oversized forms answered with a status and a message, and secrets never in a page.
@Suite("console routes (in process)")
struct ConsoleRoutesTests {
    static let admin = "console-admin-token-0123456789"
    static let viewer = "console-viewer-token-0123456789"

    /// A journal with one dead job per rule (`late`, and `hostile` whose body carries markup).
    struct Harness {
        let dir: TempDir
        let journal: any JournalStore
        let pages: ConsolePages
        let deadIDs: [Int64]

        init() async throws {
            dir = try TempDir()
            let loaded = RuleSetLoader.load(sources: [(
                """
                rules:
                  - name: late
                    match: { body: { kind: [late] } }
                    trigger: { target: stub, dag_id: missing_dag }
                """, "r.yaml",
            )])
            let rules = try #require(loaded.ruleSet)
            journal = try await JournalOpener.open(StoreConfig(path: dir.store), logger: Logger(label: "test"))
            let hostileBody = Array(#"{"kind":"late","note":"<script>alert(1)</script>"}"#.utf8)
            for (i, body) in [Array(#"{"kind":"late"}"#.utf8), hostileBody].enumerated() {
                let event = Event(id: "ev-\(i)", source: "hooks", headers: [:], rawBody: body)
                let job = TriggerJob(rule: "late", target: "stub", dagId: "missing_dag", conf: ["n": .int(Int64(i))], dagRunId: "late__ev-\(i)")
                _ = try await journal.enqueue(event: event, jobs: [job])
            }
            var ids: [Int64] = []
            for job in try await journal.claimDue(target: "stub", limit: 10) {
                let reason = "DAG 'missing_dag' not found (404) <b>not bold</b>"
                try await journal.complete(
                    jobID: job.id, attempt: AttemptRecord(at: Date(), duration: 0.01, httpStatus: 404, outcome: "permanent", reason: reason, answer: "{}"),
                    transition: .dead(reason: reason))
                ids.append(job.id)
            }
            deadIDs = ids
            let journal = journal
            pages = ConsolePages(
                dlq: DLQService(journal: journal, currentRules: { rules }), rules: RuleSetHolder(rules), reloader: nil, targetStatus: { [] },
                targets: [:], sources: ["hooks"], activity: ConsoleActivity(), queueDepth: { journal.queueDepth })
        }

        func app(adminToken: String? = ConsoleRoutesTests.admin, tls: Bool = false) -> some ApplicationProtocol {
            let router = Router()
            ConsoleRoutes(adminToken: adminToken, viewerTokens: [ConsoleRoutesTests.viewer], tls: tls, pages: pages, logger: Logger(label: "test"))
                .add(to: router)
            return Application(router: router)
        }
    }

    /// Logs in through the form; the session cookie and the page's CSRF token.
    static func login(_ client: some TestClientProtocol, token: String) async throws -> (cookie: String, csrf: String) {
        let form = try await client.execute(uri: "/console/login", method: .get)
        let loginCookie = try #require(form.headers[.setCookie]?.split(separator: ";").first.map(String.init))
        let loginToken = try #require(field("_csrf", in: String(buffer: form.body)))
        let answer = try await client.execute(
            uri: "/console/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded", .cookie: loginCookie],
            body: ByteBuffer(string: "_csrf=\(loginToken)&token=\(token)"))
        #expect(answer.status == .seeOther)
        let session = try #require(answer.headers[values: .setCookie].first { $0.hasPrefix(ConsoleSessions.cookieName + "=") })
        let cookie = String(session.split(separator: ";")[0])
        let page = try await client.execute(uri: "/console/dead-letters", method: .get, headers: [.cookie: cookie])
        let csrf = try #require(field("_csrf", in: String(buffer: page.body)))
        return (cookie, csrf)
    }

    /// A page's HTML with the entities the templates write turned back into characters.
    static func text(_ r: TestResponse) -> String {
        String(buffer: r.body).replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func field(_ name: String, in html: String) -> String? {
        guard let r = html.range(of: #"name="\#(name)" value=""#) else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "\"" })
    }

    static func post(_ client: some TestClientProtocol, _ uri: String, cookie: String, _ body: String) async throws -> TestResponse {
        try await client.execute(
            uri: uri, method: .post, headers: [.contentType: "application/x-www-form-urlencoded", .cookie: cookie], body: ByteBuffer(string: body))
    }

    @Test func disabledWithoutAnAdminToken() async throws {
        let h = try await Harness()
        defer { h.dir.cleanup() }
        try await h.app(adminToken: nil).test(.router) { client in
            for uri in ["/console", "/console/login", "/console/dead-letters"] {
                let r = try await client.execute(uri: uri, method: .get)
                #expect(r.status == .notFound)
            }
        }
    }

    @Test func loginSetsAStrictHttpOnlyCookieAndChecksItsCSRFToken() async throws {
        let h = try await Harness()
        defer { h.dir.cleanup() }
        try await h.app(tls: true).test(.router) { client in
            let anonymous = try await client.execute(uri: "/console", method: .get)
            #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/console/login")
            let form = try await client.execute(uri: "/console/login", method: .get)
            #expect(form.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(form.headers[.contentSecurityPolicy]?.contains("unsafe-inline") == false)
            let loginCookie = try #require(form.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            let token = try #require(Self.field("_csrf", in: String(buffer: form.body)))
            let type: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: loginCookie]
            // No CSRF token, a token of another browser, a wrong admin token: refused, no session.
            for (body, cookie, status) in [
                ("token=\(Self.admin)", loginCookie, HTTPResponse.Status.forbidden),
                ("_csrf=\(token)&token=\(Self.admin)", "\(ConsoleSessions.loginCookieName)=\(String(repeating: "a", count: 32))", .forbidden),
                ("_csrf=\(token)&token=wrong-token-0123456789", loginCookie, .unauthorized),
            ] {
                let r = try await client.execute(uri: "/console/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded", .cookie: cookie], body: ByteBuffer(string: body))
                #expect(r.status == status, "\(body)")
                #expect(!r.headers[values: .setCookie].contains { $0.hasPrefix(ConsoleSessions.cookieName + "=v1") })
                #expect(!String(buffer: r.body).contains(Self.admin))
            }
            let ok = try await client.execute(uri: "/console/login", method: .post, headers: type, body: ByteBuffer(string: "_csrf=\(token)&token=\(Self.admin)"))
            #expect(ok.status == .seeOther)
            let session = try #require(ok.headers[values: .setCookie].first { $0.hasPrefix(ConsoleSessions.cookieName + "=") })
            for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/console"] { #expect(session.contains(flag), "\(session)") }
            #expect(!session.contains(Self.admin))
        }
    }

    @Test func forgedExpiredAndRevokedSessionsAreRefused() async throws {
        let sessions = ConsoleSessions(lifetime: 60)
        let (value, session) = sessions.issue(role: .viewer, now: Date())
        #expect(sessions.verify(value) == .success(session))
        #expect(sessions.verify(value.replacingOccurrences(of: ".viewer.", with: ".admin.")) == .failure(.forged))
        #expect(sessions.verify(value, now: Date().addingTimeInterval(120)) == .failure(.expired))
        #expect(sessions.verify("v1.admin.99999999999.\(String(repeating: "0", count: 32)).AAAA") == .failure(.forged))
        #expect(sessions.verify("garbage") == .failure(.malformed))
        #expect(ConsoleSessions(lifetime: 60).verify(value) == .failure(.forged), "another process's key")
        sessions.revoke(session)
        #expect(sessions.verify(value) == .failure(.revoked))
        #expect(!sessions.checkCSRF(sessions.csrfToken(for: ConsoleSessions().issue(role: .admin).session), session: session))

        let h = try await Harness()
        defer { h.dir.cleanup() }
        try await h.app().test(.router) { client in
            let (cookie, csrf) = try await Self.login(client, token: Self.admin)
            let forged = cookie.replacingOccurrences(of: ".admin.", with: ".viewer.")
            let forgedPage = try await client.execute(uri: "/console/dead-letters", method: .get, headers: [.cookie: forged])
            #expect(forgedPage.status == .seeOther && forgedPage.headers[.location] == "/console/login?session=forged")
            let told = try await client.execute(uri: "/console/login?session=forged", method: .get)
            #expect(Self.text(told).contains("The session cookie is not valid"))
            let injected = try await client.execute(uri: "/console/login?session=%3Cscript%3E", method: .get)
            #expect(!Self.text(injected).contains("<script>") && !Self.text(injected).contains("role=\"alert\""))
            let r = try await Self.post(client, "/console/dead-letters/apply", cookie: forged, "_csrf=\(csrf)&action=purge&scope=all")
            #expect(r.status == .unauthorized && String(buffer: r.body).contains("not valid"))
            // Logout revokes the session even if the browser kept the cookie.
            let logout = try await Self.post(client, "/console/logout", cookie: cookie, "_csrf=\(csrf)")
            #expect(logout.status == .seeOther)
            let after = try await client.execute(uri: "/console", method: .get, headers: [.cookie: cookie])
            #expect(after.status == .seeOther)
        }
        #expect(try await h.journal.jobs(matching: JobFilter(state: .dead)).count == 2)
    }

    @Test func everyFormNeedsTheSessionsCSRFTokenAndViewersCannotAct() async throws {
        let h = try await Harness()
        defer { h.dir.cleanup() }
        try await h.app().test(.router) { client in
            let (cookie, csrf) = try await Self.login(client, token: Self.admin)
            let (viewerCookie, viewerCSRF) = try await Self.login(client, token: Self.viewer)
            for body in ["action=purge&scope=all", "_csrf=forged&action=purge&scope=all", "_csrf=\(viewerCSRF)&action=purge&scope=all"] {
                let r = try await Self.post(client, "/console/dead-letters/apply", cookie: cookie, body)
                #expect(r.status == .forbidden && String(buffer: r.body).contains("CSRF"), "\(body)")
            }
            let v = try await Self.post(client, "/console/dead-letters/apply", cookie: viewerCookie, "_csrf=\(viewerCSRF)&action=purge&scope=all")
            #expect(v.status == .forbidden && String(buffer: v.body).contains("viewer"))
            let viewerPage = String(buffer: try await client.execute(uri: "/console/dead-letters", method: .get, headers: [.cookie: viewerCookie]).body)
            #expect(viewerPage.contains("late") && !viewerPage.contains("Preview replay"))
            // The admin's dry run changes nothing; applying it purges exactly the ticked job.
            let id = h.deadIDs[0]
            let preview = try await Self.post(client, "/console/dead-letters/preview", cookie: cookie, "_csrf=\(csrf)&action=purge&scope=selected&ids=\(id)")
            #expect(preview.status == .ok && String(buffer: preview.body).contains("1 of 1 selected jobs would be purged"))
            let stillDead = try await h.journal.jobs(matching: JobFilter(state: .dead)).count
            #expect(stillDead == 2)
            let apply = try await Self.post(client, "/console/dead-letters/apply", cookie: cookie, "_csrf=\(csrf)&action=purge&scope=selected&ids=\(id)")
            #expect(apply.status == .ok && String(buffer: apply.body).contains("Purged 1 of 1"))
            let left = try await h.journal.jobs(matching: JobFilter(state: .dead)).map(\.id)
            #expect(left == [h.deadIDs[1]])
        }
    }

    @Test func badInputGetsAStatusAndAMessage() async throws {
        let h = try await Harness()
        defer { h.dir.cleanup() }
        try await h.app().test(.router) { client in
            let (cookie, csrf) = try await Self.login(client, token: Self.admin)
            for (uri, says) in [
                ("/console/dead-letters?since=yesterday", "cannot read 'yesterday'"), ("/console/dead-letters?before=nope", "not a page position"),
                ("/console/dead-letters?reason=" + String(repeating: "x", count: 300), "at most 200"),
            ] {
                let r = try await client.execute(uri: uri, method: .get, headers: [.cookie: cookie])
                #expect(r.status == .badRequest && Self.text(r).contains(says), "\(uri)")
            }
            for uri in ["/console/jobs/999999", "/console/jobs/abc"] {
                let r = try await client.execute(uri: uri, method: .get, headers: [.cookie: cookie])
                #expect(r.status == .notFound, "\(uri)")
            }
            for (body, says) in [
                ("_csrf=\(csrf)&action=explode&scope=all", "choose replay or purge"), ("_csrf=\(csrf)&action=replay&scope=selected", "No job is ticked"),
                ("_csrf=\(csrf)&action=replay&scope=selected&ids=-4", "not a job id"), ("_csrf=\(csrf)&action=replay&mode=twice&scope=all", "mode"),
                ("_csrf=\(csrf)&action=replay&scope=all&since=soon", "cannot read 'soon'"), ("_csrf=\(csrf)&action=replay&scope=selected&ids=%ZZ", "percent-encoded"),
            ] {
                let r = try await Self.post(client, "/console/dead-letters/preview", cookie: cookie, body)
                #expect(r.status == .badRequest && Self.text(r).contains(says), "\(body): \(String(buffer: r.body).suffix(400))")
            }
            let big = try await Self.post(client, "/console/rules/try", cookie: cookie, "_csrf=\(csrf)&source=hooks&body=" + String(repeating: "a", count: 300 * 1024))
            #expect(big.status == .contentTooLarge && String(buffer: big.body).contains("larger than"))
            let badHeader = try await Self.post(client, "/console/rules/try", cookie: cookie, "_csrf=\(csrf)&source=hooks&headers=no-colon&body=%7B%7D")
            #expect(badHeader.status == .badRequest && Self.text(badHeader).contains("must look like 'Name: value'"))
            let tried = try await Self.post(client, "/console/rules/try", cookie: cookie, "_csrf=\(csrf)&source=hooks&body=%7B%22kind%22%3A%22late%22%7D")
            #expect(tried.status == .ok && String(buffer: tried.body).contains("late → stub") && String(buffer: tried.body).contains("late__cli-"))
            // Nothing was acted on.
            let dead = try await h.journal.jobs(matching: JobFilter(state: .dead)).count
            #expect(dead == 2)
        }
    }

    @Test func eventContentIsEscapedAndSecretsNeverShow() async throws {
        let h = try await Harness()
        defer { h.dir.cleanup() }
        try await h.app().test(.router) { client in
            let (cookie, _) = try await Self.login(client, token: Self.admin)
            var html = ""
            for uri in ["/console", "/console/dead-letters", "/console/jobs/\(h.deadIDs[1])", "/console/events?id=ev-1", "/console/targets", "/console/rules"] {
                let r = try await client.execute(uri: uri, method: .get, headers: [.cookie: cookie])
                #expect(r.status == .ok, "\(uri)")
                #expect(r.headers[.contentSecurityPolicy] == ConsoleRoutes.contentSecurityPolicy)
                html += String(buffer: r.body)
            }
            #expect(!html.contains("<script>alert") && !html.contains("<b>not bold</b>"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && html.contains("&lt;b&gt;not bold&lt;/b&gt;"))
            #expect(!html.contains(Self.admin) && !html.contains(Self.viewer))
        }
    }

    @Test("server.viewer_tokens: secrets of 16+ characters in a list; a short one or a scalar is an error at its line")
    func viewerTokensAreReadAndChecked() throws {
        func parse(_ server: String) throws -> (ServiceConfig?, [String]) {
            let text = "server:\n" + server + "\ntargets:\n  stub: { url: \"http://127.0.0.1:1\", api: v2 }\n"
            let (node, _) = YAMLLoader.parse(text, file: "d.yaml")
            var diags = Diagnostics()
            let config = ServiceConfig.parse(try #require(node), file: "/tmp/d.yaml", resolver: SecretResolver(environment: ["V": Self.viewer]), diagnostics: &diags)
            return (diags.hasErrors ? nil : config, diags.items.map(\.description))
        }
        let (ok, _) = try parse("  admin_token: \(Self.admin)\n  viewer_tokens: [\"${env:V}\"]")
        #expect(ok?.server.viewerTokens.map(\.value) == [Self.viewer])
        #expect(ok?.server.viewerTokens.first?.description.contains(Self.viewer) == false)
        let (short, shortDiags) = try parse("  admin_token: \(Self.admin)\n  viewer_tokens: [short]")
        #expect(short == nil && shortDiags.contains { $0.contains("d.yaml:3") && $0.contains("at least 16 characters") }, "\(shortDiags)")
        let (scalar, scalarDiags) = try parse("  admin_token: \(Self.admin)\n  viewer_tokens: \(Self.viewer)")
        #expect(scalar == nil && scalarDiags.contains { $0.contains("must be a list") }, "\(scalarDiags)")
        let (_, lonely) = try parse("  viewer_tokens: [\"${env:V}\"]")
        #expect(lonely.contains { $0.contains("no effect without admin_token") }, "\(lonely)")
    }

    @Test("the Airflow link of a job: per API flavour, escaped, never with the target URL's credentials")
    func airflowRunLinks() {
        let v2 = TargetConfig(name: "t", url: "https://user:s3cret@airflow.example:8443/base/", api: .v2)
        #expect(ConsolePages.airflowRunURL(v2, dagID: "my dag", runID: "rule__a/b") == "https://airflow.example:8443/base/dags/my%20dag/runs/rule__a%2Fb")
        let v1 = TargetConfig(name: "t", url: "http://127.0.0.1:8080", api: .v1)
        #expect(ConsolePages.airflowRunURL(v1, dagID: "d", runID: "r") == "http://127.0.0.1:8080/dags/d/grid?dag_run_id=r")
        let odd = TargetConfig(name: "t", url: "javascript:alert(1)", api: .v2)
        #expect(ConsolePages.airflowRunURL(odd, dagID: "d", runID: "r") == nil)
    }
}
