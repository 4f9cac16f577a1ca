import BridgeCore
import Foundation

/// A throwaway CA and a server certificate it signed for `IP:127.0.0.1` and `DNS:localhost`, made
/// with openssl(1) (EC P-256, valid for a day) in a folder the caller owns and removes: the private
/// keys never leave it.
struct TestCertificates {
    let dir: String
    /// The CA certificate a client trusts.
    var caFile: String { dir + "/ca.pem" }
    /// The server's certificate (signed by the CA) and its key.
    var certFile: String { dir + "/server.pem" }
    var keyFile: String { dir + "/server.key" }
    /// A key that belongs to no certificate here.
    var otherKeyFile: String { dir + "/other.key" }
    /// The server's key encrypted with a pass phrase.
    var encryptedKeyFile: String { dir + "/encrypted.key" }

    init(in dir: String) throws {
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(
            ["req", "-x509"] + ec + [
                "-keyout", dir + "/ca.key", "-out", caFile, "-days", "1", "-subj", "/CN=dagbridge test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        try Self.openssl(["req"] + ec + ["-keyout", keyFile, "-out", dir + "/server.csr", "-subj", "/CN=localhost"])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: dir + "/server.ext", atomically: true, encoding: .utf8)
        try Self.openssl([
            "x509", "-req", "-in", dir + "/server.csr", "-CA", caFile, "-CAkey", dir + "/ca.key", "-CAcreateserial",
            "-out", certFile, "-days", "1", "-extfile", dir + "/server.ext",
        ])
        try Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", otherKeyFile])
        try Self.openssl(["pkey", "-in", keyFile, "-aes256", "-passout", "pass:test-only", "-out", encryptedKeyFile])
    }

    private static func openssl(_ args: [String]) throws {
        let r = try runCommand(["/usr/bin/openssl"] + args)
        guard r.status == 0 else { throw BridgeError(.unavailable, "openssl \(args.joined(separator: " ")) failed: \(r.err)") }
    }
}
