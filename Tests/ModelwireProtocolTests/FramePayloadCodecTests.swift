import ModelwireCodec
import ModelwireProtocol
import NIOCore
import Testing

@Suite struct FramePayloadCodecTests {
    static func request(rows: Int) -> V1.PredictRequest {
        V1.PredictRequest(
            model: V1.ModelRef(name: "m"),
            inputs: V1.Tensor(columns: 100, values: (0..<rows * 100).map { Float($0 % 13) })
        )
    }

    static func roundTrip(_ message: V1.PredictRequest, codec: FramePayloadCodec) throws -> (Frame, V1.PredictRequest) {
        var buffer = ByteBuffer()
        try codec.writeFrame(message, kind: .request, flags: .endStream, method: 0x0101, callID: 3, into: &buffer)
        var decoder = FrameDecoder(maxPayloadBytes: codec.limits.maxFrameBytes)
        let frame = try #require(try decoder.decode(buffer: &buffer))
        return (frame, try codec.decode(frame, as: V1.PredictRequest.self))
    }

    @Test func smallPayloadsAreNotCompressedLargeOnesAre() throws {
        let codec = FramePayloadCodec(limits: .defaults, peerAcceptsZlib: true)
        let (small, smallDecoded) = try Self.roundTrip(Self.request(rows: 1), codec: codec)
        #expect(!small.flags.contains(.compressed))
        #expect(smallDecoded == Self.request(rows: 1))
        let (large, largeDecoded) = try Self.roundTrip(Self.request(rows: 64), codec: codec)
        #expect(large.flags == [.endStream, .compressed])
        #expect(large.payload.readableBytes < 64 * 100 * 4)
        #expect(largeDecoded == Self.request(rows: 64))
    }

    @Test func textPayloadsAreCompressed() throws {
        let info = V1.DatasetInfo(name: "d", featureNames: (0..<400).map { "mean radius of cell nucleus \($0)" })
        var buffer = ByteBuffer()
        try FramePayloadCodec(limits: .defaults, peerAcceptsZlib: true).writeFrame(info, kind: .message, into: &buffer)
        let frame = try #require(try FrameDecoder(maxPayloadBytes: 1 << 20).decodeOne(&buffer))
        #expect(frame.flags.contains(.compressed))
        #expect(frame.payload.readableBytes * 2 < (try info.serializedBytes().count))
        #expect(
            try FramePayloadCodec(limits: .defaults, peerAcceptsZlib: true).decode(frame, as: V1.DatasetInfo.self)
                == info
        )
    }

    @Test func incompressiblePayloadsAreSentPlainWithoutDeflating() throws {
        var generator = SystemRandomNumberGenerator()
        let random = V1.PredictRequest(
            model: V1.ModelRef(name: "m"),
            inputs: V1.Tensor(columns: 100, values: (0..<6400).map { _ in Float.random(in: -1...1, using: &generator) })
        )
        let (frame, decoded) = try Self.roundTrip(
            random,
            codec: FramePayloadCodec(limits: .defaults, peerAcceptsZlib: true)
        )
        #expect(!frame.flags.contains(.compressed))
        #expect(decoded == random)
    }

    @Test func noCompressionWhenThePeerDoesNotAcceptIt() throws {
        let codec = FramePayloadCodec(limits: .defaults, peerAcceptsZlib: false)
        let (frame, _) = try Self.roundTrip(Self.request(rows: 64), codec: codec)
        #expect(!frame.flags.contains(.compressed))
    }

    @Test func compressedPayloadWithoutNegotiationIsRejected() throws {
        var buffer = ByteBuffer()
        try FramePayloadCodec(limits: .defaults, peerAcceptsZlib: true)
            .writeFrame(Self.request(rows: 64), kind: .request, into: &buffer)
        let frame = try #require(try FrameDecoder(maxPayloadBytes: 1 << 20).decodeOne(&buffer))
        let strict = FramePayloadCodec(limits: .defaults, peerAcceptsZlib: false, acceptsZlib: false)
        #expect(throws: FramePayloadError.compressionNotNegotiated) {
            try strict.decode(frame, as: V1.PredictRequest.self)
        }
    }

    @Test func zlibBombInASmallFrameIsStoppedWithBoundedMemory() throws {
        // 64 MiB of zeros in a ~64 KiB frame: well under the frame limit, far over the message limit.
        let bomb = try Zlib.compress([UInt8](repeating: 0, count: 64 << 20), level: 9)
        var buffer = ByteBuffer()
        buffer.writeFrame(
            Frame(
                kind: .request,
                flags: [.endStream, .compressed],
                method: 0x0101,
                callID: 1,
                payload: ByteBuffer(bytes: bomb)
            )
        )
        let limits = ProtocolLimits.defaults {
            $0.maxMessageBytes = 1 << 20
            $0.maxDecompressionRatio = 1 << 20
        }
        let frame = try #require(try FrameDecoder(maxPayloadBytes: limits.maxFrameBytes).decodeOne(&buffer))
        let codec = FramePayloadCodec(limits: limits, peerAcceptsZlib: true)
        #expect(throws: FramePayloadError.compression(.tooLarge(limit: 1 << 20))) {
            try codec.decode(frame, as: V1.PredictRequest.self)
        }
        #expect(FramePayloadError.compression(.tooLarge(limit: 1 << 20)).status.code == .resourceExhausted)
        let byRatio = FramePayloadCodec(limits: .defaults, peerAcceptsZlib: true)
        #expect(throws: FramePayloadError.compression(.ratioExceeded(limit: 200))) {
            try byRatio.decode(frame, as: V1.PredictRequest.self)
        }
    }

    @Test func corruptZlibAndCorruptProtobufFailTheCallWithInvalidArgument() throws {
        let codec = FramePayloadCodec(limits: .defaults, peerAcceptsZlib: true)
        let corruptZlib = Frame(kind: .request, flags: .compressed, payload: ByteBuffer(bytes: [0x78, 0x9C, 1, 2, 3]))
        #expect(throws: FramePayloadError.self) { try codec.decode(corruptZlib, as: V1.PredictRequest.self) }
        let corruptProtobuf = Frame(kind: .request, payload: ByteBuffer(bytes: [0x0A, 0x7F, 0x01]))
        #expect(throws: FramePayloadError.codec(.malformed)) {
            try codec.decode(corruptProtobuf, as: V1.PredictRequest.self)
        }
        #expect(FramePayloadError.codec(.malformed).status.code == .invalidArgument)
        let badUTF8 = Frame(kind: .request, payload: ByteBuffer(bytes: [0x0A, 0x04, 0x0A, 0x02, 0xC3, 0x28]))
        #expect(throws: FramePayloadError.codec(.invalidUTF8(field: "ModelRef.name"))) {
            try codec.decode(badUTF8, as: V1.PredictRequest.self)
        }
    }

    @Test func messagesOverTheLimitAreResourceExhausted() throws {
        let limits = ProtocolLimits.defaults { $0.maxMessageBytes = 100 }
        let codec = FramePayloadCodec(limits: limits, peerAcceptsZlib: false)
        let frame = Frame(kind: .request, payload: ByteBuffer(bytes: try Self.request(rows: 1).serializedBytes()))
        #expect(throws: FramePayloadError.self) { try codec.decode(frame, as: V1.PredictRequest.self) }
    }
}

extension FrameDecoder {
    /// Decodes one frame from `buffer` (test helper).
    func decodeOne(_ buffer: inout ByteBuffer) throws -> Frame? {
        var copy = self
        return try copy.decode(buffer: &buffer)
    }
}
