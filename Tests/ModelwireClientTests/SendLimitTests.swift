import Logging
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The server's announced limits, enforced by the client before a request leaves: over them the
/// call fails with resource_exhausted and no REQUEST frame is written. A loopback peer answers
/// HELLO with small limits and every REQUEST with an empty PredictResponse.
@Suite struct SendLimitTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    /// Frames of 2 000 bytes, messages of 8 000 bytes.
    static let limits = ProtocolLimits.defaults {
        $0.maxFrameBytes = 2000
        $0.maxMessageBytes = 8000
    }

    /// The REQUEST frames the peer received (their flags).
    final class RequestLog: Sendable {
        let flags = Mutex<[Frame.Flags]>([])
    }

    final class LimitedPeer: ChannelInboundHandler {
        typealias InboundIn = Frame
        typealias OutboundOut = ByteBuffer
        let log: RequestLog

        init(log: RequestLog) { self.log = log }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            let codec = FramePayloadCodec(limits: .defaults, peerAcceptsZlib: false)
            var out = context.channel.allocator.buffer(capacity: 128)
            switch frame.kind {
            case .hello:
                let hello = V1.ServerHello(
                    protocolVersion: 1,
                    compression: .zlib,
                    limits: SendLimitTests.limits.message
                )
                try? codec.writeFrame(hello, kind: .hello, into: &out)
            case .request:
                self.log.flags.withLock { $0.append(frame.flags) }
                try? codec.writeFrame(
                    V1.PredictResponse(),
                    kind: .message,
                    flags: .endStream,
                    callID: frame.callID,
                    into: &out
                )
            default:
                return
            }
            context.writeAndFlush(self.wrapOutboundOut(out), promise: nil)
        }
    }

    static func withPeer(compression: Bool, _ body: (ModelwireClient, RequestLog) async throws -> Void) async throws {
        let log = RequestLog()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(FrameDecoder(maxPayloadBytes: 1 << 20)), LimitedPeer(log: log),
                    ])
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = ModelwireClient(
            endpoints: [Endpoint(host: "127.0.0.1", port: listener.localAddress!.port!)],
            configuration: .defaults {
                $0.retryPolicy = .none
                $0.compression = compression
                $0.connectionsPerEndpoint = 1
            },
            logger: Self.quiet
        )
        do {
            try await body(client, log)
        } catch {
            await client.shutdown()
            try await listener.close()
            throw error
        }
        await client.shutdown()
        try await listener.close()
    }

    /// `count` small integer-valued features: about 4 bytes each, and very compressible.
    static func request(values count: Int) -> V1.PredictRequest {
        V1.PredictRequest(
            model: V1.ModelRef(name: "m"),
            inputs: V1.Tensor(columns: 100, values: (0..<count).map { Float($0 % 13) })
        )
    }

    @Test("a message over the server's max_message_bytes is refused before it is sent")
    func messageOverTheLimit() async throws {
        try await Self.withPeer(compression: true) { client, log in
            _ = try await client.health()  // connected: the server's limits are known
            let request = Self.request(values: 4000)
            let size = try request.serializedBytes().count
            let error = await #expect(throws: ModelwireError.self) { try await client.predict(request) }
            #expect(error?.code == .resourceExhausted)
            #expect(error?.message == "request message of \(size) bytes exceeds the server's limit of 8000 bytes")
            #expect(log.flags.withLock { $0.count } == 1)  // the health call only
        }
    }

    @Test("an uncompressed payload over the server's max_frame_bytes is refused before it is sent")
    func frameOverTheLimit() async throws {
        try await Self.withPeer(compression: false) { client, log in
            _ = try await client.health()
            let request = Self.request(values: 1000)
            let size = try request.serializedBytes().count
            #expect(size > 2000 && size <= 8000)
            let error = await #expect(throws: ModelwireError.self) { try await client.predict(request) }
            #expect(error?.code == .resourceExhausted)
            #expect(error?.message == "request frame of \(size) bytes exceeds the server's limit of 2000 bytes")
            #expect(log.flags.withLock { $0.count } == 1)
        }
    }

    @Test("a message that compresses under max_frame_bytes is sent compressed")
    func compressedUnderTheLimit() async throws {
        try await Self.withPeer(compression: true) { client, log in
            _ = try await client.predict(Self.request(values: 1000))
            #expect(log.flags.withLock { $0 } == [[.endStream, .compressed]])
        }
    }
}
