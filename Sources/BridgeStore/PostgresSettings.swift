public import BridgeCore
import Foundation

/// Where a shared journal lives: the parts of a `postgres://` URL, with the password kept as a
/// ``Secret`` (redacted whenever the settings are printed).
///
/// The URL has the libpq form `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=MODE&sslrootcert=FILE`
/// (`postgresql://` too); user, password and database may be percent-encoded. Query parameters
/// other than `sslmode`, `sslrootcert` and `application_name` are refused, so a typo does not
/// silently turn TLS off.
public struct PostgresSettings: Sendable, Equatable, CustomStringConvertible {
    /// libpq's `sslmode` values.
    public enum SSLMode: String, Sendable, Equatable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, without checking its certificate (libpq's default).
        case prefer
        /// TLS required, certificate not checked.
        case require
        /// TLS required, the certificate must chain to `sslrootcert` (or the system's roots); the name is not checked.
        case verifyCA = "verify-ca"
        /// TLS required, the certificate must chain to `sslrootcert` and name the host.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: Secret?
    public var database: String
    public var sslMode: SSLMode
    /// CA bundle (PEM) that the server's certificate must chain to (`verify-ca`, `verify-full`).
    public var sslRootCert: String?
    public var applicationName: String

    public init(
        host: String, port: Int = 5432, user: String, password: Secret? = nil, database: String, sslMode: SSLMode = .prefer,
        sslRootCert: String? = nil, applicationName: String = "dagbridge"
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.sslRootCert = sslRootCert
        self.applicationName = applicationName
    }

    /// The URL without its password (safe to log).
    public var description: String {
        let auth = password == nil ? user : "\(user):<redacted>"
        var q = "sslmode=\(sslMode.rawValue)"
        if let ca = sslRootCert { q += "&sslrootcert=\(ca)" }
        return "postgres://\(auth)@\(host):\(port)/\(database)?\(q)"
    }

    /// Reads a `postgres://` URL.
    /// - Throws: ``BridgeError`` (`.config`) saying which part is wrong and what to write; the
    ///   message never contains the password.
    public static func parse(url secret: Secret) throws(BridgeError) -> PostgresSettings {
        let text = secret.value.trimmingCharacters(in: .whitespaces)
        let schemes = ["postgres://", "postgresql://"]
        guard let scheme = schemes.first(where: { text.lowercased().hasPrefix($0) }) else {
            throw BridgeError(.config, "the database URL must start with postgres:// (postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full)")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var query = Substring("")
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        // userinfo ends at the last '@' (a password may hold an unescaped one).
        guard let at = rest.lastIndex(of: "@") else {
            throw BridgeError(.config, "the database URL names no user: write postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        let userinfo = rest[..<at]
        let hostport = rest[rest.index(after: at)...]
        var user = userinfo
        var password: Secret? = nil
        if let colon = userinfo.firstIndex(of: ":") {
            user = userinfo[..<colon]
            let raw = String(userinfo[userinfo.index(after: colon)...])
            guard let p = raw.removingPercentEncoding else {
                throw BridgeError(.config, "the database URL's password is not valid percent-encoding (write %40 for @, %2F for /)")
            }
            password = Secret(p, origin: secret.origin)
        }
        guard let userName = String(user).removingPercentEncoding, !userName.isEmpty else {
            throw BridgeError(.config, "the database URL names no user: write postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        var host = hostport
        var port = 5432
        if hostport.hasPrefix("[") {
            guard let close = hostport.firstIndex(of: "]") else { throw BridgeError(.config, "the database URL's IPv6 host lacks its ']'") }
            host = hostport[hostport.index(after: hostport.startIndex)..<close]
            let after = hostport[hostport.index(after: close)...]
            if after.hasPrefix(":") { port = try parsePort(after.dropFirst()) } else if !after.isEmpty {
                throw BridgeError(.config, "the database URL has '\(after)' after its host")
            }
        } else if let colon = hostport.lastIndex(of: ":") {
            host = hostport[..<colon]
            port = try parsePort(hostport[hostport.index(after: colon)...])
        }
        guard !host.isEmpty else { throw BridgeError(.config, "the database URL names no host: write postgres://USER:PASSWORD@HOST:PORT/DATABASE") }
        guard let database = String(path).removingPercentEncoding, !database.isEmpty else {
            throw BridgeError(.config, "the database URL names no database: end it with /DATABASE (e.g. postgres://dagbridge@db:5432/dagbridge)")
        }
        var settings = PostgresSettings(host: String(host), port: port, user: userName, password: password, database: database)
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1)
            let key = String(kv[0])
            let value = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
            switch key {
            case "sslmode":
                guard let m = SSLMode(rawValue: value) else {
                    throw BridgeError(
                        .config, "sslmode '\(value)' is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                settings.sslMode = m
            case "sslrootcert":
                guard !value.isEmpty else { throw BridgeError(.config, "sslrootcert is empty: name a PEM file of CA certificates") }
                settings.sslRootCert = value
            case "application_name":
                settings.applicationName = value
            default:
                throw BridgeError(
                    .config, "the database URL's parameter '\(key)' is not supported (supported: sslmode, sslrootcert, application_name)")
            }
        }
        if settings.sslRootCert != nil, settings.sslMode != .verifyCA, settings.sslMode != .verifyFull {
            throw BridgeError(.config, "sslrootcert is only read with sslmode=verify-ca or verify-full (sslmode is \(settings.sslMode.rawValue))")
        }
        if let ca = settings.sslRootCert, !FileManager.default.isReadableFile(atPath: ca) {
            throw BridgeError(.config, "sslrootcert '\(ca)' cannot be read")
        }
        return settings
    }

    private static func parsePort(_ s: Substring) throws(BridgeError) -> Int {
        guard let p = Int(s), (1...65535).contains(p) else {
            throw BridgeError(.config, "the database URL's port '\(s)' is not a number from 1 to 65535")
        }
        return p
    }
}
