import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Hummingbird's HTTP/1 child channel with ``ConnectionLimits``: every accepted connection passes
/// the ``ConnectionGate``; one admitted gets the HTTP pipeline with a ``ConnectionDeadlineHandler``,
/// one over the limit gets no HTTP pipeline and is closed as soon as it is active (the client sees
/// the connection closed at once instead of waiting in the listen backlog).
struct LimitedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let gate: ConnectionGate

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        if gate.admit(channel) { return base.setup(channel: channel, logger: logger) }
        // Hummingbird still hands the value to `handle`; with the channel closed its request stream
        // ends at once. Closing here, before NIO registers the channel, would fail the setup and
        // surface as an error on the listening channel, so the close waits for activation.
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(CloseWhenActive())
            return try Value(wrappingChannelSynchronously: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes a refused connection as soon as it is active.
private final class CloseWhenActive: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { context.close(promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.close(promise: nil)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 whose connections are bounded by `limits`: counted by `gate`, and closed when the
    /// client is too slow (see ``ConnectionLimits``). Wrap it in `.tls(_:tlsConfiguration:)` for HTTPS;
    /// the header limit then covers the TLS handshake too.
    static func http1(limits: ConnectionLimits, gate: ConnectionGate, logger: Logger) -> HTTPServerBuilder {
        .init { responder in
            LimitedHTTP1Channel(
                base: HTTP1Channel(
                    responder: responder,
                    configuration: .init(additionalChannelHandlers: [ConnectionDeadlineHandler(limits: limits, gate: gate, logger: logger)])),
                gate: gate)
        }
    }
}
