import ArgumentParser
import BridgeConfig
import BridgeCore
import BridgeStore
import BridgeWebhooks
import Foundation
import Logging

/// `dagbridge store scrub|migrate|copy`: maintenance of the journal.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Maintain the journal (the store file or database).",
        subcommands: [StoreScrub.self, StoreMigrate.self, StoreCopy.self])

    /// The journal's log in these commands: warnings and errors on stderr, so stdout holds only what
    /// the command reports.
    static var logger: Logger {
        var l = Logger(label: "dagbridge.store") { StreamLogHandler.standardError(label: $0) }
        l.logLevel = .warning
        return l
    }
}

/// `dagbridge store scrub`: removes sender credentials from rows written before intake replaced
/// them with a marker (journals of dagbridge before 0.2).
struct StoreScrub: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scrub",
        abstract: "Remove sender credentials (Authorization, Cookie, bearer and secret headers) from events already stored.",
        discussion: """
            Each stored header that carries credentials becomes "\(CredentialHeaders.marker)", and every copy of \
            its secret in the event's jobs (a template may have rendered it into a conf) and their attempts is \
            replaced too. The file is then rewritten (VACUUM) so the old bytes leave the disk file. The headers \
            are Authorization, Proxy-Authorization, Cookie, each bearer source's token header and each source's \
            secret_headers (with --config), and any --header. Run it with the service stopped: the rewrite \
            takes the write lock.
            """)

    @OptionGroup var location: StoreLocation

    @Option(name: .customLong("header"), help: ArgumentHelp("Another header that carries credentials (repeatable).", valueName: "name"))
    var headers: [String] = []

    func validate() throws {
        if location.server != nil { throw ValidationError("store scrub works on the file: give --store PATH or --config FILE, not --server") }
    }

    func run() async throws {
        var names = CredentialHeaders.standard.union(headers.map { $0.lowercased() })
        if let config = location.config {
            let (root, problems) = YAMLLoader.load(path: config)
            if root == nil { throw Failure(message: problems.map(\.description).joined(separator: "\n")) }
            names.formUnion(WebhookSourceConfig.secretHeaderNames(inList: root?["sources"]?["webhooks"]))
        }
        let journal = try location.openSQLite(for: "store scrub")
        let report = try await journal.scrubCredentials(headerNames: names)
        print(
            "scrubbed \(report.events) event(s), \(report.jobs) job(s), \(report.attempts) attempt(s) "
                + "(headers: \(names.sorted().joined(separator: ", ")))" + (report.events > 0 ? "; the file was rewritten" : ""))
    }
}
