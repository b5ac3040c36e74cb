import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

@testable import ModelwireServer

/// `ServerConnectionHandler` on an `EmbeddedChannel`: frames in, frames out, no socket.
@Suite("ServerConnectionHandler")
struct ConnectionHandlerTests {
    /// A channel with the server's pipeline (frame decoder + handler) on a service with model "m".
    final class Harness {
        let channel = EmbeddedChannel()
        let workers = NIOThreadPool(numberOfThreads: 1)
        let codec = FramePayloadCodec(limits: .defaults, peerAcceptsZlib: false)
        var decoder = FrameDecoder(maxPayloadBytes: 1 << 24)

        init() throws {
            workers.start()
            let service = try Fixtures.service()
            let loop = channel.embeddedEventLoop
            let batcher = PredictBatcher(eventLoop: loop, settings: service.configuration.batching)
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxPayloadBytes: 1 << 24)))
            try channel.pipeline.syncOperations.addHandler(
                ServerConnectionHandler(
                    service: service,
                    workers: workers,
                    batcher: batcher,
                    logger: Fixtures.quiet
                )
            )
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7411)).wait()
            #expect(channel.isActive)
        }

        deinit { try? workers.syncShutdownGracefully() }

        func send<M: ProtobufMessage>(
            _ message: M,
            kind: Frame.Kind,
            method: V1.Method? = nil,
            callID: UInt32 = 0
        ) throws {
            var buffer = ByteBuffer()
            try codec.writeFrame(
                message,
                kind: kind,
                method: method.map { UInt16($0.rawValue) } ?? 0,
                callID: callID,
                into: &buffer
            )
            try channel.writeInbound(buffer)
            channel.embeddedEventLoop.run()
        }

        /// Every frame written so far.
        func written() throws -> [Frame] {
            var frames: [Frame] = []
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
                while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
            }
            return frames
        }

        func handshake() throws {
            try send(V1.ClientHello(protocolVersions: [1], clientName: "test"), kind: .hello)
            #expect(try written().map(\.kind) == [.hello])
        }
    }

    @Test("HELLO is answered; a Health call on the event loop is answered at once with END_STREAM")
    func helloThenHealth() throws {
        let harness = try Harness()
        try harness.handshake()
        try harness.send(V1.HealthRequest(), kind: .request, method: .health, callID: 1)
        let frames = try harness.written()
        #expect(frames.map(\.kind) == [.message])
        #expect(frames.first?.callID == 1)
        #expect(frames.first?.flags.contains(.endStream) == true)
        let health = try harness.codec.decode(try #require(frames.first), as: V1.HealthResponse.self)
        #expect(health.ready)
    }

    @Test("a predict is answered from the loop's batcher with the model's classes")
    func predict() throws {
        let harness = try Harness()
        try harness.handshake()
        try harness.send(Fixtures.predictRequest(values: [0, 0, 1, 1]), kind: .request, method: .predict, callID: 5)
        let frames = try harness.written()
        let response = try harness.codec.decode(try #require(frames.first), as: V1.PredictResponse.self)
        #expect(response.classIds.count == 2)
        #expect(response.classNames == ["low", "high"])
    }

    @Test("a request before HELLO gets ERROR on call 0 and the connection closes")
    func requestBeforeHello() throws {
        let harness = try Harness()
        try harness.send(V1.HealthRequest(), kind: .request, method: .health, callID: 1)
        let frames = try harness.written()
        #expect(frames.map(\.kind) == [.error])
        #expect(frames.first?.callID == 0)
        #expect(!harness.channel.isActive)
    }

    @Test("a bad call fails only itself: unknown method, malformed body; the next call is served")
    func callErrorsKeepTheConnection() throws {
        let harness = try Harness()
        try harness.handshake()
        var buffer = ByteBuffer()
        buffer.writeFrame(Frame(kind: .request, method: 0x01FE, callID: 1, payload: ByteBuffer()))
        buffer.writeFrame(
            Frame(
                kind: .request,
                method: UInt16(V1.Method.describeModel.rawValue),
                callID: 2,
                payload: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF])
            )
        )
        try harness.channel.writeInbound(buffer)
        try harness.send(V1.HealthRequest(), kind: .request, method: .health, callID: 3)
        let frames = try harness.written()
        #expect(frames.map(\.kind) == [.error, .error, .message])
        #expect(try harness.codec.decode(frames[0], as: V1.Status.self).code == .unimplemented)
        #expect(try harness.codec.decode(frames[1], as: V1.Status.self).code == .invalidArgument)
        #expect(harness.channel.isActive)
    }

    @Test("drain: GOAWAY names the last call; with nothing open the connection closes")
    func drain() throws {
        let harness = try Harness()
        try harness.handshake()
        try harness.send(V1.HealthRequest(), kind: .request, method: .health, callID: 7)
        _ = try harness.written()
        harness.channel.pipeline.fireUserInboundEventTriggered(ServerConnectionHandler.DrainEvent())
        harness.channel.embeddedEventLoop.run()
        let frames = try harness.written()
        #expect(frames.map(\.kind) == [.goAway])
        #expect(try harness.codec.decode(frames[0], as: V1.GoAway.self).lastCallId == 7)
        #expect(!harness.channel.isActive)
    }
}
