import BridgeCore
import BridgeRules
import Foundation
import Testing

/// A rules folder laid out as Kubernetes mounts a ConfigMap: the files in a hidden timestamped
/// folder, `..data` pointing at it, and one symlink per file at the top. ``swap(to:)`` updates it
/// the way the kubelet does: write a new timestamped folder, point a temporary link at it, and
/// rename that link over `..data` (atomic), then remove the old folder.
struct ConfigMapFolder {
    let path: String
    private(set) var version = ""

    init(path: String, files: [String: String]) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try swap(to: files)
    }

    mutating func swap(to files: [String: String]) throws {
        let fm = FileManager.default
        let old = version
        version = "..2026_12_04_11_00_\(String(format: "%02d", Int.random(in: 0...59))).\(UUID().uuidString.prefix(6))"
        try fm.createDirectory(atPath: path + "/" + version, withIntermediateDirectories: false)
        for (name, text) in files { try text.write(toFile: path + "/\(version)/\(name)", atomically: false, encoding: .utf8) }
        try fm.createSymbolicLink(atPath: path + "/..data_tmp", withDestinationPath: version)
        guard rename(path + "/..data_tmp", path + "/..data") == 0 else { throw BridgeError(.unavailable, "rename ..data_tmp: errno \(errno)") }
        for name in files.keys where !fm.fileExists(atPath: path + "/" + name) {
            try fm.createSymbolicLink(atPath: path + "/" + name, withDestinationPath: "..data/" + name)
        }
        if !old.isEmpty { try fm.removeItem(atPath: path + "/" + old) }
    }
}

@Suite("rules folder mounted from a Kubernetes ConfigMap", .serialized, .onTestThreads, .timeLimit(.minutes(1)))
struct ConfigMapRulesTests {
    static func rule(_ name: String) -> String {
        """
        rules:
          - name: \(name)
            source: [github]
            match: { body: { ref: [refs/heads/main] } }
            trigger: { target: stub, dag_id: ci_build }
        """
    }

    @Test("each real file is loaded once, under its top-level name; dot-folders, loops and dangling links are skipped")
    func loadsEachFileOnce() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var folder = try ConfigMapFolder(path: dir.path + "/rules", files: ["github.yaml": Self.rule("github-push-main"), "other.yml": Self.rule("other")])
        // A real sub-folder reached twice (directly and through a link), a link back up (a loop),
        // a dangling link and a hidden file: none may add or repeat a rule.
        try FileManager.default.createDirectory(atPath: dir.path + "/rules/team", withIntermediateDirectories: false)
        try Self.rule("team").write(toFile: dir.path + "/rules/team/t.yaml", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/rules/team-again", withDestinationPath: "team")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/rules/team/up", withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/rules/gone.yaml", withDestinationPath: "..data/gone.yaml")
        try Self.rule("hidden").write(toFile: dir.path + "/rules/.hidden.yaml", atomically: false, encoding: .utf8)

        let files = RuleFiles.list(in: folder.path)
        #expect(files.map(\.path) == ["github.yaml", "other.yml", "team/t.yaml"].map { folder.path + "/" + $0 })
        #expect(files[0].resolved.hasSuffix("/\(folder.version)/github.yaml"))
        let loaded = RuleSetLoader.load(directory: folder.path, options: .init(targets: ["stub"]))
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.ruleSet?.rules.map(\.name).sorted() == ["github-push-main", "other", "team"])

        // A ConfigMap update changes the fingerprint even when sizes are equal (same-length rule names).
        let before = RuleFiles.fingerprint(of: folder.path)
        try folder.swap(to: ["github.yaml": Self.rule("github-push-dev1"), "other.yml": Self.rule("other")])
        #expect(RuleFiles.fingerprint(of: folder.path) != before)
        #expect(RuleSetLoader.load(directory: folder.path, options: .init(targets: ["stub"])).ruleSet?.rules.map(\.name).sorted()
            == ["github-push-dev1", "other", "team"])
    }

    @Test("serve starts on a ConfigMap-mounted rules folder and the file watcher picks up a ..data swap")
    func serveReloadsOnConfigMapSwap() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var folder = try ConfigMapFolder(path: dir.path + "/rules", files: ["github.yaml": Self.rule("github-push-main")])
        let port = Int.random(in: 23100...23999)
        let token = "0123456789abcdef-admin"
        try """
        server: { listen: "127.0.0.1:\(port)", admin_token: "\(token)", shutdown_timeout: 5s }
        store: { path: var/j.sqlite }
        targets:
          stub: { url: "http://127.0.0.1:9/", api: v2 }
        sources:
          webhooks:
            - name: github
              verify: { type: none }
        """.write(toFile: dir.path + "/dagbridge.yaml", atomically: true, encoding: .utf8)
        let serve = try await ServeProcess.start(dir: dir.path, port: port, env: [:])
        defer { serve.terminate() }
        func ruleNames() throws -> [String] {
            let (status, answer) = try adminCall(token, "GET", serve.base + "/admin/rules")
            #expect(status == 200)
            return answer?["rules"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        }
        #expect(try ruleNames() == ["github-push-main"])

        try folder.swap(to: ["github.yaml": Self.rule("github-push-dev1"), "extra.yaml": Self.rule("extra")])
        #expect(try await waitFor(10) { try ruleNames().sorted() == ["extra", "github-push-dev1"] }, "\(serve.log)")
        #expect(serve.log.contains("rules reloaded"))
    }
}
