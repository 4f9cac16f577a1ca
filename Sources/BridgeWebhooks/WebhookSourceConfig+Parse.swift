public import BridgeConfig
import BridgeCore

extension WebhookSourceConfig {
    /// Parses the `sources.webhooks` list.
    public static func parseList(
        _ node: ConfigNode, defaultMaxBody: Int, resolver: SecretResolver, diagnostics diags: inout Diagnostics
    ) -> [WebhookSourceConfig] {
        guard let items = node.sequence else {
            diags.error("'webhooks' must be a list of sources, found \(node.describeValue)", at: node)
            return []
        }
        var out: [WebhookSourceConfig] = []
        var names: [String: SourceLocation] = [:]
        var paths: [String: String] = [:]
        for item in items {
            guard let source = parse(item, defaultMaxBody: defaultMaxBody, resolver: resolver, diagnostics: &diags) else { continue }
            if let first = names[source.name] {
                diags.error("duplicate source name '\(source.name)' (first defined at \(first))", at: item["name"])
                continue
            }
            if let other = paths[source.path] {
                diags.error("path '\(source.path)' is already used by source '\(other)'", at: item["path"] ?? item)
                continue
            }
            names[source.name] = item.location
            paths[source.path] = source.name
            out.append(source)
        }
        return out
    }

    /// Parses one source.
    public static func parse(
        _ node: ConfigNode, defaultMaxBody: Int, resolver: SecretResolver, diagnostics diags: inout Diagnostics
    ) -> WebhookSourceConfig? {
        guard node.mapping != nil else {
            diags.error("a webhook source must be a mapping with name and verify, found \(node.describeValue)", at: node)
            return nil
        }
        let before = diags.items.count
        var section = ConfigSection(node)
        var name = ""
        if let n = section["name"], let s = n.string(&diags) {
            if s.isEmpty || !s.utf8.allSatisfy({ RunID.isAllowed($0) && $0 != UInt8(ascii: ":") }) {
                diags.error("source name '\(s)' may use only letters, digits and _ . ~ + -", at: n)
            }
            name = s
        } else if section["name"] == nil {
            diags.error("webhook source has no 'name'", at: node)
        }
        var path = "/hooks/\(name)"
        if let p = section["path"], let s = p.string(&diags) {
            if !s.hasPrefix("/") || s.contains("?") || s.contains("#") || s.hasPrefix("/admin") || ["/healthz", "/readyz", "/metrics"].contains(s) {
                diags.error("path '\(s)' must start with '/', have no query, and not be a reserved path (/admin, /healthz, /readyz, /metrics)", at: p)
            }
            path = s
        }
        var verifier: WebhookVerifier?
        if let v = section["verify"] {
            verifier = parseVerify(v, resolver: resolver, diags: &diags)
        } else {
            diags.error("webhook source '\(name)' has no 'verify'; write 'verify: { type: none }' to accept unsigned requests on purpose", at: node)
        }
        var eventID = EventIDStrategy.auto
        if let e = section["event_id"], let s = e.string(&diags) {
            if let strategy = EventIDStrategy(s) {
                eventID = strategy
            } else {
                diags.error("event_id '\(s)' must be auto, header:NAME, body:PATH, cloudevent or generated", at: e)
            }
        }
        var maxBody = defaultMaxBody
        if let m = section["max_body"], let v = m.byteSize(&diags) {
            if v < 1 || v > 64 * 1024 * 1024 { diags.error("max_body must be between 1 byte and 64MiB", at: m) } else { maxBody = v }
        }
        var contentTypes: [String] = []
        if let c = section["content_types"], let list = c.stringList(&diags) {
            contentTypes = list.map { $0.lowercased() }
        }
        var secretHeaders = CredentialHeaders.standard
        if case .bearer(_, let header)? = verifier?.scheme { secretHeaders.insert(header) }
        if let h = section["secret_headers"], let list = h.stringList(&diags) {
            for name in list {
                if name.isEmpty || !name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) {
                    diags.error("secret_headers: '\(name)' is not a header name", at: h)
                }
                secretHeaders.insert(name.lowercased())
            }
        }
        if case .header(let name) = eventID, secretHeaders.contains(name) {
            diags.error("event_id reads header '\(name)', which carries credentials; the id would put them in the run id and the journal. Use another header", at: section["event_id"])
        }
        section.reportUnknown(&diags)
        guard diags.items.count == before || !diags.items[before...].contains(where: { $0.severity == .error }), let verifier else {
            return nil
        }
        return WebhookSourceConfig(
            name: name, path: path, verifier: verifier, eventID: eventID, maxBody: maxBody, contentTypes: contentTypes,
            secretHeaders: secretHeaders)
    }

    static func secrets(_ node: ConfigNode, single: String, plural: String, resolver: SecretResolver, diags: inout Diagnostics) -> [Secret] {
        var out: [Secret] = []
        if let s = node[single] { if let v = resolver.resolve(s, &diags) { out.append(v) } }
        if let list = node[plural] {
            if let items = list.sequence {
                for item in items { if let v = resolver.resolve(item, &diags) { out.append(v) } }
            } else {
                diags.error("'\(plural)' must be a list", at: list)
            }
        }
        for s in out where s.value.isEmpty { _ = s; diags.error("a secret is empty", at: node[single] ?? node[plural]) }
        if out.isEmpty, node[single] == nil, node[plural] == nil {
            diags.error("'\(single)' (or '\(plural)', a list for rotation) is required", at: node)
        }
        for key in [single, plural] {
            guard let n = node[key] else { continue }
            let scalars = n.sequence ?? [n]
            for s in scalars where !(s.scalar ?? "").contains("${") {
                diags.warning("secret written inline; use ${env:NAME} or ${file:/path}", at: s)
            }
        }
        return out
    }

    static func parseVerify(_ node: ConfigNode, resolver: SecretResolver, diags: inout Diagnostics) -> WebhookVerifier? {
        guard node.mapping != nil else {
            diags.error("'verify' must be a mapping with a 'type'", at: node)
            return nil
        }
        guard let typeNode = node["type"], let type = typeNode.string(&diags) else {
            if node["type"] == nil { diags.error("'verify' needs a 'type' (\(verifyTypes.joined(separator: ", ")))", at: node) }
            return nil
        }
        var common = ["type"]
        var tolerance = 300.0
        func readTolerance() {
            common.append("tolerance")
            if let t = node["tolerance"], let v = t.duration(&diags) { tolerance = v }
        }
        let scheme: WebhookVerifier.Scheme?
        switch type {
        case "none":
            scheme = WebhookVerifier.Scheme.none
        case "github":
            common += ["secret", "secrets"]
            scheme = .github(secrets: secrets(node, single: "secret", plural: "secrets", resolver: resolver, diags: &diags))
        case "standard-webhooks", "stripe", "slack":
            common += ["secret", "secrets"]
            readTolerance()
            let s = secrets(node, single: "secret", plural: "secrets", resolver: resolver, diags: &diags)
            if type == "standard-webhooks" {
                for secret in s where WebhookVerifier.standardWebhooksKey(secret.value, prefix: "whsec_") == nil
                    && WebhookVerifier.standardWebhooksKey(secret.value, prefix: "whpk_") == nil
                {
                    diags.error("a standard-webhooks secret must be 'whsec_<base64>' or an Ed25519 public key 'whpk_<base64>'", at: node["secret"] ?? node["secrets"])
                }
                scheme = .standardWebhooks(secrets: s, tolerance: tolerance)
            } else if type == "stripe" {
                scheme = .stripe(secrets: s, tolerance: tolerance)
            } else {
                scheme = .slack(secrets: s, tolerance: tolerance)
            }
        case "hmac":
            common += ["secret", "secrets", "header", "algorithm", "encoding", "prefix", "signed_content", "timestamp_header"]
            readTolerance()
            let s = secrets(node, single: "secret", plural: "secrets", resolver: resolver, diags: &diags)
            var header: String?
            if let h = node["header"] { header = h.string(&diags) } else { diags.error("hmac verification needs 'header' (the signature header)", at: node) }
            var algorithm = WebhookVerifier.HMACScheme.Algorithm.sha256
            if let a = node["algorithm"], let t = a.string(&diags) {
                if let v = WebhookVerifier.HMACScheme.Algorithm(rawValue: t.lowercased()) { algorithm = v } else {
                    diags.error("algorithm '\(t)' must be sha1, sha256 or sha512", at: a)
                }
            }
            var encoding = WebhookVerifier.HMACScheme.Encoding.hex
            if let e = node["encoding"], let t = e.string(&diags) {
                if let v = WebhookVerifier.HMACScheme.Encoding(rawValue: t.lowercased()) { encoding = v } else {
                    diags.error("encoding '\(t)' must be hex or base64", at: e)
                }
            }
            let prefix = node["prefix"].flatMap { $0.string(&diags) } ?? ""
            let content = node["signed_content"].flatMap { $0.string(&diags) } ?? "{body}"
            let tsHeader = node["timestamp_header"].flatMap { $0.string(&diags) }
            if content.contains("{timestamp}"), tsHeader == nil {
                diags.error("signed_content uses {timestamp} but no 'timestamp_header' is set", at: node["signed_content"])
            }
            scheme = header.map {
                .hmac(.init(secrets: s, header: $0, algorithm: algorithm, encoding: encoding, prefix: prefix,
                    signedContent: content, timestampHeader: tsHeader, tolerance: tolerance))
            }
        case "bearer":
            common += ["token", "tokens", "header"]
            let s = secrets(node, single: "token", plural: "tokens", resolver: resolver, diags: &diags)
            let header = node["header"].flatMap { $0.string(&diags) }?.lowercased() ?? "authorization"
            scheme = .bearer(tokens: s, header: header)
        case "basic":
            common += ["credentials"]
            var creds: [Secret] = []
            if let list = node["credentials"]?.sequence {
                for item in list {
                    guard item.checkKeys(["username", "password"], &diags) else { continue }
                    guard let u = item["username"]?.string(&diags), let pNode = item["password"],
                        let p = resolver.resolve(pNode, &diags)
                    else {
                        if item["username"] == nil || item["password"] == nil { diags.error("each credential needs 'username' and 'password'", at: item) }
                        continue
                    }
                    creds.append(Secret("\(u):\(p.value)", origin: p.origin))
                }
            } else {
                diags.error("basic verification needs 'credentials', a list of {username, password}", at: node)
            }
            scheme = .basic(credentials: creds)
        default:
            var msg = "unknown verify type '\(type)'"
            if let m = didYouMean(type, verifyTypes) { msg += "; did you mean '\(m)'?" }
            diags.error(msg + " (one of \(verifyTypes.joined(separator: ", ")))", at: typeNode)
            return nil
        }
        node.checkKeys(common, &diags)
        return scheme.map(WebhookVerifier.init)
    }
}

extension WebhookSourceConfig {
    /// The credential headers of every source in a `sources.webhooks` list, read without resolving
    /// any secret (for `dagbridge store scrub`, which runs where the secrets may not be set).
    public static func secretHeaderNames(inList node: ConfigNode?) -> Set<String> {
        var names = CredentialHeaders.standard
        for item in node?.sequence ?? [] {
            if item["verify"]?["type"]?.scalar == "bearer" { names.insert(item["verify"]?["header"]?.scalar?.lowercased() ?? "authorization") }
            for h in item["secret_headers"]?.sequence ?? [] { if let n = h.scalar { names.insert(n.lowercased()) } }
        }
        return names
    }
}
