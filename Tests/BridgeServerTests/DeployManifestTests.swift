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
}
