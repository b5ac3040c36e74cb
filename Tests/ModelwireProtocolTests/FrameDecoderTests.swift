import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@Suite struct FrameDecoderTests {
    static func frameBytes(
        kind: UInt8 = 2,
        flags: UInt8 = 1,
        version: UInt8 = 1,
        length: UInt32? = nil,
        payload: [UInt8] = [1, 2, 3]
    ) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeMultipleIntegers(
            Frame.magic,
            version,
            kind,
            flags,
            UInt8(0),
            UInt16(0x0101),
            UInt32(1),
            UInt32(250),
            length ?? UInt32(payload.count)
        )
        buffer.writeBytes(payload)
        return Array(buffer.readableBytesView)
    }

    static func decode(_ bytes: [UInt8], limit: Int = 1024) throws(WireError) -> Frame? {
        var decoder = FrameDecoder(maxPayloadBytes: limit)
        var buffer = ByteBuffer(bytes: bytes)
        return try decoder.decode(buffer: &buffer)
    }

    @Test func headerFieldsAreReadBigEndian() throws {
        let frame = try #require(try Self.decode(Self.frameBytes()))
        #expect(frame.kind == .request)
        #expect(frame.flags == .endStream)
        #expect(frame.method == 0x0101)
        #expect(frame.callID == 1)
        #expect(frame.timeoutMilliseconds == 250)
        #expect(Array(frame.payload.readableBytesView) == [1, 2, 3])
    }

    @Test func dripFedBatchedAndShuffledInputDecodes() throws {
        let frames = (0..<5).map { i in Self.frameBytes(payload: [UInt8](repeating: UInt8(i), count: i * 7)) }
        let expected = try frames.map { try #require(try Self.decode($0)) }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: zip(frames, expected).map { (ByteBuffer(bytes: $0), [$1]) },
            decoderFactory: { FrameDecoder(maxPayloadBytes: 1024) }
        )
    }

    @Test func truncatedHeaderOrBodyWaitsThenFailsAtEndOfStream() throws {
        let bytes = Self.frameBytes()
        for cut in [5, 19, 20, 22] {
            var decoder = FrameDecoder(maxPayloadBytes: 1024)
            var buffer = ByteBuffer(bytes: bytes[..<cut])
            #expect(try decoder.decode(buffer: &buffer) == nil)
            #expect(buffer.readerIndex == 0)
            #expect(throws: WireError.truncated(bufferedBytes: cut)) {
                try decoder.decodeLast(buffer: &buffer, seenEOF: true)
            }
        }
    }

    @Test func badMagicIsRejectedFromItsFirstByte() {
        #expect(throws: WireError.badMagic(0x4700)) { try Self.decode(Array("G".utf8)) }
        let http = Array("GET / HTTP/1.1\r\n".utf8)
        #expect(throws: WireError.badMagic(0x4745, received: http)) { try Self.decode(http) }
        #expect(WireError.badMagic(0x4745, received: http).receivedText == "GET / HTTP/1.1")
        #expect(throws: WireError.badMagic(0x4D00)) { try Self.decode([0x4D, 0x00]) }
    }

    @Test func unsupportedVersionUnknownKindAndFlagsAreRejected() {
        #expect(throws: WireError.unsupportedFrameVersion(2)) { try Self.decode(Self.frameBytes(version: 2)) }
        #expect(throws: WireError.unknownFrameKind(9)) { try Self.decode(Self.frameBytes(kind: 9)) }
        #expect(throws: WireError.unknownFrameKind(0)) { try Self.decode(Self.frameBytes(kind: 0)) }
        #expect(throws: WireError.invalidFlags(0x81)) { try Self.decode(Self.frameBytes(flags: 0x81)) }
    }

    @Test func lengthOverTheLimitIsRejectedFromTheHeaderAlone() {
        let headerOnly = Array(Self.frameBytes(length: 4_000_000_000, payload: []))
        #expect(headerOnly.count == Frame.headerSize)
        #expect(throws: WireError.frameTooLarge(length: 4_000_000_000, limit: 1024)) { try Self.decode(headerOnly) }
        #expect(throws: WireError.frameTooLarge(length: 1025, limit: 1024)) {
            try Self.decode(Self.frameBytes(length: 1025, payload: []))
        }
    }

    @Test func garbageOnAChannelFiresAnErrorInThePipeline() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxPayloadBytes: 1024)))
        #expect(throws: WireError.badMagic(0xDEAD)) {
            try channel.writeInbound(ByteBuffer(bytes: [0xDE, 0xAD, 0xBE, 0xEF]))
        }
        _ = try? channel.finish()
    }
}
