import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOEmbedded
import Testing

@testable import ModelwireClient

/// The handler in an EmbeddedChannel: frames in, bytes out, no server, no threads.
@Suite struct ClientConnectionHandlerTests {
    final class Harness {
        let channel = EmbeddedChannel()
        let helloPromise: EventLoopPromise<V1.ServerHello>
        let handler: ClientConnectionHandler
        let events = EventLog()
        var decoder = FrameDecoder(maxPayloadBytes: 1 << 20)

        final class EventLog: @unchecked Sendable {  // EmbeddedChannel: one thread only
            var events: [ClientConnectionEvent] = []
        }

        init() throws {
            self.helloPromise = self.channel.eventLoop.makePromise()
            let log = self.events
            self.handler = ClientConnectionHandler(
                hello: Handshake.clientHello(clientName: "test"),
                helloPromise: self.helloPromise,
                codec: FramePayloadCodec(limits: .defaults, peerAcceptsZlib: false),
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                onEvent: { log.events.append($0) }
            )
            try self.channel.pipeline.syncOperations.addHandler(self.handler)
            try self.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7411)).wait()
        }

        /// The next frame the client wrote.
        func sent() throws -> Frame? {
            guard var buffer = try self.channel.readOutbound(as: ByteBuffer.self) else { return nil }
            let frame = try self.decoder.decode(buffer: &buffer)
            #expect(buffer.readableBytes == 0)
            return frame
        }

        func receive<M: ProtobufMessage>(
            _ kind: Frame.Kind,
            _ message: M,
            callID: UInt32 = 0,
            flags: Frame.Flags = []
        ) throws {
            let payload = ByteBuffer(bytes: try message.serializedBytes())
            try self.channel.writeInbound(Frame(kind: kind, flags: flags, callID: callID, payload: payload))
        }

        func handshake() throws {
            let hello = try #require(try self.sent())
            #expect(hello.kind == .hello)
            try self.receive(
                .hello,
                V1.ServerHello(protocolVersion: 1, compression: .zlib, limits: ProtocolLimits.defaults.message)
            )
            _ = try self.helloPromise.futureResult.wait()
        }

        func start(
            _ id: UInt32,
            shape: MethodDescriptor.Shape = .unary,
            timeout: TimeAmount? = nil
        )
            throws -> AsyncThrowingStream<Frame, any Error>
        {
            let (stream, continuation) = AsyncThrowingStream<Frame, any Error>.makeStream()
            var frame = ByteBuffer()
            frame.writeFrame(
                Frame(kind: .request, flags: .endStream, method: 0x0111, callID: id, payload: ByteBuffer())
            )
            try self.channel.writeOutbound(
                ClientRequest.start(
                    callID: id,
                    shape: shape,
                    frame: frame,
                    timeout: timeout,
                    sink: .stream(continuation)
                )
            )
            return stream
        }
    }

    static func collect(
        _ stream: AsyncThrowingStream<Frame, any Error>
    ) async -> (frames: [Frame], error: ModelwireError?) {
        var frames: [Frame] = []
        do {
            for try await frame in stream { frames.append(frame) }
            return (frames, nil)
        } catch {
            return (frames, error as? ModelwireError)
        }
    }

    @Test("sends HELLO first and completes the handshake on the server's HELLO")
    func handshake() throws {
        let h = try Harness()
        let hello = try #require(try h.sent())
        #expect(hello.kind == .hello && hello.callID == 0)
        let clientHello = try V1.ClientHello(serializedBytes: Array(buffer: hello.payload))
        #expect(clientHello.protocolVersions == [1])
        #expect(clientHello.compression.contains(.zlib))
        try h.receive(.hello, V1.ServerHello(protocolVersion: 1, serverName: "s"))
        #expect(try h.helloPromise.futureResult.wait().serverName == "s")
    }

    @Test("an ERROR frame during the handshake fails connect with its status")
    func handshakeError() throws {
        let h = try Harness()
        _ = try h.sent()
        try h.receive(
            .error,
            V1.Status(code: .unimplemented, message: "no common version", supportedProtocolVersions: [2])
        )
        #expect {
            try h.helloPromise.futureResult.wait()
        } throws: { error in
            let e = error as? ModelwireError
            return e?.code == .unimplemented && e?.supportedProtocolVersions == [2]
        }
        #expect(!h.channel.isActive)
    }

    @Test("requests go out as written; out-of-order responses reach their own calls")
    func outOfOrder() async throws {
        let h = try Harness()
        try h.handshake()
        let one = try h.start(1)
        let two = try h.start(2)
        #expect(try h.sent()?.callID == 1)
        #expect(try h.sent()?.callID == 2)
        try h.receive(.message, V1.HealthResponse(live: true, modelsLoaded: 2), callID: 2, flags: .endStream)
        try h.receive(.message, V1.HealthResponse(live: true, modelsLoaded: 1), callID: 1, flags: .endStream)
        let r1 = await Self.collect(one)
        let r2 = await Self.collect(two)
        #expect(try V1.HealthResponse(serializedBytes: Array(buffer: r1.frames[0].payload)).modelsLoaded == 1)
        #expect(try V1.HealthResponse(serializedBytes: Array(buffer: r2.frames[0].payload)).modelsLoaded == 2)
        #expect(h.handler.openCalls == 0)
    }

    @Test("an ERROR frame on a call becomes a ModelwireError with its code, message and hint")
    func callError() async throws {
        let h = try Harness()
        try h.handshake()
        let call = try h.start(1)
        try h.receive(.error, V1.Status(code: .resourceExhausted, message: "queue full", retryAfterMs: 5), callID: 1)
        let result = await Self.collect(call)
        #expect(result.error == ModelwireError(.resourceExhausted, "queue full", retryAfterMilliseconds: 5))
    }

    @Test("PING is answered with a PONG carrying the same bytes")
    func ping() throws {
        let h = try Harness()
        try h.handshake()
        try h.channel.writeInbound(Frame(kind: .ping, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])))
        let pong = try #require(try h.sent())
        #expect(pong.kind == .pong)
        #expect(Array(buffer: pong.payload) == [1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test("GOAWAY: calls up to last_call_id finish, later ones fail retryably, the connection drains and closes")
    func goAway() async throws {
        let h = try Harness()
        try h.handshake()
        let one = try h.start(1)
        let two = try h.start(2)
        try h.receive(.goAway, V1.GoAway(lastCallId: 1, reason: "shutting down"))
        #expect(h.events.events == [.draining])
        let refused = try h.start(3)
        let r3 = await Self.collect(refused)
        #expect(r3.error?.code == .unavailable)
        let r2 = await Self.collect(two)
        #expect(r2.error?.code == .unavailable && r2.error?.retryAfterMilliseconds == 0)
        #expect(h.channel.isActive)
        try h.receive(.message, V1.HealthResponse(live: true), callID: 1, flags: .endStream)
        let r1 = await Self.collect(one)
        #expect(r1.frames.count == 1 && r1.error == nil)
        #expect(!h.channel.isActive)  // drained: closed
    }

    @Test("connection loss fails every open call with unavailable")
    func connectionLoss() async throws {
        let h = try Harness()
        try h.handshake()
        let one = try h.start(1, shape: .serverStreaming)
        let two = try h.start(2)
        try h.receive(.message, V1.TrainEvent(jobId: "j"), callID: 1)
        try await h.channel.close().get()
        let r1 = await Self.collect(one)
        let r2 = await Self.collect(two)
        #expect(r1.frames.count == 1 && r1.error?.code == .unavailable)
        #expect(r2.error?.code == .unavailable)
        #expect(h.events.events.last == .closed)
    }

    @Test("cancel fails the call with cancelled, sends CANCEL, and later frames for it are ignored")
    func cancel() async throws {
        let h = try Harness()
        try h.handshake()
        let call = try h.start(1, shape: .serverStreaming)
        _ = try h.sent()
        try h.channel.writeOutbound(ClientRequest.cancel(callID: 1))
        let cancel = try #require(try h.sent())
        #expect(cancel.kind == .cancel && cancel.callID == 1)
        try h.receive(.message, V1.TrainEvent(jobId: "late"), callID: 1)
        let result = await Self.collect(call)
        #expect(result.frames.isEmpty && result.error?.code == .cancelled)
    }

    @Test("a local deadline fails the call with deadline_exceeded and sends CANCEL")
    func deadline() async throws {
        let h = try Harness()
        try h.handshake()
        let call = try h.start(1, timeout: .milliseconds(100))
        _ = try h.sent()
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(99))
        #expect(h.handler.openCalls == 1)
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(try h.sent()?.kind == .cancel)
        let result = await Self.collect(call)
        #expect(result.error?.code == .deadlineExceeded)
    }

    @Test("one timer serves every deadline: a shorter one opened later fires first; answered calls never fire")
    func manyDeadlines() async throws {
        let h = try Harness()
        try h.handshake()
        let long = try h.start(1, timeout: .milliseconds(300))
        let answered = try h.start(2, timeout: .milliseconds(50))
        let short = try h.start(3, timeout: .milliseconds(100))
        for id: UInt32 in 1...3 { #expect(try h.sent()?.callID == id) }
        try h.receive(.message, V1.HealthResponse(live: true), callID: 2, flags: .endStream)
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(99))
        #expect(try h.sent() == nil)  // call 2's deadline passed answered: no CANCEL
        #expect(h.handler.openCalls == 2)
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        let cancelShort = try #require(try h.sent())
        #expect(cancelShort.kind == .cancel && cancelShort.callID == 3)
        #expect(h.handler.openCalls == 1)
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(199))
        #expect(h.handler.openCalls == 1)
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(try h.sent()?.callID == 1)
        #expect(h.handler.openCalls == 0)
        #expect(await Self.collect(answered).error == nil)
        #expect(await Self.collect(short).error?.code == .deadlineExceeded)
        #expect(await Self.collect(long).error?.code == .deadlineExceeded)
    }

    @Test("a connection ERROR (call 0) closes the connection and fails open calls")
    func connectionError() async throws {
        let h = try Harness()
        try h.handshake()
        let call = try h.start(1)
        try h.receive(.error, V1.Status(code: .resourceExhausted, message: "frame too large"))
        let result = await Self.collect(call)
        #expect(result.error?.code == .unavailable)
        #expect(result.error?.message.contains("frame too large") == true)
        #expect(!h.channel.isActive)
    }

    @Test("client-stream chunks for an ended call are refused")
    func sendAfterEnd() async throws {
        let h = try Harness()
        try h.handshake()
        let call = try h.start(1, shape: .clientStreaming)
        _ = try h.sent()
        try h.receive(.error, V1.Status(code: .alreadyExists, message: "exists"), callID: 1)
        #expect(throws: ModelwireError.self) {
            try h.channel.writeOutbound(ClientRequest.send(callID: 1, frame: ByteBuffer(bytes: [0])))
        }
        let result = await Self.collect(call)
        #expect(result.error?.code == .alreadyExists)
    }
}
