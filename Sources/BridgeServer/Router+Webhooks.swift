public import Hummingbird
import BridgeCore
import NIOCore

extension Router {
    /// Adds a `POST` route for every webhook source, feeding ``WebhookIngress``.
    ///
    /// The body is read up to the source's `max_body` (a declared `Content-Length`
    /// above it is refused before reading); header names are lower-cased and
    /// repeated headers joined with ", ".
    public func addWebhookRoutes(_ ingress: WebhookIngress) {
        for source in ingress.sources.values {
            post(RouterPath(source.path)) { request, _ -> Response in
                if let declared = request.headers[.contentLength].flatMap(Int.init), declared > source.maxBody {
                    ingress.metrics.eventRejected(source: source.name, reason: "too_large")
                    return jsonResponse(.init(status: 413, body: ["error": .string("body larger than \(source.maxBody) bytes")]))
                }
                let buffer: ByteBuffer
                do {
                    buffer = try await request.body.collect(upTo: source.maxBody)
                } catch is NIOTooManyBytesError {
                    ingress.metrics.eventRejected(source: source.name, reason: "too_large")
                    return jsonResponse(.init(status: 413, body: ["error": .string("body larger than \(source.maxBody) bytes")]))
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
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    if let retry = answer.retryAfter { headers[.retryAfter] = String(retry) }
    var bytes = JSONWriter.bytes(answer.body)
    bytes.append(UInt8(ascii: "\n"))
    return Response(
        status: HTTPResponse.Status(code: answer.status), headers: headers,
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
}
