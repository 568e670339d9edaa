import NIOCore
import NIOHTTP1

/// The HTTP/1 rules of one connection that Hummingbird leaves to us:
/// - `Expect: 100-continue` gets `100 Continue` at once, so curl does not wait a second before
///   uploading; a body declared over its limit (`BodyLimits`) gets no 100, and the route's 413 closes the
///   connection, as the unsent body will never be read;
/// - a request that is not keep-alive (HTTP/1.0 without `Connection: keep-alive`, or
///   `Connection: close` in any case) is answered with `Connection: close`, then closed, so a
///   client reading to EOF returns;
/// - the connection registry learns when the connection is idle, for the connection cap.
final class HTTP1ConnectionRules: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let bodyLimits: BodyLimits
    private let connections: ConnectionRegistry
    private var closeAfterResponse = false
    private var sayKeepAlive = false

    init(bodyLimits: BodyLimits, connections: ConnectionRegistry) {
        (self.bodyLimits, self.connections) = (bodyLimits, connections)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        connections.admit(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connections.remove(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        connections.setIdle(context.channel, false)
        let isHTTP10 = head.version.major == 1 && head.version.minor == 0
        closeAfterResponse = !head.isKeepAlive
        sayKeepAlive = isHTTP10 && head.isKeepAlive
        // Hummingbird ends a connection after the response only for exactly `Connection: close`.
        if closeAfterResponse { head.headers.replaceOrAdd(name: "connection", value: "close") }
        if head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            head.headers.remove(name: "expect")
            let declared = head.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
            let binary = head.headers.contains(name: "inference-header-content-length")
            if declared > bodyLimits.limit(binary: binary) {
                closeAfterResponse = true
            } else {
                let interim = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            if closeAfterResponse {
                head.headers.replaceOrAdd(name: "connection", value: "close")
            } else if sayKeepAlive {
                head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where closeAfterResponse:
            let written = promise ?? context.eventLoop.makePromise()
            context.write(data, promise: written)
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        case .end:
            connections.setIdle(context.channel, true)
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }
}
