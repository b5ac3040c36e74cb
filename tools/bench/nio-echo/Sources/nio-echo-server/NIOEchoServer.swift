import EchoWire
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Answers every request with the same fixed-size response; the answers to one read leave in one
/// flush (as the C echo and modelwire-server do).
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = Int
    typealias OutboundOut = ByteBuffer
    let response: ByteBuffer

    init(response: ByteBuffer) { self.response = response }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(Self.wrapOutboundOut(self.response), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

/// Usage: nio-echo-server PORT RESPONSE_BYTES   (PORT 0 picks one; prints "echo listening on 127.0.0.1:PORT")
@main
struct NIOEchoServer {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 3, let port = Int(arguments[1]), let size = Int(arguments[2]) else {
            exitWithUsage("nio-echo-server PORT RESPONSE_BYTES")
        }
        let template = LengthPrefixedDecoder.message(bytes: size)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(LengthPrefixedDecoder()), EchoHandler(response: template),
                    ])
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
        print("echo listening on 127.0.0.1:\(channel.localAddress!.port!)")
        fflush(nil)  // all output streams: the bench reads this line through a pipe
        try channel.closeFuture.wait()
    }
}
