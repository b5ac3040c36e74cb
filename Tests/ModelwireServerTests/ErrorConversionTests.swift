import ModelwireCodec
import ModelwireData
import ModelwireProtocol
import NIOCore
import NIOEmbedded
import Testing

@testable import ModelwireServer

/// Where the server wraps another error in a `ModelwireError`: the status is the wrapped error's
/// mapping, the message a sentence, and the wrapped error is kept as `cause`.
@Suite("Error conversion")
struct ErrorConversionTests {
    @Test("an undecodable request payload fails the call with its status and keeps the FramePayloadError as cause")
    func requestPayloadErrorKeepsItsCause() {
        let codec = FramePayloadCodec(limits: .defaults, peerAcceptsZlib: false)
        let corrupt = Frame(kind: .request, payload: ByteBuffer(bytes: [0x0A, 0x05, 0x01]))
        let malformed = thrownError { _ = try ServiceMethod.decode(corrupt, V1.PredictRequest.self, codec) }
        #expect(
            malformed
                == ModelwireError(.invalidArgument, "malformed message: the bytes are not a valid protobuf encoding")
        )
        #expect(malformed?.cause as? FramePayloadError == .codec(.malformed))

        let compressed = Frame(kind: .request, flags: .compressed, payload: ByteBuffer(bytes: [0x78, 0x9C, 0x01]))
        let strict = FramePayloadCodec(limits: .defaults, peerAcceptsZlib: false, acceptsZlib: false)
        let refused = thrownError { _ = try ServiceMethod.decode(compressed, V1.PredictRequest.self, strict) }
        #expect(refused == ModelwireError(.invalidArgument, "compressed payload but compression was not negotiated"))
        #expect(refused?.cause as? FramePayloadError == .compressionNotNegotiated)
    }

    @Test("evaluate on rows of another width says how many features the model expects, without a case name")
    func evaluateFeatureCountMessage() throws {
        let service = try Fixtures.service()
        let rows = V1.Dataset(  // no feature names: matched by position (named rows are matched by name)
            features: V1.Tensor(columns: 3, values: [1, 2, 3]),
            classNames: ["low"],
            classIds: [0]
        )
        let error = thrownError {
            _ = try service.evaluate(
                V1.EvaluateRequest(model: V1.ModelRef(name: "m"), data: .inlineData(rows)),
                .detached
            )
        }
        #expect(error == ModelwireError(.invalidArgument, "model m v1 expects 2 features, got 3"))
        #expect((error?.cause as? DatasetError)?.code == .featureCountMismatch)
    }
}

/// The connection-level errors the server sends before closing: sentences, with the status of
/// the violation.
@Suite("Connection error messages")
struct ConnectionErrorMessageTests {
    @Test("bytes that are not a frame get ERROR on call 0 with the WireError's status")
    func badMagicIsReportedAsItsStatus() throws {
        let harness = try ConnectionHandlerTests.Harness()
        try harness.channel.writeInbound(ByteBuffer(bytes: Array("GET / HTTP/1.1\r\n".utf8)))
        harness.channel.embeddedEventLoop.run()
        let frames = try harness.written()
        #expect(frames.map(\.kind) == [.error])
        let status = try harness.codec.decode(try #require(frames.first), as: V1.Status.self)
        #expect(status.code == WireError.badMagic(0x4745).status.code)
        #expect(status.message == "not a Modelwire peer (got 'GET / HTTP/1.1'): bad magic 0x4745")
    }

    @Test("a decoder error from NIO is described in a sentence, not by its case name")
    func decoderErrorIsASentence() throws {
        let harness = try ConnectionHandlerTests.Harness()
        try harness.handshake()
        let leftover = ByteToMessageDecoderError.leftoverDataWhenDone(ByteBuffer(bytes: [1, 2, 3]))
        harness.channel.pipeline.fireErrorCaught(leftover)
        harness.channel.embeddedEventLoop.run()
        let frames = try harness.written()
        #expect(frames.map(\.kind) == [.error])
        let status = try harness.codec.decode(try #require(frames.first), as: V1.Status.self)
        #expect(
            status
                == V1.Status(
                    code: .invalidArgument,
                    message: "framing error: connection ended inside a frame (3 bytes buffered)"
                )
        )
    }
}
