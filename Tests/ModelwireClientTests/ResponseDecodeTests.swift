import ModelwireCodec
import ModelwireProtocol
import NIOCore
import Testing

@testable import ModelwireClient

/// A response the client cannot decode fails the call with the payload error's status, a
/// sentence, and the `FramePayloadError` kept as `cause`.
@Suite struct ResponseDecodeTests {
    @Test func undecodableResponseKeepsItsCause() {
        let codec = FramePayloadCodec(limits: .defaults { $0.maxMessageBytes = 2 }, peerAcceptsZlib: false)
        let frame = Frame(kind: .message, payload: ByteBuffer(bytes: [0x0A, 0x05, 0x01]))
        let error = #expect(throws: ModelwireError.self) {
            _ = try ModelwireClient.decode(frame, as: V1.PredictResponse.self, codec: codec)
        }
        #expect(
            error
                == ModelwireError(
                    .resourceExhausted,
                    "response PredictResponse rejected: message of 3 bytes exceeds the limit of 2 bytes"
                )
        )
        #expect(error?.cause as? FramePayloadError == .codec(.tooLarge(size: 3, limit: 2)))
    }
}
