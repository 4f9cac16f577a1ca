import BridgeCore
import Foundation

/// Where a webhook source takes the event id from. The id feeds the default
/// `dag_run_id`, so a sender's redelivery of the same event maps to the same run.
public enum EventIDStrategy: Sendable, Equatable {
    /// The verification scheme's id (`webhook-id`, `X-GitHub-Delivery`), then the CloudEvent id,
    /// then well-known delivery headers, then the body's `id` for Stripe, then the id derived from
    /// the signed content (signature schemes); generated only for unsigned deliveries.
    case auto
    /// A header (lower-cased name).
    case header(String)
    /// A dotted path into the body (`data.object.id`).
    case bodyPath([String])
    /// The CloudEvent `id`.
    case cloudEvent
    /// A fresh UUID per delivery (no redelivery protection).
    case generated

    /// Parses `auto`, `header:NAME`, `body:PATH`, `cloudevent`, `generated`.
    public init?(_ text: String) {
        switch text {
        case "auto": self = .auto
        case "cloudevent": self = .cloudEvent
        case "generated": self = .generated
        default:
            if text.hasPrefix("header:"), text.count > 7 {
                self = .header(String(text.dropFirst(7)).lowercased())
            } else if text.hasPrefix("body:"), text.count > 5 {
                self = .bodyPath(text.dropFirst(5).split(separator: ".").map(String.init))
            } else {
                return nil
            }
        }
    }

    /// Headers senders use for a stable delivery id, tried in order by `auto`.
    static let wellKnownHeaders = ["webhook-id", "x-github-delivery", "ce-id", "x-gitlab-event-uuid", "x-request-id"]

    /// The event id for one decoded event.
    /// - Throws: ``WebhookDecoder/Failure`` when the configured place holds no usable id.
    public func resolve(
        headers: [String: String], decoded: WebhookDecoder.Decoded, verified: WebhookVerifier.Verified, isStripe: Bool
    ) throws(WebhookDecoder.Failure) -> String {
        func usable(_ v: JSONValue?) -> String? {
            switch v {
            case .string(let s)? where !s.isEmpty && s.utf8.count <= 512: return s
            case .int(let i)?: return String(i)
            default: return nil
            }
        }
        switch self {
        case .auto:
            if let id = verified.senderID, !id.isEmpty { return id }
            if let id = usable(decoded.cloudEvent?["id"]) { return id }
            for h in Self.wellKnownHeaders { if let v = headers[h], !v.isEmpty { return v } }
            if isStripe, let id = usable(decoded.body["id"]) { return id }
            if let id = verified.contentID { return id }
            return UUID().uuidString.lowercased()
        case .header(let name):
            guard let v = headers[name], !v.isEmpty else {
                throw WebhookDecoder.Failure(message: "the event id header '\(name)' is missing")
            }
            return v
        case .bodyPath(let path):
            var v: JSONValue? = decoded.body
            for p in path { v = v?[p] }
            guard let id = usable(v) else {
                throw WebhookDecoder.Failure(message: "the body has no string or integer at '\(path.joined(separator: "."))' for the event id")
            }
            return id
        case .cloudEvent:
            guard let id = usable(decoded.cloudEvent?["id"]) else {
                throw WebhookDecoder.Failure(message: "this source takes the event id from the CloudEvent, but the request is not a CloudEvent")
            }
            return id
        case .generated:
            return UUID().uuidString.lowercased()
        }
    }
}
