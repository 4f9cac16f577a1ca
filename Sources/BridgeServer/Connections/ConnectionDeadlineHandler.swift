import Logging
import NIOCore
import NIOHTTPTypes

/// Closes an HTTP/1 connection whose client is too slow: the request's head not in within
/// `header_timeout`, its body not in within `body_timeout`, no next request within `idle_timeout`
/// (see ``ConnectionLimits``; the decisions are ``ConnectionDeadlines``').
///
/// Sits after the HTTP codec, so it sees request and response parts; the decoder passes every
/// socket read on as `channelReadComplete`, which tells it bytes arrived even when no part was
/// complete yet. Closing in the middle of a body never hands the route a truncated one: the
/// decoder fails the request's body stream on the early end of input (a test sends half a body).
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var deadlines: ConnectionDeadlines
    private var timer: Scheduled<Void>?
    private let gate: ConnectionGate
    private let logger: Logger

    init(limits: ConnectionLimits, gate: ConnectionGate, logger: Logger) {
        deadlines = ConnectionDeadlines(limits)
        self.gate = gate
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { perform(deadlines.start(now: .now()), context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(deadlines.start(now: .now()), context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: deadlines.headReceived()
        case .body: break
        case .end: deadlines.endReceived()
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        perform(deadlines.readComplete(now: .now()), context)
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { perform(deadlines.responseEnded(now: .now()), context) }
        context.write(data, promise: promise)
    }

    private func perform(_ action: ConnectionDeadlines.Action, _ context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .schedule(let at):
            timer?.cancel()
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [self] in
                timer = nil
                perform(deadlines.timerFired(now: .now()), context)
            }
        case .close(let phase):
            cancelTimer()
            gate.record(phase.cut)
            logger.debug("closing a slow connection", metadata: ["reason": "\(phase.cut.rawValue)", "peer": "\(context.channel.remoteAddress?.description ?? "?")"])
            context.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }
}
