import ModelwireCodec
import ModelwireData
import ModelwireProtocol
@testable import ModelwireServer
import NIOCore
import Testing

/// Where the server wraps another error in a `ModelwireError`: the status is the wrapped error's
/// mapping, the message a sentence, and the wrapped error is kept as `cause`.
@Suite("Error conversion")
struct ErrorConversionTests {
    @Test("an undecodable request payload fails the call with its status and keeps the FramePayloadError as cause")
    func requestPayloadErrorKeepsItsCause() {
        let codec = FramePayloadCodec(limits: .defaults, peerAcceptsZlib: false)
        let corrupt = Frame(kind: .request, payload: ByteBuffer(bytes: [0x0A, 0x05, 0x01]))
        let malformed = thrownError { _ = try ServiceMethod.decode(corrupt, V1.PredictRequest.self, codec) }
        #expect(malformed == ModelwireError(.invalidArgument, "malformed message: the bytes are not a valid protobuf encoding"))
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
        let rows = V1.Dataset(featureNames: ["a", "b", "c"], features: V1.Tensor(columns: 3, values: [1, 2, 3]),
                              classNames: ["low"], classIds: [0])
        let error = thrownError {
            _ = try service.evaluate(V1.EvaluateRequest(model: V1.ModelRef(name: "m"), data: .inlineData(rows)), .detached)
        }
        #expect(error == ModelwireError(.invalidArgument, "model m v1 expects 2 features, got 3"))
        #expect((error?.cause as? DatasetError)?.code == .featureCountMismatch)
    }
}
