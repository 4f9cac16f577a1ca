@testable import BridgeAirflow
import BridgeDispatch
import BridgeConfig
import BridgeCore
import Foundation
import Testing

@Suite("targets: configuration")
struct TargetsConfigTests {
    static let env = ["AF_PW": "s3cret", "AF_TOKEN": "tok", "AWS_KEY": "AKID", "AWS_SECRET": "sk"]

    @Test func parsesEveryKeyAndAuthType() throws {
        let yaml = """
            server: {port: 8080}
            targets:
              prod:
                url: https://airflow.example.com/prefix/
                api: v2
                auth: {type: airflow-password, username: bridge, password: "${env:AF_PW}"}
                timeout: 15s
                connect_timeout: 2s
                max_in_flight: 8
                rate_limit: 50
                tls: {ca_file: /etc/ca.pem, cert_file: /etc/c.pem, key_file: /etc/k.pem}
                proxy: http://proxy:3128
                no_proxy: [localhost, .internal]
                retry: {max_attempts: 3, max_age: 2h, initial_backoff: 500ms, max_backoff: 1m, max_retry_after: 10m, breaker_threshold: 7, breaker_cooldown: 1m}
              astro:
                url: https://example.astronomer.run/d1
                api: v2
                auth: {type: bearer, token: "${env:AF_TOKEN}", scheme: raw}
              old:
                url: http://old:8080
                api: v1
                auth: {type: basic, username: admin, password: "${env:AF_PW}"}
              plugin:
                url: http://p:8080
                api: rest-api-plugin
                auth: {type: header, name: rest_api_plugin_http_token, value: "${env:AF_TOKEN}"}
              composer:
                url: https://x.composer.googleusercontent.com
                auth: {type: google, credentials_file: /k.json}
              iap:
                url: https://y.appspot.com
                api: experimental
                auth: {type: google, audience: 123.apps.googleusercontent.com, metadata_url: http://127.0.0.1:1/md}
              mwaa:
                auth: {type: aws-mwaa, region: eu-west-1, environment: my-env, access_key_id: "${env:AWS_KEY}", secret_access_key: "${env:AWS_SECRET}"}
                api: v1
              krb:
                url: https://k
                auth: {type: kerberos}
            """
        let (t, policies, diags) = parseTargetsAndPolicies(yaml, env: Self.env)
        #expect(diags.isEmpty, "\(diags)")
        #expect(t.count == 8)
        let prod = try #require(t["prod"])
        #expect(prod.url == "https://airflow.example.com/prefix")
        #expect(prod.api == .v2)
        #expect(prod.timeout == 15 && prod.connectTimeout == 2 && policies["prod"]?.maxInFlight == 8 && policies["prod"]?.rateLimit == 50)
        #expect(prod.tls == TLSOptions(caFile: "/etc/ca.pem", certFile: "/etc/c.pem", keyFile: "/etc/k.pem"))
        #expect(prod.proxy == "http://proxy:3128" && prod.noProxy == "localhost,.internal")
        #expect(policies["prod"]?.retry == RetryPolicy(maxAttempts: 3, maxAge: 7200, initialBackoff: 0.5, maxBackoff: 60, maxRetryAfter: 600, breakerThreshold: 7, breakerCooldown: 60))
        guard case .airflowPassword(let u, let pw, nil) = prod.auth else { Issue.record("auth \(prod.auth)"); return }
        #expect(u == "bridge" && pw.value == "s3cret" && pw.origin == "env:AF_PW")
        guard case .bearer(let tok, true) = t["astro"]!.auth else { Issue.record("astro"); return }
        #expect(tok.value == "tok")
        #expect(policies["old"] == DispatchPolicy())
        #expect(policies["old"]?.maxInFlight == 4 && t["old"]!.timeout == 30)
        guard case .google(let g) = t["composer"]!.auth else { Issue.record("composer"); return }
        #expect(g.credentialsFile == "/k.json" && g.audience == nil && g.scopes == [GoogleAuthConfig.cloudPlatformScope])
        guard case .google(let iap) = t["iap"]!.auth else { Issue.record("iap"); return }
        #expect(iap.audience == "123.apps.googleusercontent.com" && iap.metadataURL == "http://127.0.0.1:1/md")
        guard case .awsMWAA(let m) = t["mwaa"]!.auth else { Issue.record("mwaa"); return }
        #expect(m.mode == .invokeRestAPI && m.apiBaseURL == "https://env.airflow.eu-west-1.amazonaws.com" && m.accessKeyID?.value == "AKID")
        #expect(t["krb"]!.transportOptions.negotiate)
        #expect(!t["old"]!.transportOptions.negotiate && t["old"]!.transportOptions.isDefault)
        #expect(!prod.transportOptions.isDefault)
    }

    @Test func secretsNeverPrint() throws {
        let (t, _) = parseTargets("targets:\n  a:\n    url: http://a\n    auth: {type: basic, username: u, password: \"${env:AF_PW}\"}\n", env: Self.env)
        let a = try #require(t["a"])
        #expect(!"\(a.auth)".contains("s3cret"))
        #expect(!String(reflecting: a).contains("s3cret"))
    }

    @Test func urlMayBeAnEnvironmentReference() throws {
        let (t, diags) = parseTargets("targets:\n  a:\n    url: \"${env:AF_URL}/prefix\"\n", env: ["AF_URL": "https://airflow.example.com"])
        #expect(diags.isEmpty, "\(diags)")
        #expect(try #require(t["a"]).url == "https://airflow.example.com/prefix")
        let (_, missing) = parseTargets("targets:\n  a:\n    url: \"${env:AF_URL}\"\n", env: [:])
        #expect(missing.contains { $0.description.contains("3:10") && $0.message.contains("AF_URL is not set") }, "\(missing)")
    }

    @Test func inlineSecretIsAWarning() {
        let (t, diags) = parseTargets("targets:\n  a:\n    url: http://a\n    auth: {type: bearer, token: plaintext}\n")
        #expect(t["a"] != nil)
        #expect(diags.count == 1 && diags[0].severity == .warning)
        #expect(diags[0].description.contains("dagbridge.yaml:4:"))
        #expect(diags[0].message.contains("${env:NAME}"))
        #expect(!diags[0].description.contains("plaintext"))
    }

    /// Each bad file gives an error at the right place that says what to fix.
    @Test(arguments: [
        ("targets:\n  a:\n    url: http://a\n    timeuot: 5s\n", "4:5", "unknown key 'timeuot'; did you mean 'timeout'?"),
        ("targets:\n  a:\n    url: http://a\n    api: v3\n", "4:10", "unknown api 'v3'; did you mean 'v2'?"),
        ("targets:\n  a:\n    api: v2\n", "3:5", "has no 'url'"),
        ("targets:\n  a:\n    url: airflow.example.com\n", "3:10", "must be an absolute http:// or https:// URL"),
        ("targets:\n  a:\n    url: http://a\n    timeout: soon\n", "4:14", "expected a duration like 30s"),
        ("targets:\n  a:\n    url: http://a\n    retry: {max_age: 0s}\n", "4:22", "greater than zero"),
        ("targets:\n  a:\n    url: http://a\n    retry: {max_attempts: 3, initial_backof: 1s}\n", "4:30", "did you mean 'initial_backoff'?"),
        ("targets:\n  a:\n    url: http://a\n    retry: {initial_backoff: 10m, max_backoff: 1m}\n", "4:30", "larger than max_backoff"),
        ("targets:\n  a:\n    url: http://a\n    max_in_flight: 0\n", "4:20", "out of range"),
        ("targets:\n  a:\n    url: http://a\n    auth: {type: basic, username: u, password: \"${env:NOPE_NOT_SET}\"}\n", "4:48", "environment variable NOPE_NOT_SET is not set"),
        ("targets:\n  a:\n    url: http://a\n    auth: {type: bearer}\n", "4:11", "missing 'token'"),
        ("targets:\n  a:\n    url: http://a\n    auth: {type: barer, token: x}\n", "4:18", "unknown auth type 'barer'; did you mean 'bearer'?"),
        ("targets:\n  a:\n    url: http://a\n    auth: {type: basic, user: u, password: x}\n", "4:25", "unknown basic auth key 'user'"),
        ("targets:\n  a:\n    auth: {type: aws-mwaa, region: eu-west-1}\n", "3:11", "missing 'environment'"),
        ("targets:\n  a:\n    auth: {type: aws-mwaa, mode: weblogin, region: r, environment: e}\n", "3:34", "did you mean 'web-login'?"),
        ("targets:\n  a:\n    url: http://a\n    tls: {cert_file: /c.pem}\n", "4:10", "both cert_file and key_file"),
        ("tragets:\n  a:\n    url: http://a\n", "1:1", "unknown section 'tragets'; did you mean 'targets'?"),
        ("targets: []\n", "1:10", "must be a mapping"),
    ])
    func badConfig(yaml: String, at: String, message: String) {
        let (t, diags) = parseTargets(yaml)
        let errors = diags.filter { $0.severity == .error }
        #expect(!errors.isEmpty, "no error for \(yaml)")
        #expect(t["a"] == nil)
        let hit = errors.first { $0.message.contains(message) }
        #expect(hit != nil, "expected '\(message)' in \(errors.map(\.description))")
        if let hit {
            #expect(hit.location.map { "\($0.line):\($0.column)" } == at, "\(hit)")
            #expect(hit.location?.file == "dagbridge.yaml")
        }
    }

    @Test func loadsFromAFileAndIgnoresOtherSections() throws {
        let dir = try TempDir()
        let path = try dir.write("dagbridge.yaml", "server: {port: 1}\nstore: {path: x}\nrules: []\nsources: {}\nlogging: {}\ntargets:\n  a: {url: 'http://a:1'}\n")
        let (t, d) = TargetsConfig.load(path: path)
        #expect(d.isEmpty, "\(d)")
        #expect(t["a"]?.url == "http://a:1")
        let (none, missing) = TargetsConfig.load(path: dir.path("nope.yaml"))
        #expect(none.isEmpty && missing.first?.message.contains("cannot read file") == true)
    }

    @Test func retryOverridesApply() {
        let p = RetryPolicy().applying(RetryOverrides(maxAttempts: 2, maxBackoff: 5))
        #expect(p.maxAttempts == 2 && p.maxBackoff == 5 && p.maxAge == 86_400 && p.initialBackoff == 1)
    }
}

@Suite("examples")
struct ExampleConfigTests {
    /// `examples/dagbridge.yaml` parses cleanly (secrets supplied the way an operator would).
    @Test func exampleTargetsParse() throws {
        let dir = try TempDir()
        let secretFile = try dir.write("pw", "secret\n")
        let text = try String(contentsOfFile: repositoryRoot.appendingPathComponent("examples/dagbridge.yaml").path, encoding: .utf8)
            .replacingOccurrences(of: "/run/secrets/airflow2-password", with: secretFile)
        let env = ["AIRFLOW_PASSWORD": "a", "REST_API_PLUGIN_TOKEN": "b", "ASTRO_API_TOKEN": "c", "ASTRONOMER_API_KEY": "d"]
        let (targets, diags) = parseTargets(text, env: env, file: "examples/dagbridge.yaml")
        #expect(diags.isEmpty, "\(diags.map(\.description))")
        #expect(targets.count == 12)
        // Astro sends "Bearer <token>", Astronomer Software the key alone (PlatformAnswerTests checks both on the wire).
        guard case .bearer(let astroToken, let astroRaw)? = targets["astro"]?.auth,
            case .bearer(let softwareKey, let softwareRaw)? = targets["astronomer-software"]?.auth
        else { Issue.record("astro, astronomer-software: not bearer"); return }
        #expect(astroToken.value == "c" && !astroRaw)
        #expect(softwareKey.value == "d" && softwareRaw)
        guard case .basic(_, let pw) = targets["airflow2"]?.auth else { Issue.record("airflow2"); return }
        #expect(pw.value == "secret" && pw.origin == "file:\(secretFile)")
    }
}
