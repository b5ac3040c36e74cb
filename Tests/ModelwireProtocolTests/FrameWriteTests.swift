import ModelwireCodec
import ModelwireProtocol
import NIOCore
import Testing

/// `Frame.HeaderOffset` against the bytes `writeFrameHeader` produces.
@Suite struct FrameHeaderOffsetTests {
    @Test("every named offset reads back the field written there")
    func offsetsMatchTheWrittenHeader() throws {
        var buffer = ByteBuffer()
        buffer.writeFrameHeader(
            kind: .request,
            flags: [.endStream, .compressed],
            method: 0x0102,
            callID: 0xA1B2_C3D4,
            timeoutMilliseconds: 250,
            payloadLength: 0x0001_0203
        )
        #expect(buffer.readableBytes == Frame.headerSize)
        #expect(buffer.getInteger(at: Frame.HeaderOffset.magic, as: UInt16.self) == Frame.magic)
        #expect(buffer.getInteger(at: Frame.HeaderOffset.formatVersion, as: UInt8.self) == Frame.formatVersion)
        #expect(buffer.getInteger(at: Frame.HeaderOffset.kind, as: UInt8.self) == Frame.Kind.request.rawValue)
        #expect(buffer.getInteger(at: Frame.HeaderOffset.flags, as: UInt8.self) == 0x03)
        #expect(buffer.getInteger(at: Frame.HeaderOffset.reserved, as: UInt8.self) == 0)
        #expect(buffer.getInteger(at: Frame.HeaderOffset.method, as: UInt16.self) == 0x0102)
        #expect(buffer.getInteger(at: Frame.HeaderOffset.callID, as: UInt32.self) == 0xA1B2_C3D4)
        #expect(buffer.getInteger(at: Frame.HeaderOffset.timeoutMilliseconds, as: UInt32.self) == 250)
        #expect(buffer.getInteger(at: Frame.HeaderOffset.payloadLength, as: UInt32.self) == 0x0001_0203)
        #expect(Frame.HeaderOffset.payloadLength + 4 == Frame.headerSize)
    }
}

/// `FramePayloadCodec.writeFrame(...maxMessageBytes:maxPayloadBytes:into:)`: limits checked while
/// packing once, the same bytes as the unlimited `writeFrame` when they hold, nothing written when not.
@Suite struct FrameSendLimitTests {
    /// 64 rows of 100 small values: 25 600 bytes of floats, highly compressible.
    static let compressible = V1.PredictRequest(
        model: V1.ModelRef(name: "m"),
        inputs: V1.Tensor(columns: 100, values: (0..<6400).map { Float($0 % 13) })
    )
    /// 1 row: about 420 bytes, under the compression threshold.
    static let small = V1.PredictRequest(
        model: V1.ModelRef(name: "m"),
        inputs: V1.Tensor(columns: 100, values: (0..<100).map { Float($0) })
    )

    static func write(
        _ message: V1.PredictRequest,
        compress: Bool,
        maxMessage: Int,
        maxPayload: Int,
        into buffer: inout ByteBuffer
    ) throws(FramePayloadCodec.WriteFailure) {
        try FramePayloadCodec(limits: .defaults, peerAcceptsZlib: compress)
            .writeFrame(
                message,
                kind: .request,
                flags: .endStream,
                method: 0x0101,
                callID: 7,
                timeoutMilliseconds: 30,
                maxMessageBytes: maxMessage,
                maxPayloadBytes: maxPayload,
                into: &buffer
            )
    }

    @Test("within the limits, the bytes are exactly those of the unlimited writeFrame", arguments: [false, true])
    func sameBytes(compress: Bool) throws {
        for message in [Self.small, Self.compressible] {
            var unlimited = ByteBuffer()
            try FramePayloadCodec(limits: .defaults, peerAcceptsZlib: compress)
                .writeFrame(
                    message,
                    kind: .request,
                    flags: .endStream,
                    method: 0x0101,
                    callID: 7,
                    timeoutMilliseconds: 30,
                    into: &unlimited
                )
            var limited = ByteBuffer()
            try Self.write(message, compress: compress, maxMessage: 1 << 20, maxPayload: 1 << 20, into: &limited)
            #expect(limited == unlimited)
        }
    }

    @Test("a message over the peer's message limit is refused before anything is written")
    func messageTooLarge() throws {
        let size = try Self.compressible.serializedBytes().count
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: FramePayloadCodec.WriteFailure.messageTooLarge(size: size, limit: size - 1)) {
            try Self.write(Self.compressible, compress: true, maxMessage: size - 1, maxPayload: 1 << 20, into: &buffer)
        }
        #expect(buffer == ByteBuffer(bytes: [1, 2, 3]))
    }

    @Test("an uncompressed payload over the frame limit is refused; compressed to fit, it is sent")
    func payloadTooLarge() throws {
        let size = try Self.compressible.serializedBytes().count
        var buffer = ByteBuffer()
        #expect(throws: FramePayloadCodec.WriteFailure.payloadTooLarge(size: size, limit: 1000)) {
            try Self.write(Self.compressible, compress: false, maxMessage: 1 << 20, maxPayload: 1000, into: &buffer)
        }
        #expect(buffer.readableBytes == 0)
        // Compressed, the same message fits in 1000 bytes of payload.
        try Self.write(Self.compressible, compress: true, maxMessage: 1 << 20, maxPayload: 1000, into: &buffer)
        let frame = try #require(try FrameDecoder(maxPayloadBytes: 1000).decodeOne(&buffer))
        #expect(frame.flags == [.endStream, .compressed])
        #expect(
            try FramePayloadCodec(limits: .defaults, peerAcceptsZlib: true).decode(frame, as: V1.PredictRequest.self)
                == Self.compressible
        )
    }

    @Test("a compressed payload still over the frame limit is refused, and the buffer rolled back")
    func compressedPayloadTooLarge() throws {
        var buffer = ByteBuffer(bytes: [9])
        do {
            try Self.write(Self.compressible, compress: true, maxMessage: 1 << 20, maxPayload: 10, into: &buffer)
            Issue.record("written")
        } catch {
            guard case .payloadTooLarge(let size, 10) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(size > 10)
        }
        #expect(buffer == ByteBuffer(bytes: [9]))
    }
}
