import Foundation
import NIOSSL

/// The server's certificate chain and private key (`server.tls`), loaded and checked together, so
/// that a wrong file is named when the configuration is read (by `serve` and `config check`) with
/// what to change, instead of surfacing as a handshake failure at the first client.
///
/// Checks, each reported against the setting it is about: both files can be read; `cert_file`
/// holds at least one PEM certificate; `key_file` holds an unencrypted PEM private key; and that key
/// belongs to the first certificate of the chain.
struct ServerTLS {
    /// The setting under `server.tls` a problem is about.
    enum Setting: String, Sendable {
        case certFile = "cert_file"
        case keyFile = "key_file"
    }

    /// One thing wrong with the files, with what to do about it.
    struct Problem: Sendable, CustomStringConvertible {
        var setting: Setting
        var message: String
        var description: String { "server.tls.\(setting.rawValue): \(message)" }
    }

    /// The server configuration, or nil when ``problems`` is not empty.
    let configuration: TLSConfiguration?
    let problems: [Problem]

    /// Loads `certFile` (the server's certificate, then any intermediates) and `keyFile`.
    init(certFile: String, keyFile: String) {
        var problems: [Problem] = []
        let chain = Self.loadChain(certFile, &problems)
        let key = Self.loadKey(keyFile, &problems)
        guard let chain, let key else {
            (configuration, self.problems) = (nil, problems)
            return
        }
        let configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // BoringSSL refuses a private key that does not match the leaf certificate's public key
        // when the context is built; both files parsed, so that is what a failure here means.
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            problems.append(
                Problem(
                    setting: .keyFile,
                    message: "the private key in \(keyFile) does not belong to the first certificate in \(certFile) (\(error)); "
                        + "key_file must hold the key the server certificate was issued for, and cert_file must start with the "
                        + "server's own certificate, intermediates after it"))
        }
        (self.configuration, self.problems) = (problems.isEmpty ? configuration : nil, problems)
    }

    private static func loadChain(_ path: String, _ problems: inout [Problem]) -> [NIOSSLCertificate]? {
        let what = "cert_file is the PEM file with the server's certificate (-----BEGIN CERTIFICATE-----), then any intermediate CA certificates"
        guard let text = readable(path, .certFile, what, &problems) else { return nil }
        if let chain = try? NIOSSLCertificate.fromPEMFile(path), !chain.isEmpty { return chain }
        let swapped = text.contains("PRIVATE KEY-----") ? " but a private key (are cert_file and key_file swapped?)" : ""
        problems.append(Problem(setting: .certFile, message: "\(path) holds no PEM certificate\(swapped); \(what)"))
        return nil
    }

    private static func loadKey(_ path: String, _ problems: inout [Problem]) -> NIOSSLPrivateKey? {
        let what = "key_file is the PEM file with the server certificate's private key (-----BEGIN PRIVATE KEY-----), unencrypted"
        guard let text = readable(path, .keyFile, what, &problems) else { return nil }
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED") {
            problems.append(
                Problem(
                    setting: .keyFile,
                    message: "\(path) holds an encrypted private key, and the service cannot ask for its pass phrase; write it out "
                        + "unencrypted (openssl pkey -in \(path) -out server.key) to a file only the service's user can read"))
            return nil
        }
        if let key = try? NIOSSLPrivateKey(file: path, format: .pem) { return key }
        let swapped = text.contains("-----BEGIN CERTIFICATE-----") ? " but a certificate (are cert_file and key_file swapped?)" : ""
        problems.append(Problem(setting: .keyFile, message: "\(path) holds no PEM private key\(swapped); \(what)"))
        return nil
    }

    /// The file's text, or nil with a problem saying why it cannot be read.
    private static func readable(_ path: String, _ setting: Setting, _ what: String, _ problems: inout [Problem]) -> String? {
        if let data = FileManager.default.contents(atPath: path) { return String(decoding: data, as: UTF8.self) }
        var isFolder: ObjCBool = false
        let why =
            !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) ? "no such file"
            : isFolder.boolValue ? "it is a folder" : "the service's user may not read it"
        problems.append(Problem(setting: setting, message: "cannot read \(path) (\(why)); \(what)"))
        return nil
    }
}
