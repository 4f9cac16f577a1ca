import BridgeCore
import Foundation
import Testing

/// A Kerberos target for real: `dagbridge serve` delivers a webhook's run through Apache with
/// mod_auth_gssapi requiring Negotiate (`scripts/kerberos-testbed.sh`: a throwaway MIT realm on
/// 127.0.0.1) to a recording target, with the ticket cache or the client keytab that libcurl's
/// GSS-API finds through the environment; without a ticket the job is dead-lettered with a reason
/// that says Kerberos failed and what to check.
@Suite(
    "Kerberos (SPNEGO) target behind Apache mod_auth_gssapi", .serialized, .onTestThreads, .timeLimit(.minutes(2)),
    .enabled(if: KerberosTestbed.suitesRun, KerberosTestbed.skipReason))
struct KerberosTargetTests {
    /// How dagbridge gets its Kerberos credentials.
    enum Credentials: String, CaseIterable, CustomTestStringConvertible {
        case ticketCache = "ticket cache (KRB5CCNAME after kinit)"
        case clientKeytab = "client keytab (KRB5_CLIENT_KTNAME)"
        var testDescription: String { rawValue }
    }

    /// A started testbed, recording target and `dagbridge serve` with the README's Kerberos target.
    struct Setup {
        let dir: TempDir
        let target: RecordingTarget
        let bed: KerberosTestbed
        let serve: ServeProcess

        /// - Parameters:
        ///   - environment: the Kerberos variables for `dagbridge serve`.
        ///   - before: runs on the testbed before `dagbridge serve` starts.
        static func start(
            environment: (KerberosTestbed) -> [String: String], before: (KerberosTestbed) async throws -> Void = { _ in }
        ) async throws -> Setup {
            let dir = try TempDir()
            var target: RecordingTarget?
            var bed: KerberosTestbed?
            do {
                target = try RecordingTarget(dir: dir.path, options: ["--record-header", "X-Remote-User"])
                bed = try await KerberosTestbed.start(dir: dir.path + "/krb", target: target!.url)
                let port = freePort(23_100..<24_000)
                try FileManager.default.createDirectory(atPath: dir.path + "/rules", withIntermediateDirectories: true)
                try """
                rules:
                  - name: paid
                    source: [orders]
                    match: { body: { status: [paid] } }
                    trigger: { target: kerberized, dag_id: process_order, conf: { order: "{{ body.id }}" } }
                """.write(toFile: dir.path + "/rules/orders.yaml", atomically: true, encoding: .utf8)
                // The target as the README's Kerberos example has it; the URL's host names the service principal.
                try """
                server: { listen: "127.0.0.1:\(port)", shutdown_timeout: 5s }
                logging: { format: json }
                store: { path: var/journal.sqlite }
                rules: { watch: false }
                targets:
                  kerberized:
                    url: \(bed!.url)
                    api: v1
                    auth: { type: kerberos }
                sources:
                  webhooks:
                    - name: orders
                      verify: { type: none }
                      event_id: header:X-Request-Id
                """.write(toFile: dir.path + "/dagbridge.yaml", atomically: true, encoding: .utf8)
                try await before(bed!)
                let serve = try await ServeProcess.start(dir: dir.path, port: port, env: environment(bed!))
                return Setup(dir: dir, target: target!, bed: bed!, serve: serve)
            } catch {
                bed?.stop()
                target?.stop()
                dir.cleanup()
                throw error
            }
        }

        /// Posts a paid order; the webhook's answer.
        func order(_ id: String) throws -> (Int, String) {
            try curlPost(
                serve.base + "/hooks/orders", body: #"{"id": "\#(id)", "status": "paid"}"#,
                headers: ["Content-Type": "application/json", "X-Request-Id": id])
        }

        /// Waits for the one dead-lettered job (`dagbridge dlq list --config … --json`) and returns it.
        func deadJob() async throws -> JSONValue {
            let config = dir.path + "/dagbridge.yaml"
            var items: [JSONValue] = []
            _ = try await waitFor(20) {
                items = try await CLI.run(["dlq", "list", "--config", config, "--json"]).json?.arrayValue ?? []
                return !items.isEmpty
            }
            #expect(items.count == 1, "\(items) \(serve.log)")
            return try #require(items.first)
        }

        func stop() {
            serve.terminate()
            bed.stop()
            target.stop()
            dir.cleanup()
        }
    }

    @Test("a webhook becomes a run created through SPNEGO: Apache authenticated dagbridge's principal before the target saw the call", arguments: Credentials.allCases)
    func runCreatedThroughSPNEGO(_ credentials: Credentials) async throws {
        let setup = try await Setup.start { bed in
            credentials == .ticketCache ? bed.ticketCacheEnvironment : bed.clientKeytabEnvironment
        }
        defer { setup.stop() }
        let (status, answer) = try setup.order("o-1")
        #expect(status == 202, "\(answer)")
        #expect(try JSONParser.parse(answer)["dag_run_ids"] == ["paid__o-1"])
        #expect(try await waitFor(20) { setup.target.created() == ["paid__o-1"] }, "\(setup.target.created()) \(setup.serve.log)")
        // Apache lets a request through only after mod_auth_gssapi accepted its Negotiate token,
        // and sets X-Remote-User to the principal it authenticated.
        let seen = setup.target.recordedHeaders()
        #expect(seen.count == 1, "\(seen)")
        #expect(seen.first?.runID == "paid__o-1")
        #expect(seen.first?.headers["X-Remote-User"] == setup.bed.principal, "\(seen)")
        #expect(setup.bed.principal == "dagbridge@DAGBRIDGE.TEST")
        let dead = try await CLI.run(["dlq", "list", "--config", setup.dir.path + "/dagbridge.yaml", "--json"])
        #expect(dead.json?.arrayValue == [], "\(dead.out) \(dead.err)")
    }

    @Test("without a ticket the job is dead-lettered at once with a reason that says Kerberos failed and what to check; nothing reaches the target")
    func noTicketDeadLetters() async throws {
        let setup = try await Setup.start { $0.noTicketEnvironment }
        defer { setup.stop() }
        let (status, answer) = try setup.order("o-2")
        #expect(status == 202, "\(answer)")
        let job = try await setup.deadJob()
        #expect(job["dag_run_id"] == "paid__o-2")
        #expect(job["attempts"] == 1, "a missing ticket is not retried")
        #expect(job["last_status"] == 401)
        let reason = job["reason"]?.stringValue ?? ""
        #expect(reason.contains("Kerberos authentication to target 'kerberized' failed (401): dagbridge got no ticket for HTTP/localhost (gss_init_sec_context() failed: "), "\(reason)")
        for check in ["klist", "KRB5CCNAME", "KRB5_CLIENT_KTNAME", "KRB5_CONFIG"] {
            #expect(reason.contains(check), "\(check) missing from: \(reason)")
        }
        #expect(setup.target.created().isEmpty)
        #expect(setup.target.recordedHeaders().isEmpty, "Apache let an unauthenticated call through")
    }

    @Test("a ticket the server refuses (its keytab is out of date): dead at once, and the reason points at the server's keytab, not at dagbridge's ticket")
    func refusedTicketDeadLetters() async throws {
        let setup = try await Setup.start(environment: { $0.ticketCacheEnvironment }, before: { try await $0.rekeyService() })
        defer { setup.stop() }
        let (status, answer) = try setup.order("o-3")
        #expect(status == 202, "\(answer)")
        let job = try await setup.deadJob()
        #expect(job["dag_run_id"] == "paid__o-3")
        #expect(job["attempts"] == 1)
        #expect(job["last_status"] == 401)
        let reason = job["reason"]?.stringValue ?? ""
        #expect(reason.contains("Kerberos authentication to target 'kerberized' failed (401): the server did not accept dagbridge's ticket for HTTP/localhost (gss_init_sec_context() failed: "), "\(reason)")
        #expect(reason.contains("kvno HTTP/localhost") && !reason.contains("got no ticket"), "\(reason)")
        #expect(setup.target.created().isEmpty)
        #expect(setup.target.recordedHeaders().isEmpty, "Apache let a call with a refused ticket through")
    }
}
