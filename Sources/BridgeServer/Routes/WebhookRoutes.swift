public import Hummingbird
import BridgeCore
import BridgeIntake
public import BridgeWebhooks
import NIOCore

/// A `POST` route for every webhook source, feeding ``WebhookIngress``.
public struct WebhookRoutes: Sendable {
    public let ingress: WebhookIngress

    public init(ingress: WebhookIngress) { self.ingress = ingress }

    /// Adds the routes.
    ///
    /// The body is read up to the source's `max_body` (a declared `Content-Length`
    /// above it is refused before reading); header names are lower-cased and
    /// repeated headers joined with ", ".
    public func add<Context: RequestContext>(to router: Router<Context>) {
        for source in ingress.sources.values {
            router.post(RouterPath(source.path)) { request, _ -> Response in
                if let declared = request.headers[.contentLength].flatMap(Int.init), declared > source.maxBody {
                    ingress.metrics.eventRejected(source: source.name, reason: .tooLarge)
                    return jsonResponse(status: .contentTooLarge, body: ["error": .string("body larger than \(source.maxBody) bytes")])
                }
                let buffer: ByteBuffer
                do {
                    buffer = try await request.body.collect(upTo: source.maxBody)
                } catch is NIOTooManyBytesError {
                    ingress.metrics.eventRejected(source: source.name, reason: .tooLarge)
                    return jsonResponse(status: .contentTooLarge, body: ["error": .string("body larger than \(source.maxBody) bytes")])
                }
                var headers: [String: String] = [:]
                for field in request.headers {
                    let name = field.name.canonicalName
                    if let existing = headers[name] { headers[name] = existing + ", " + field.value } else { headers[name] = field.value }
                }
                let answer = await ingress.handle(source: source, headers: headers, body: Array(buffer.readableBytesView))
                return jsonResponse(answer)
            }
        }
    }
}

/// A JSON response from an ingress answer.
func jsonResponse(_ answer: WebhookIngress.Answer) -> Response {
    jsonResponse(status: answer.status, body: answer.body, retryAfter: answer.retryAfter)
}

/// A JSON response (`Retry-After` in seconds when given).
func jsonResponse(status: HTTPResponse.Status, body: JSONValue, retryAfter: Int? = nil) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    if let retryAfter { headers[.retryAfter] = String(retryAfter) }
    var bytes = JSONWriter.bytes(body)
    bytes.append(UInt8(ascii: "\n"))
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
}
