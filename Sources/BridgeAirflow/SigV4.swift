import BridgeCore
import Crypto
public import BridgeHTTP

/// AWS credentials for SigV4.
public struct AWSCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The access key id (`AKIA…`/`ASIA…`).
    public var accessKeyID: String
    /// The secret access key; never printed (see ``description``).
    public var secretAccessKey: String
    /// STS session token for temporary credentials.
    public var sessionToken: String?
    /// Seconds since 1970 when temporary credentials expire.
    public var expiration: Double?

    /// Creates credentials.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Double? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// The key id only: the secret and the session token never print.
    public var description: String { "AWSCredentials(\(accessKeyID), secret <redacted>)" }
    public var debugDescription: String { description }
}

/// AWS Signature Version 4 for requests with the signature in the `Authorization` header.
///
/// Signs `host`, `x-amz-date`, `x-amz-security-token` (with session credentials) and every header
/// already on the request; the path is URI-encoded once more, as for every service but S3.
public struct SigV4Signer: Sendable {
    /// The signing credentials.
    public var credentials: AWSCredentials
    /// The region in the credential scope (`eu-west-1`).
    public var region: String
    /// The service signing name (`airflow` for MWAA).
    public var service: String

    /// Creates a signer for one region and service.
    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Adds `X-Amz-Date`, `X-Amz-Security-Token` when needed, and `Authorization` to `request`.
    /// - Parameter date: seconds since 1970 (the signing time).
    public func sign(_ request: inout HTTPRequest, date: Double) {
        let amzDate = Self.amzDate(date)
        if !request.headers.contains(where: { $0.name.lowercased() == "x-amz-date" }) {
            request.headers.append(("X-Amz-Date", amzDate))
        }
        if let token = credentials.sessionToken, !request.headers.contains(where: { $0.name.lowercased() == "x-amz-security-token" }) {
            request.headers.append(("X-Amz-Security-Token", token))
        }
        let auth = authorization(for: request, amzDate: amzDate)
        request.headers.append(("Authorization", auth))
    }

    /// The `Authorization` value for `request` signed at `amzDate` (`YYYYMMDDTHHMMSSZ`).
    public func authorization(for request: HTTPRequest, amzDate: String) -> String {
        let (signedHeaders, canonical) = canonicalRequest(request)
        let scope = "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(Hex.encode(SHA256.hash(data: Array(canonical.utf8))))"
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [String(amzDate.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    /// The canonical request and its signed-header list.
    func canonicalRequest(_ request: HTTPRequest) -> (signedHeaders: String, text: String) {
        let parts = URLParts(request.url)
        var headers: [(String, String)] = []
        var hasHost = false
        for (name, value) in request.headers {
            let n = name.lowercased()
            if n == "authorization" || n == "user-agent" || n == "expect" { continue }
            if n == "host" { hasHost = true }
            headers.append((n, Self.trimHeaderValue(value)))
        }
        if !hasHost, let parts {
            var host = parts.authority
            if parts.scheme == "https", host.hasSuffix(":443") { host.removeLast(4) }
            if parts.scheme == "http", host.hasSuffix(":80") { host.removeLast(3) }
            headers.append(("host", host))
        }
        // Same name twice: values joined with commas, in order.
        var merged: [String: String] = [:]
        var order: [String] = []
        for (n, v) in headers {
            if let old = merged[n] { merged[n] = old + "," + v } else { merged[n] = v; order.append(n) }
        }
        let names = order.sorted()
        let signed = names.joined(separator: ";")
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!)\n" }.joined()

        let path = (parts?.path).flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        let canonicalURI = Self.encode(path, keepSlash: true)
        let query = parts?.query ?? ""
        var items: [(String, String)] = []
        if !query.isEmpty {
            for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let k = URLEncoding.decode(kv[0], plusAsSpace: false)
                let v = kv.count > 1 ? URLEncoding.decode(kv[1], plusAsSpace: false) : ""
                items.append((Self.encode(k, keepSlash: false), Self.encode(v, keepSlash: false)))
            }
        }
        items.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        let canonicalQuery = items.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let payloadHash = Hex.encode(SHA256.hash(data: request.body))
        let text = "\(request.method.rawValue)\n\(canonicalURI)\n\(canonicalQuery)\n\(canonicalHeaders)\n\(signed)\n\(payloadHash)"
        return (signed, text)
    }

    /// `YYYYMMDDTHHMMSSZ` for a time in seconds since 1970.
    public static func amzDate(_ t: Double) -> String {
        let secs = Int64(t.rounded(.down))
        let days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400
        let rem = secs - days * 86400
        let (y, m, d) = civilFromDays(days)
        func p(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return p(y, 4) + p(m, 2) + p(d, 2) + "T" + p(rem / 3600, 2) + p(rem / 60 % 60, 2) + p(rem % 60, 2) + "Z"
    }

    static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func trimHeaderValue(_ v: String) -> String {
        // Trim and collapse runs of spaces to one, as SigV4 requires.
        var out = ""
        var lastSpace = false
        for c in v.trimmingSpaces {
            if c == " " || c == "\t" {
                if !lastSpace { out.append(" ") }
                lastSpace = true
            } else {
                out.append(c)
                lastSpace = false
            }
        }
        return out
    }

    static func encode(_ s: String, keepSlash: Bool) -> String {
        if !keepSlash { return URLEncoding.component(s) }
        return s.split(separator: "/", omittingEmptySubsequences: false).map { URLEncoding.component(String($0)) }.joined(separator: "/")
    }

}
