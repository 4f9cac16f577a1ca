import BridgeCore
import Foundation
import Testing

@testable import BridgeWebhooks

/// `server.tls`: a real `dagbridge serve` with a certificate from a throwaway CA, called with
/// curl(1) over HTTPS; and the start-up errors for files that cannot work.
@Suite("server.tls (real process, throwaway CA)", .serialized, .onTestThreads, .timeLimit(.minutes(2)))
struct ServerTLSTests {
    /// `curl -sS` trusting nothing by default; the exit code (0, or 60 for an untrusted peer), the
    /// HTTP status (0 when none came back), and curl's error text.
    func https(_ args: [String]) throws -> (exit: Int32, status: Int, err: String) {
        let r = try runCommand(["/usr/bin/curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}"] + args)
        return (r.status, Int(r.out) ?? 0, r.err)
    }

    /// A config in `dir` whose server listens on `port` with `tls` (paths relative to the config's folder).
    func writeConfig(_ dir: String, port: Int, tls: String, target: String = "http://127.0.0.1:9") throws {
        try FileManager.default.createDirectory(atPath: dir + "/rules", withIntermediateDirectories: true)
        try """
        rules:
          - name: gh
            source: [github]
            match: { body: { ref: [refs/heads/main] } }
            trigger: { target: stub, dag_id: ci_build }
        """.write(toFile: dir + "/rules/r.yaml", atomically: true, encoding: .utf8)
        try """
        server: { listen: "127.0.0.1:\(port)", shutdown_timeout: 5s, tls: \(tls) }
        logging: { format: json }
        store: { path: var/j.sqlite }
        rules: { watch: false }
        targets:
          stub: { url: "\(target)", api: v2 }
        sources:
          webhooks:
            - name: github
              verify: { type: github, secret: "gh-secret" }
        """.write(toFile: dir + "/dagbridge.yaml", atomically: true, encoding: .utf8)
    }

    @Test("HTTPS with the CA: /healthz by IP and by name, a signed webhook 202 and delivered; without the CA, for another name, or in plain HTTP: no answer")
    func servesHTTPSWithTheConfiguredCertificate() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let certs = try TestCertificates(in: dir.path + "/tls")
        let target = try RecordingTarget(dir: dir.path)
        defer { target.stop() }
        let port = freePort(23_100..<24_000)
        try writeConfig(dir.path, port: port, tls: "{ cert_file: tls/server.pem, key_file: tls/server.key }", target: target.url)
        let serve = try await ServeProcess.start(dir: dir.path, port: port, env: [:], caFile: certs.caFile)
        defer { serve.terminate() }
        #expect(serve.base == "https://127.0.0.1:\(port)")
        let trust = ["--cacert", certs.caFile]

        // Trusting the CA: by IP (subjectAltName IP:127.0.0.1) and by name (DNS:localhost, pinned to
        // 127.0.0.1 so the name, not the resolver, is what is checked).
        #expect(try https(trust + [serve.base + "/healthz"]) == (0, 200, ""))
        #expect(try https(trust + ["--resolve", "localhost:\(port):127.0.0.1", "https://localhost:\(port)/healthz"]) == (0, 200, ""))
        let body = #"{"ref":"refs/heads/main"}"#
        let sig = "sha256=" + Hex.encode(hmac(.sha256, key: Array("gh-secret".utf8), Array(body.utf8)))
        let (status, answer) = try curl(
            trust + [
                "-X", "POST", serve.base + "/hooks/github", "--data-binary", body, "-H", "Content-Type: application/json",
                "-H", "X-GitHub-Delivery: tls-1", "-H", "X-Hub-Signature-256: \(sig)",
            ])
        #expect(status == 202, "\(answer)")
        #expect(try await waitFor(10) { target.created() == ["gh__tls-1"] }, "\(target.created())")

        // A client that does not trust the CA fails the handshake (curl 60: peer certificate cannot be
        // authenticated), and so does one that trusts it but asks for a name the certificate lacks.
        let untrusted = try https([serve.base + "/healthz"])
        #expect(untrusted.exit == 60 && untrusted.status == 0, "\(untrusted)")
        #expect(untrusted.err.contains("certificate"), "\(untrusted.err)")
        let otherName = try https(trust + ["--resolve", "other.example:\(port):127.0.0.1", "https://other.example:\(port)/healthz"])
        #expect(otherName.exit == 60 && otherName.status == 0, "\(otherName)")
        // Plain HTTP to the TLS port gets no HTTP answer at all.
        let plain = try https(["http://127.0.0.1:\(port)/healthz"])
        #expect(plain.exit != 0 && plain.status == 0, "\(plain)")

        // The refused clients did not hurt the server.
        #expect(try https(trust + [serve.base + "/readyz"]) == (0, 200, ""))
        #expect(serve.terminate() == 0)
    }

    /// A `server.tls` that cannot work, and what the error must say.
    struct BadFiles: Sendable, CustomTestStringConvertible {
        var name: String
        var cert: String
        var key: String
        var setting: String
        var says: [String]
        var testDescription: String { name }
    }

    static let badFiles = [
        BadFiles(name: "missing certificate", cert: "tls/nope.pem", key: "tls/server.key", setting: "cert_file", says: ["/tls/nope.pem (no such file)"]),
        BadFiles(
            name: "garbage certificate", cert: "tls/garbage.pem", key: "tls/server.key", setting: "cert_file",
            says: ["/tls/garbage.pem holds no PEM certificate;", "-----BEGIN CERTIFICATE-----"]),
        BadFiles(
            name: "garbage key", cert: "tls/server.pem", key: "tls/garbage.pem", setting: "key_file",
            says: ["/tls/garbage.pem holds no PEM private key;", "-----BEGIN PRIVATE KEY-----"]),
        BadFiles(
            name: "key of another certificate", cert: "tls/server.pem", key: "tls/other.key", setting: "key_file",
            says: ["the private key in", "/tls/other.key does not belong to the first certificate in", "/tls/server.pem"]),
        BadFiles(
            name: "server certificate after the CA", cert: "tls/ca-first.pem", key: "tls/server.key", setting: "key_file",
            says: ["does not belong to the first certificate", "must start with the server's own certificate"]),
        BadFiles(
            name: "cert and key swapped", cert: "tls/server.key", key: "tls/server.pem", setting: "cert_file",
            says: ["holds no PEM certificate but a private key (are cert_file and key_file swapped?)"]),
        BadFiles(
            name: "encrypted key", cert: "tls/server.pem", key: "tls/encrypted.key", setting: "key_file",
            says: ["holds an encrypted private key", "openssl pkey -in"]),
    ]

    @Test("a server.tls that cannot work stops serve at start-up, and config check, naming the file, the setting and what to change", arguments: badFiles)
    func badFilesAreRefusedAtStartup(_ bad: BadFiles) async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let certs = try TestCertificates(in: dir.path + "/tls")
        try "not a PEM file\n".write(toFile: certs.dir + "/garbage.pem", atomically: true, encoding: .utf8)
        try (String(contentsOfFile: certs.caFile, encoding: .utf8) + String(contentsOfFile: certs.certFile, encoding: .utf8))
            .write(toFile: certs.dir + "/ca-first.pem", atomically: true, encoding: .utf8)
        let port = freePort(23_100..<24_000)
        try writeConfig(dir.path, port: port, tls: "{ cert_file: \(bad.cert), key_file: \(bad.key) }")
        let config = dir.path + "/dagbridge.yaml"

        for command in [["serve"], ["config", "check"]] {
            let r = try await offPool { try runCommand([CLI.binary] + command + ["--config", config]) }
            #expect(r.status == 1, "\(command): \(r.err)")
            // file:line:col of the setting, the key path, and the message.
            let line = r.err.split(separator: "\n").first { $0.contains("(at server.tls.\(bad.setting))") }.map(String.init) ?? ""
            #expect(line.hasPrefix(config + ":1:"), "\(command): \(r.err)")
            for text in bad.says { #expect(line.contains(text), "\(command): \(r.err)") }
        }
        // Nothing listens: serve stopped before binding.
        #expect(try https(["-k", "https://127.0.0.1:\(port)/healthz"]).status == 0)
    }
}
