public import BridgeConfig
import BridgeCore

/// Reads the `targets:` section of `dagbridge.yaml`.
public enum TargetsConfig {
    /// Reads a target's keys that belong to another component (the dispatcher's `max_in_flight`,
    /// `rate_limit`, `retry:`) from the target's section, before its unknown keys are reported.
    public typealias SectionReader = (_ name: String, _ section: inout ConfigSection, _ diagnostics: inout Diagnostics) -> Void

    static let tlsKeys = ["ca_file", "cert_file", "key_file", "insecure_skip_verify"]
    static let authTypes = ["none", "basic", "bearer", "header", "airflow-password", "google", "aws-mwaa", "kerberos"]

    /// Parses the `targets:` mapping (name → target) into configurations, recording every problem.
    ///
    /// Keys of a target:
    /// - `url` (string, required unless `auth.type` is `aws-mwaa`): base URL, `http://` or `https://`, may carry a
    ///   path prefix (`https://host/prefix`).
    /// - `api` (`v2` | `v1` | `experimental` | `rest-api-plugin`, default `v2`).
    /// - `auth` (mapping, default `type: none`), with `type` and per type:
    ///   - `none`.
    ///   - `basic`: `username` (string), `password` (secret).
    ///   - `bearer`: `token` (secret), `scheme` (`bearer` | `raw`, default `bearer`; `raw` sends the token as the whole
    ///     `Authorization` value, as Astronomer API keys).
    ///   - `header`: `name` (string, e.g. `rest_api_plugin_http_token`), `value` (secret).
    ///   - `airflow-password` (Airflow 3): `username` (string), `password` (secret), `token_url` (string, default
    ///     `{url}/auth/token`).
    ///   - `google`: `credentials_file` (path of a service-account JSON key; default `GOOGLE_APPLICATION_CREDENTIALS`,
    ///     else the metadata server), `audience` (string: fetch an OIDC id token for this IAP client id, Composer 1),
    ///     `scopes` (list, default `https://www.googleapis.com/auth/cloud-platform`), `metadata_url` (string, default
    ///     the GCE metadata server), `refresh_margin` (duration, default 5m).
    ///   - `aws-mwaa`: `mode` (`invoke-rest-api` | `web-login`, default `invoke-rest-api`), `region` (string,
    ///     required), `environment` (string, required), `endpoint` (string, default
    ///     `https://env.airflow.{region}.amazonaws.com`), `profile` (string, default `AWS_PROFILE` or `default`),
    ///     `access_key_id`, `secret_access_key`, `session_token` (secrets; default: the AWS credential chain —
    ///     environment, profile file, container endpoint, instance metadata).
    ///   - `kerberos`: no keys; a ticket cache (`kinit`) or `KRB5_CLIENT_KTNAME` keytab must exist.
    /// - `timeout` (duration, default 30s): total time of one request.
    /// - `connect_timeout` (duration, default 10s).
    /// - `tls` (mapping): `ca_file`, `cert_file`, `key_file` (paths), `insecure_skip_verify` (boolean, default false).
    /// - `proxy` (URL, default from `HTTPS_PROXY`), `no_proxy` (comma-separated hosts).
    /// - the dispatcher's keys (`max_in_flight`, `rate_limit`, `retry`), read by the `alsoRead` parser
    ///   (`DispatchPolicy.parse` in BridgeDispatch); without one they are unknown keys.
    ///
    /// Secrets are `${env:NAME}` or `${file:/path}` references; a secret written inline is accepted with a warning.
    ///
    /// ```yaml
    /// targets:
    ///   prod:
    ///     url: https://airflow.example.com
    ///     api: v2
    ///     auth: {type: airflow-password, username: bridge, password: "${env:AIRFLOW_PASSWORD}"}
    /// ```
    /// - Parameters:
    ///   - node: the value of `targets:`.
    ///   - resolver: resolves secret references.
    ///   - diagnostics: collects problems with `file:line:col`.
    ///   - alsoRead: reads the keys of each target that belong to another component, before unknown keys are reported.
    /// - Returns: the targets that parsed without errors, by name.
    public static func parse(
        _ node: ConfigNode, resolver: SecretResolver, diagnostics: inout Diagnostics,
        alsoRead: SectionReader = { _, _, _ in }
    ) -> [String: TargetConfig] {
        guard let pairs = node.mapping else {
            diagnostics.error("'targets' must be a mapping of target name to settings, found \(node.describeValue)", at: node)
            return [:]
        }
        var out: [String: TargetConfig] = [:]
        for (key, value) in pairs {
            let name = key.scalar ?? ""
            if name.isEmpty || !name.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0) }) {
                diagnostics.error("target name '\(name)' must be letters, digits, '_', '-' or '.'", at: key)
                continue
            }
            if let t = parseTarget(name: name, value, resolver: resolver, diagnostics: &diagnostics, alsoRead: alsoRead) {
                out[name] = t
            }
        }
        return out
    }

    /// Parses one target's mapping; `nil` when it has errors (all recorded).
    public static func parseTarget(
        name: String, _ node: ConfigNode, resolver: SecretResolver, diagnostics: inout Diagnostics,
        alsoRead: SectionReader = { _, _, _ in }
    ) -> TargetConfig? {
        let before = diagnostics.items.count
        func hadErrors() -> Bool { diagnostics.items[before...].contains { $0.severity == .error } }
        guard node.mapping != nil else {
            diagnostics.error("expected a mapping, found \(node.describeValue)", at: node)
            return nil
        }
        var section = ConfigSection(node)

        var target = TargetConfig(name: name, url: "", location: node.location)
        if let n = section["api"], let s = n.string(&diagnostics) {
            if let api = AirflowAPI(rawValue: s) {
                target.api = api
            } else {
                var msg = "unknown api '\(s)'"
                if let g = didYouMean(s, AirflowAPI.allCases.map(\.rawValue)) { msg += "; did you mean '\(g)'?" }
                diagnostics.error(msg + " (use v2 for Airflow 3, v1 for Airflow 2, experimental, or rest-api-plugin)", at: n)
            }
        }
        if let n = section["auth"] {
            if let a = parseAuth(n, resolver: resolver, diagnostics: &diagnostics) { target.auth = a }
        }
        var isMWAA = false
        if case .awsMWAA = target.auth { isMWAA = true }
        if let n = section["url"] {
            // `url` may be a reference (`${env:AIRFLOW_URL}`) so one config file serves every environment.
            let raw = n.string(&diagnostics)
            let s = raw.flatMap { $0.contains("${") ? resolver.resolve(n, &diagnostics)?.value : $0 }
            if let s {
                let t = s.trimmingSpaces
                if !(t.hasPrefix("http://") || t.hasPrefix("https://")) || URLParts(t)?.host.isEmpty != false {
                    diagnostics.error("url '\(t)' must be an absolute http:// or https:// URL", at: n)
                } else if t.contains("?") || t.contains("#") {
                    diagnostics.error("url must not carry a query or fragment; give the base URL (with its path prefix if any)", at: n)
                } else {
                    target = TargetConfig(
                        name: name, url: t, api: target.api, auth: target.auth, location: node.location)
                }
            }
        } else if !isMWAA {
            diagnostics.error("target '\(name)' has no 'url': give the Airflow base URL, e.g. https://airflow.example.com", at: node)
        }
        if let n = section["timeout"], let v = positiveDuration(n, &diagnostics) { target.timeout = v }
        if let n = section["connect_timeout"], let v = positiveDuration(n, &diagnostics) { target.connectTimeout = v }
        if let n = section["tls"], n.checkKeys(tlsKeys, &diagnostics) {
            if let c = n["ca_file"] { target.tls.caFile = c.string(&diagnostics) }
            if let c = n["cert_file"] { target.tls.certFile = c.string(&diagnostics) }
            if let c = n["key_file"] { target.tls.keyFile = c.string(&diagnostics) }
            if let c = n["insecure_skip_verify"], let b = c.bool(&diagnostics) {
                target.tls.insecureSkipVerify = b
                if b { diagnostics.warning("insecure_skip_verify turns off TLS certificate checks: use only for development", at: c) }
            }
            if (target.tls.certFile == nil) != (target.tls.keyFile == nil) {
                diagnostics.error("tls needs both cert_file and key_file for a client certificate", at: n)
            }
        }
        if let n = section["proxy"], !n.isNull, let s = n.string(&diagnostics) { target.proxy = s }
        if let n = section["no_proxy"], !n.isNull, let l = n.stringList(&diagnostics) { target.noProxy = l.joined(separator: ",") }
        alsoRead(name, &section, &diagnostics)
        section.reportUnknown(&diagnostics)
        if isMWAA, section["url"] != nil, case .awsMWAA(let m) = target.auth, m.mode == .invokeRestAPI {
            diagnostics.warning("url is ignored with aws-mwaa invoke-rest-api (the AWS endpoint is used)", at: section["url"])
        }
        return hadErrors() ? nil : target
    }

    static func positiveDuration(_ node: ConfigNode, _ diagnostics: inout Diagnostics) -> Double? {
        guard let v = node.duration(&diagnostics) else { return nil }
        guard v > 0 else {
            diagnostics.error("duration must be greater than zero", at: node)
            return nil
        }
        return v
    }

    /// Resolves a secret; warns when it was written inline rather than as `${env:…}` / `${file:…}`.
    static func secret(_ node: ConfigNode?, key: String, in parent: ConfigNode, resolver: SecretResolver, _ diagnostics: inout Diagnostics) -> Secret? {
        guard let node else {
            diagnostics.error("missing '\(key)' (a secret: write \"${env:NAME}\" or \"${file:/path}\")", at: parent)
            return nil
        }
        guard let s = resolver.resolve(node, &diagnostics) else { return nil }
        if s.origin == "inline" {
            diagnostics.warning("'\(key)' is written inline; keep secrets out of the file with \"${env:NAME}\" or \"${file:/path}\"", at: node)
        }
        return s
    }

    static func requiredString(
        _ node: ConfigNode, _ key: String, _ diagnostics: inout Diagnostics, resolver: SecretResolver? = nil
    ) -> String? {
        guard let n = node[key] else {
            diagnostics.error("missing '\(key)'", at: node)
            return nil
        }
        guard var s = n.string(&diagnostics) else { return nil }
        // Non-secret values may be references too (`username: ${env:AIRFLOW_USER}`).
        if let resolver, s.contains("${") {
            guard let v = resolver.resolve(n, &diagnostics) else { return nil }
            s = v.value
        }
        if s.trimmingSpaces.isEmpty {
            diagnostics.error("'\(key)' must not be empty", at: n)
            return nil
        }
        return s.trimmingSpaces
    }

    /// Parses an `auth:` mapping; `nil` when it has errors.
    public static func parseAuth(_ node: ConfigNode, resolver: SecretResolver, diagnostics: inout Diagnostics) -> AuthConfig? {
        guard node.mapping != nil else {
            diagnostics.error("'auth' must be a mapping with a 'type' (one of \(authTypes.joined(separator: ", ")))", at: node)
            return nil
        }
        guard let typeNode = node["type"] else {
            diagnostics.error("auth has no 'type' (one of \(authTypes.joined(separator: ", ")))", at: node)
            return nil
        }
        guard let type = typeNode.string(&diagnostics) else { return nil }
        let before = diagnostics.items.count
        func keys(_ k: [String]) -> Bool { node.checkKeys(["type"] + k, &diagnostics, what: "\(type) auth key") }
        var result: AuthConfig?
        switch type {
        case "none":
            if keys([]) { result = AuthConfig.none }
        case "kerberos":
            if keys([]) { result = .kerberos }
        case "basic":
            guard keys(["username", "password"]) else { return nil }
            let user = requiredString(node, "username", &diagnostics, resolver: resolver)
            let pw = secret(node["password"], key: "password", in: node, resolver: resolver, &diagnostics)
            if let user, let pw { result = .basic(username: user, password: pw) }
        case "bearer":
            guard keys(["token", "scheme"]) else { return nil }
            let token = secret(node["token"], key: "token", in: node, resolver: resolver, &diagnostics)
            var raw = false
            if let s = node["scheme"], let v = s.string(&diagnostics) {
                switch v.lowercased() {
                case "bearer": raw = false
                case "raw": raw = true
                default: diagnostics.error("unknown bearer scheme '\(v)' (use bearer or raw)", at: s)
                }
            }
            if let token { result = .bearer(token: token, raw: raw) }
        case "header":
            guard keys(["name", "value"]) else { return nil }
            let name = requiredString(node, "name", &diagnostics)
            if let name, !name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) {
                diagnostics.error("header name '\(name)' may hold only visible ASCII characters without ':'", at: node["name"])
            }
            let value = secret(node["value"], key: "value", in: node, resolver: resolver, &diagnostics)
            if let name, let value { result = .header(name: name, value: value) }
        case "airflow-password":
            guard keys(["username", "password", "token_url"]) else { return nil }
            let user = requiredString(node, "username", &diagnostics, resolver: resolver)
            let pw = secret(node["password"], key: "password", in: node, resolver: resolver, &diagnostics)
            let tokenURL = node["token_url"].flatMap { $0.string(&diagnostics) }
            if let user, let pw { result = .airflowPassword(username: user, password: pw, tokenURL: tokenURL) }
        case "google":
            guard keys(["credentials_file", "audience", "scopes", "metadata_url", "refresh_margin"]) else { return nil }
            var g = GoogleAuthConfig()
            if let n = node["credentials_file"], let s = n.string(&diagnostics) {
                g.credentialsFile = s
            } else if node["metadata_url"] == nil, let env = resolver.environment["GOOGLE_APPLICATION_CREDENTIALS"], !env.isEmpty {
                g.credentialsFile = env
            }
            if let n = node["audience"], let s = n.string(&diagnostics) { g.audience = s }
            if let n = node["scopes"], let l = n.stringList(&diagnostics) {
                if l.isEmpty { diagnostics.error("scopes must not be empty", at: n) } else { g.scopes = l }
            }
            if let n = node["metadata_url"], let s = n.string(&diagnostics) {
                var u = s
                while u.hasSuffix("/") { u.removeLast() }
                g.metadataURL = u
            }
            if let n = node["refresh_margin"], let v = n.duration(&diagnostics) { g.refreshMargin = v }
            result = .google(g)
        case "aws-mwaa":
            guard keys(["mode", "region", "environment", "endpoint", "profile", "access_key_id", "secret_access_key", "session_token"])
            else { return nil }
            var mode = MWAAAuthConfig.Mode.invokeRestAPI
            if let n = node["mode"], let s = n.string(&diagnostics) {
                if let m = MWAAAuthConfig.Mode(rawValue: s) {
                    mode = m
                } else {
                    var msg = "unknown aws-mwaa mode '\(s)'"
                    if let g = didYouMean(s, MWAAAuthConfig.Mode.allCases.map(\.rawValue)) { msg += "; did you mean '\(g)'?" }
                    diagnostics.error(msg + " (use invoke-rest-api or web-login)", at: n)
                }
            }
            let region = requiredString(node, "region", &diagnostics)
            let env = requiredString(node, "environment", &diagnostics)
            var m = MWAAAuthConfig(mode: mode, region: region ?? "", environment: env ?? "")
            if let n = node["endpoint"], let s = n.string(&diagnostics) { m.endpoint = s }
            if let n = node["profile"], let s = n.string(&diagnostics) { m.profile = s }
            if node["access_key_id"] != nil || node["secret_access_key"] != nil {
                m.accessKeyID = secret(node["access_key_id"], key: "access_key_id", in: node, resolver: resolver, &diagnostics)
                m.secretAccessKey = secret(node["secret_access_key"], key: "secret_access_key", in: node, resolver: resolver, &diagnostics)
            }
            if let n = node["session_token"] {
                m.sessionToken = secret(n, key: "session_token", in: node, resolver: resolver, &diagnostics)
            }
            result = .awsMWAA(m)
        default:
            var msg = "unknown auth type '\(type)'"
            if let g = didYouMean(type, authTypes) { msg += "; did you mean '\(g)'?" }
            diagnostics.error(msg + " (allowed: \(authTypes.joined(separator: ", ")))", at: typeNode)
            return nil
        }
        return diagnostics.items[before...].contains { $0.severity == .error } ? nil : result
    }
}
