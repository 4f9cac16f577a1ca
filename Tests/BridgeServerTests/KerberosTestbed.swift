import BridgeCore
import Foundation
import Testing

/// `scripts/kerberos-testbed.sh` for one test: a throwaway realm `DAGBRIDGE.TEST` with its KDC on a
/// free 127.0.0.1 port, and an Apache that requires Negotiate (mod_auth_gssapi, keytab of
/// `HTTP/localhost`) in front of a recording target, passing the authenticated principal on as
/// `X-Remote-User`. The client principal `dagbridge@DAGBRIDGE.TEST` has a ticket cache and a keytab.
final class KerberosTestbed: Sendable {
    static let script = packageRoot + "/scripts/kerberos-testbed.sh"

    /// What `kerberos-testbed.sh check` found missing (nil when everything is installed).
    static let missing: String? = {
        guard let (rc, out) = try? runScript([script, "check"], timeout: 30) else { return "the check did not run" }
        return rc == 0 ? nil : out.trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    /// Whether the Kerberos suites run: the testbed's packages are installed, or `CI=true` (where a
    /// missing testbed must fail, not skip). Elsewhere they are skipped with ``skipReason``.
    static var suitesRun: Bool { missing == nil || ProcessInfo.processInfo.environment["CI"] == "true" }
    static let skipReason: Comment =
        "the Kerberos testbed (krb5-kdc, krb5-admin-server, krb5-user, apache2, libapache2-mod-auth-gssapi) is not installed: scripts/setup.sh --test"

    /// The testbed's folder.
    let dir: String
    /// `KRB5_CONFIG`, `KRB5CCNAME`, `CLIENT_KEYTAB`, `PRINCIPAL` and `URL` as the script printed them.
    let settings: [String: String]

    private init(dir: String, settings: [String: String]) {
        self.dir = dir
        self.settings = settings
    }

    /// Apache's URL (`http://localhost:PORT`): the host names the service principal `HTTP/localhost`.
    var url: String { settings["URL"] ?? "" }
    /// The realm's krb5.conf, for `KRB5_CONFIG`.
    var krb5Config: String { settings["KRB5_CONFIG"] ?? "" }
    /// The client principal, as Apache reports it.
    var principal: String { settings["PRINCIPAL"] ?? "" }

    /// Starts the realm and Apache in `dir` (created here) in front of `target`. Throws when the
    /// packages are missing (reached only under `CI=true`) or the testbed does not start; a start
    /// that fails has already stopped what it started.
    static func start(dir: String, target: String) async throws -> KerberosTestbed {
        if let missing {
            throw BridgeError(.unavailable, "\(skipReason) (\(missing)); CI=true needs it")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (rc, out) = try await offPool { try runScript([script, "start", dir, target], timeout: 60) }
        guard rc == 0, out.contains("READY ") else {
            _ = try? await offPool { try runScript([script, "stop", dir]) }
            throw BridgeError(.unavailable, "kerberos-testbed.sh start failed (\(rc)): \(out)")
        }
        var settings: [String: String] = [:]
        for line in out.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            settings[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return KerberosTestbed(dir: dir, settings: settings)
    }

    /// The environment that gives `dagbridge` the client's ticket cache.
    var ticketCacheEnvironment: [String: String] {
        ["KRB5_CONFIG": krb5Config, "KRB5CCNAME": settings["KRB5CCNAME"] ?? ""]
    }

    /// The environment that gives `dagbridge` no ticket but the client's keytab (`KRB5_CLIENT_KTNAME`):
    /// GSS-API gets a ticket by itself into an empty cache of its own.
    var clientKeytabEnvironment: [String: String] {
        ["KRB5_CONFIG": krb5Config, "KRB5CCNAME": "FILE:\(dir)/from-keytab.ccache", "KRB5_CLIENT_KTNAME": settings["CLIENT_KEYTAB"] ?? ""]
    }

    /// The environment with neither a ticket (a cache that does not exist) nor a client keytab.
    var noTicketEnvironment: [String: String] {
        ["KRB5_CONFIG": krb5Config, "KRB5CCNAME": "FILE:\(dir)/no-ticket.ccache", "KRB5_CLIENT_KTNAME": "FILE:\(dir)/no-client.keytab"]
    }

    /// Gives `HTTP/localhost` a new key in the KDC only, so Apache's keytab no longer opens the
    /// tickets clients get from now on (a server keytab out of date).
    func rekeyService() async throws {
        let (rc, out) = try await offPool { try runScript([Self.script, "rekey", self.dir]) }
        guard rc == 0 else { throw BridgeError(.unavailable, "kerberos-testbed.sh rekey failed (\(rc)): \(out)") }
    }

    /// Stops Apache and the KDC (for `defer`, so it blocks: a second at most).
    func stop() { _ = try? runScript([Self.script, "stop", dir]) }
}
