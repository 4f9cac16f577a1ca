import BridgeConfig
import BridgeStore
import Foundation
import Testing

@testable import BridgeServer
@testable import BridgeDispatch
@testable import BridgeIntake
@testable import BridgeWebhooks

/// The deploy files reference what the service really reads and serves.
@Suite struct DeployManifestTests {
    static let root = packageRoot + "/deploy"

    func text(_ path: String) throws -> String { try String(contentsOfFile: Self.root + "/" + path, encoding: .utf8) }

    @Test func embeddedConfigIsTheShippedConfigAndParses() throws {
        let manifest = try text("kubernetes/dagbridge.yaml")
        let shipped = try text("dagbridge.yaml")
        // The ConfigMap's dagbridge.yaml is the file the image ships, indented by four spaces.
        let indented = shipped.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "    " + $0 }.joined(separator: "\n")
        #expect(manifest.contains(indented))

        let env = [
            "DAGBRIDGE_ADMIN_TOKEN": "0123456789abcdef0123", "AIRFLOW_URL": "http://airflow:8080", "AIRFLOW_USER": "u",
            "AIRFLOW_PASSWORD": "p", "GITHUB_WEBHOOK_SECRET": "s",
        ]
        let (node, yamlDiags) = YAMLLoader.parse(shipped, file: "deploy/dagbridge.yaml")
        #expect(yamlDiags.isEmpty)
        var diags = Diagnostics()
        let config = ServiceConfig.parse(try #require(node), file: "/etc/dagbridge/dagbridge.yaml", resolver: SecretResolver(environment: env), diagnostics: &diags)
        let errors = diags.items.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors)")
        let c = try #require(config)
        #expect(c.server.port == 8080)
        #expect(c.store.path == "/var/lib/dagbridge/journal.sqlite")
        #expect(c.rules.path == "/etc/dagbridge/rules")
        #expect(c.webhooks.map(\.name) == ["github"])
        // Every secret is a reference: nothing inline to warn about.
        #expect(!diags.items.contains { $0.message.contains("inline") })
    }

    @Test func manifestPortsProbesAndMountsMatchTheService() throws {
        let manifest = try text("kubernetes/dagbridge.yaml")
        for needle in [
            "containerPort: 8080", "path: /healthz", "path: /readyz", "prometheus.io/path: /metrics", "prometheus.io/port: \"8080\"",
            "mountPath: /var/lib/dagbridge", "mountPath: /etc/dagbridge/rules", "args: [\"serve\", \"--config\", \"/etc/dagbridge/dagbridge.yaml\"]",
            "kind: StatefulSet", "volumeClaimTemplates:",
        ] {
            #expect(manifest.contains(needle), "manifest lacks \(needle)")
        }
        let unit = try text("systemd/dagbridge.service")
        #expect(unit.contains("ExecStart=/usr/local/bin/dagbridge serve --config /etc/dagbridge/dagbridge.yaml"))
        #expect(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"))
        let docker = try text("Dockerfile")
        #expect(docker.contains("EXPOSE 8080"))
        #expect(docker.contains(#"CMD ["serve", "--config", "/etc/dagbridge/dagbridge.yaml"]"#))
        #expect(docker.contains("libcurl4") && docker.contains("librdkafka1"))
    }

    @Test("the PostgreSQL manifest: 3 stateless replicas behind a PDB, the database URL from a Secret, the shipped config with a postgres store")
    func postgresManifestIsAStatelessFleet() throws {
        let manifest = try text("kubernetes/dagbridge-postgres.yaml")
        for needle in [
            "kind: Deployment", "replicas: 3", "maxUnavailable: 0", "maxSurge: 1", "topologyKey: kubernetes.io/hostname",
            "kind: PodDisruptionBudget", "apiVersion: policy/v1", "name: DAGBRIDGE_DATABASE_URL", "secretKeyRef:", "name: dagbridge-database",
            "key: url", "mountPath: /etc/dagbridge/db-ca", "containerPort: 8080", "path: /healthz", "path: /readyz",
            "prometheus.io/path: /metrics", "prometheus.io/port: \"8080\"", "mountPath: /etc/dagbridge/rules",
            "args: [\"serve\", \"--config\", \"/etc/dagbridge/dagbridge.yaml\"]",
        ] {
            #expect(manifest.contains(needle), "manifest lacks \(needle)")
        }
        // Stateless: no journal volume.
        for needle in ["volumeClaimTemplates", "kind: StatefulSet", "/var/lib/dagbridge"] {
            #expect(!manifest.contains(needle), "manifest has \(needle)")
        }

        // The ConfigMap's dagbridge.yaml (indented by four spaces) is the shipped config with another store section.
        let lines = manifest.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex(of: "  dagbridge.yaml: |")) + 1
        let embedded = lines[start...].prefix { $0.isEmpty || $0.hasPrefix("    ") }.map { $0.dropFirst(4) }.joined(separator: "\n")
        let store = Self.section("store", of: embedded)
        #expect(store.contains("backend: postgres"), "\(store)")
        #expect(store.contains(#"url: "${env:DAGBRIDGE_DATABASE_URL}""#), "\(store)")
        #expect(!store.contains("path:"), "\(store)")
        let shipped = try text("dagbridge.yaml")
        #expect(Self.withoutSection("store", of: embedded) == Self.withoutSection("store", of: shipped))

        // The pod's grace period covers the preStop sleep and the dispatcher's drain, with room for the rest.
        func number(after key: String, in text: String) -> Int? {
            text.range(of: key).flatMap { Int(text[$0.upperBound...].prefix { $0.isNumber }) }
        }
        let grace = try #require(number(after: "terminationGracePeriodSeconds: ", in: manifest))
        let drain = try #require(number(after: "shutdown_timeout: ", in: embedded))
        let preStop = try #require(number(after: #"command: ["sleep", ""#, in: manifest))
        #expect(grace >= preStop + drain + 10, "terminationGracePeriodSeconds \(grace) < \(preStop) + \(drain) + 10")
    }

    /// A top-level section of a YAML text, its key line included.
    static func section(_ key: String, of yaml: String) -> String {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(of: "\(key):"[...]) else { return "" }
        return ([lines[start]] + lines[(start + 1)...].prefix { $0.hasPrefix(" ") }).joined(separator: "\n")
    }

    /// A YAML text without one top-level section, trailing newlines dropped.
    static func withoutSection(_ key: String, of yaml: String) -> String {
        var lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        if let start = lines.firstIndex(of: "\(key):"[...]) {
            let end = lines[(start + 1)...].firstIndex { !$0.hasPrefix(" ") } ?? lines.endIndex
            lines.removeSubrange(start..<end)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n")
    }

    @Test("the image's HEALTHCHECK asks the running service's /healthz, with a client the runtime stage installs")
    func dockerHealthcheckCallsHealthz() throws {
        let docker = try text("Dockerfile")
        let check = try #require(docker.split(separator: "\n").first { $0.hasPrefix("HEALTHCHECK") }.map(String.init))
        let runtime = try #require(docker.components(separatedBy: "FROM debian:bookworm-slim").last)
        #expect(check.contains(#""curl""#) && runtime.contains(" curl "), "\(check)")
        // The URL names the path the service serves and the port the shipped config listens on.
        let (node, _) = YAMLLoader.parse(try text("dagbridge.yaml"), file: "deploy/dagbridge.yaml")
        var diags = Diagnostics()
        let server = ServiceConfig.Server(
            try #require(node?["server"]), resolvePath: { $0 }, resolver: SecretResolver(environment: ["DAGBRIDGE_ADMIN_TOKEN": "0123456789abcdef0123"]),
            diagnostics: &diags)
        #expect(check.contains("http://127.0.0.1:\(server.port)/healthz"), "\(check)")
        #expect(!check.contains("version"))
    }

    @Test(
        "every manifest in deploy/kubernetes passes the Kubernetes schemas (strict, offline), and copies broken on purpose do not",
        .enabled(KubernetesValidate.skipReason) { try await offPool { KubernetesValidate.testRuns } }, .timeLimit(.minutes(3)))
    func manifestsPassTheKubernetesSchemas() async throws {
        try #require(KubernetesValidate.installed, "\(KubernetesValidate.skipReason); CI=true needs it")
        let folder = Self.root + "/kubernetes"
        let manifests = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        try #require(!manifests.isEmpty)
        let all = try await offPool { try KubernetesValidate.run(manifests.map { folder + "/" + $0 }) }
        #expect(all.status == 0, "\(all.output)")

        // The same validator refuses the StatefulSet with one thing wrong: a misspelled field (strict),
        // a field of the wrong type, an apiVersion without a schema (a warning that the script fails on).
        let dir = try TempDir()
        defer { dir.cleanup() }
        let manifest = try text("kubernetes/dagbridge.yaml")
        for (name, from, to, says) in [
            ("field", "livenessProbe:", "livenesProbe:", "'livenesProbe' was unexpected"),
            ("type", "containerPort: 8080", "containerPort: \"8080\"", "containerPort: '8080' is not of type 'integer'"),
            ("api", "apiVersion: apps/v1", "apiVersion: apps/v1beta9", "Couldn't find schema for kind StatefulSet"),
        ] {
            try #require(manifest.contains(from), "the manifest no longer has \(from): pick another breakage")
            let broken = dir.path + "/broken-\(name).yaml"
            try manifest.replacingOccurrences(of: from, with: to).write(toFile: broken, atomically: true, encoding: .utf8)
            let r = try await offPool { try KubernetesValidate.run([broken]) }
            #expect(r.status == 1 && r.output.contains(says), "\(name): \(r.output)")
        }
    }
}

/// `scripts/k8s-validate.sh`: kubernetes-validate (PyPI, with the Kubernetes schemas bundled) in a
/// cached venv, installed on first use.
enum KubernetesValidate {
    static let script = packageRoot + "/scripts/k8s-validate.sh"
    /// Whether the venv is there or could be built now (blocks for a pip install the first time).
    static let installed: Bool = { (try? runCommand([script, "install"], timeout: 300))?.status == 0 }()
    /// Installed, or `CI=true`, where a missing validator must fail the test rather than skip it.
    static var testRuns: Bool { installed || ProcessInfo.processInfo.environment["CI"] == "true" }
    static let skipReason: Comment = "kubernetes-validate (PyPI) cannot be installed here (scripts/k8s-validate.sh install)"

    /// Validates `files`; exit status 0 only when every resource passed (1 otherwise), and everything printed.
    static func run(_ files: [String]) throws -> (status: Int32, output: String) {
        let r = try runCommand([script] + files)
        return (r.status, r.out + r.err)
    }
}
