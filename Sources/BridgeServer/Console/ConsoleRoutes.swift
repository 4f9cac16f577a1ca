import BridgeCore
import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore

/// The operations console under `/console`: server-rendered pages over ``ConsolePages``, with
/// login, signed session cookies, CSRF tokens, a strict Content-Security-Policy and a read-only
/// viewer role. Without `server.admin_token` every console path answers 404.
public struct ConsoleRoutes: Sendable {
    let tokens: ConsoleTokens?
    let sessions: ConsoleSessions
    /// `Secure` on cookies (the server speaks TLS).
    let secureCookies: Bool
    let pages: ConsolePages
    let logger: Logger

    /// The policy on every console answer: only this origin's stylesheet and script, no inline
    /// script or style, no framing, forms only to this origin.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// - Parameters:
    ///   - adminToken: `server.admin_token`; nil disables the console.
    ///   - viewerTokens: `server.viewer_tokens` (read-only logins).
    ///   - tls: the server speaks HTTPS (cookies get `Secure`).
    public init(adminToken: String?, viewerTokens: [String], tls: Bool, pages: ConsolePages, logger: Logger) {
        tokens = adminToken.map { ConsoleTokens(admin: $0, viewers: viewerTokens) }
        sessions = ConsoleSessions()
        secureCookies = tls
        self.pages = pages
        self.logger = logger
    }

    /// Registers every `/console` route (and the static stylesheet and script) on `router`.
    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/console/static/console.css") { _, _ in asset(ConsoleAssets.css, type: "text/css; charset=utf-8") }
        router.get("/console/static/console.js") { _, _ in asset(ConsoleAssets.js, type: "text/javascript; charset=utf-8") }
        router.get("/console/login") { request, _ in
            // Why a page sent the browser here: one of the fixed refusal messages, never text from the URL.
            let why = ConsoleForm.query(request)["session"].flatMap(ConsoleSessions.Refusal.init(rawValue:))
            return try await loginForm(request, message: why.flatMap { $0 == .missing ? nil : $0.message }, status: 200)
        }
        router.post("/console/login") { request, _ in try await login(request) }
        router.post("/console/logout") { request, _ in
            try await guarded(request, form: true) { session, _, _ in
                sessions.revoke(session)
                var r = redirect("/console/login")
                r.headers[values: .setCookie] = [clearCookie(ConsoleSessions.cookieName)]
                return r
            }
        }
        router.get("/console") { request, _ in
            try await guarded(request) { _, viewer, _ in page(try await pages.overview(viewer: viewer)) }
        }
        router.get("/console/dead-letters") { request, _ in
            try await guarded(request) { _, viewer, _ in page(try await pages.deadLetters(ConsoleForm.query(request), viewer: viewer)) }
        }
        router.post("/console/dead-letters/preview") { request, _ in
            try await guarded(request, form: true) { _, viewer, form in page(try await pages.dlqAction(form, apply: false, viewer: viewer)) }
        }
        router.post("/console/dead-letters/apply") { request, _ in
            try await guarded(request, form: true) { _, viewer, form in page(try await pages.dlqAction(form, apply: true, viewer: viewer)) }
        }
        router.get("/console/jobs/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await guarded(request) { _, viewer, _ in page(try await pages.job(id: id, viewer: viewer)) }
        }
        router.get("/console/events") { request, _ in
            try await guarded(request) { _, viewer, _ in page(try await pages.events(ConsoleForm.query(request), viewer: viewer)) }
        }
        router.get("/console/targets") { request, _ in
            try await guarded(request) { _, viewer, _ in page(pages.targetsPage(viewer: viewer)) }
        }
        router.get("/console/rules") { request, _ in
            try await guarded(request) { _, viewer, _ in page(pages.rulesPage(trial: nil, viewer: viewer)) }
        }
        router.post("/console/rules/try") { request, _ in
            try await guarded(request, form: true, limit: ConsolePages.maxTryBody + 16 * 1024) { _, viewer, form in
                page(pages.rulesPage(trial: form, viewer: viewer))
            }
        }
    }

    // MARK: Login

    /// The login form; a browser without the pre-login cookie gets one (its CSRF token is bound to it).
    func loginForm(_ request: Request, message: String?, status: Int) async throws -> Response {
        guard tokens != nil else { return disabled() }
        var nonce = ConsoleForm.cookie(ConsoleSessions.loginCookieName, in: request) ?? ""
        var setCookie: String?
        if nonce.utf8.count != 32 || !nonce.utf8.allSatisfy({ Hex.value($0) != nil }) {
            nonce = ConsoleSessions.randomHex(16)
            setCookie = cookie(ConsoleSessions.loginCookieName, nonce, maxAge: 3600)
        }
        var r = page(pages.loginPage(message: message, loginToken: sessions.loginToken(for: nonce), status: status))
        if let setCookie { r.headers[values: .setCookie] = [setCookie] }
        return r
    }

    func login(_ request: Request) async throws -> Response {
        guard let tokens else { return disabled() }
        let form: ConsoleForm
        do {
            form = try await ConsoleForm.read(request, limit: 4096)
        } catch {
            return page(pages.errorPage(error.status, error.message, viewer: nil, back: "/console/login"))
        }
        guard sessions.checkLoginToken(form["_csrf"], loginNonce: ConsoleForm.cookie(ConsoleSessions.loginCookieName, in: request)) else {
            return try await loginForm(request, message: "The login form had expired or did not come from this console (CSRF check). Try again.", status: 403)
        }
        guard let presented = form["token"], !presented.isEmpty, let role = tokens.role(for: presented) else {
            logger.notice("console login refused: wrong token")
            return try await loginForm(request, message: "That token is not the admin token or a viewer token.", status: 401)
        }
        let (value, _) = sessions.issue(role: role)
        logger.notice("console login", metadata: ["role": "\(role.rawValue)"])
        var r = redirect("/console")
        r.headers[values: .setCookie] = [
            cookie(ConsoleSessions.cookieName, value, maxAge: Int(sessions.lifetime)), clearCookie(ConsoleSessions.loginCookieName),
        ]
        return r
    }

    // MARK: Guarding every page

    /// Runs `body` for a logged-in session. A page without a valid session redirects to the login
    /// form (a form post is refused with 401); a form post must carry the session's CSRF token (403
    /// otherwise). Errors from the journal become a 500 page without their detail (it is logged).
    func guarded(
        _ request: Request, form isForm: Bool = false, limit: Int = ConsoleForm.maxBody,
        _ body: (ConsoleSession, ConsoleViewer, ConsoleForm) async throws -> Response
    ) async throws -> Response {
        guard tokens != nil else { return disabled() }
        let session: ConsoleSession
        switch sessions.verify(ConsoleForm.cookie(ConsoleSessions.cookieName, in: request)) {
        case .success(let s): session = s
        case .failure(let refusal):
            if !isForm {
                var r = redirect(refusal == .missing ? "/console/login" : "/console/login?session=\(refusal.rawValue)")
                if refusal != .missing { r.headers[values: .setCookie] = [clearCookie(ConsoleSessions.cookieName)] }
                return r
            }
            var r = try await loginForm(request, message: refusal.message + " Nothing was done.", status: 401)
            r.headers[values: .setCookie].append(clearCookie(ConsoleSessions.cookieName))
            return r
        }
        let viewer = ConsoleViewer(role: session.role, csrf: sessions.csrfToken(for: session))
        var form = ConsoleForm(pairs: [])
        if isForm {
            do {
                form = try await ConsoleForm.read(request, limit: limit)
            } catch {
                return page(pages.errorPage(error.status, error.message, viewer: viewer))
            }
            guard sessions.checkCSRF(form["_csrf"], session: session) else {
                return page(
                    pages.errorPage(
                        403, "The form's CSRF token is missing or does not belong to this session; nothing was done. Reload the page and try again.",
                        viewer: viewer))
            }
        }
        do {
            return try await body(session, viewer, form)
        } catch {
            logger.error("console page failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return page(pages.errorPage(500, "The journal could not answer; the server log says why. Nothing was done.", viewer: viewer))
        }
    }

    // MARK: Responses

    func page(_ p: ConsolePage) -> Response {
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(
            status: HTTPResponse.Status(code: p.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: p.html)))
    }

    func asset(_ text: String, type: String) -> Response {
        var headers = Self.securityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = "private, max-age=300"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    func redirect(_ location: String) -> Response {
        var headers = Self.securityHeaders
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    func disabled() -> Response {
        jsonResponse(status: .notFound, body: ["error": "the console is disabled (set server.admin_token)"])
    }

    static let securityHeaders: HTTPFields = {
        var h = HTTPFields()
        h[.contentSecurityPolicy] = contentSecurityPolicy
        h[.xContentTypeOptions] = "nosniff"
        h[HTTPField.Name("X-Frame-Options")!] = "DENY"
        h[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        h[.cacheControl] = "no-store"
        return h
    }()

    func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/console; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")
    }

    func clearCookie(_ name: String) -> String { cookie(name, "", maxAge: 0) }
}
