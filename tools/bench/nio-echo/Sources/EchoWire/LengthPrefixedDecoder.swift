public import NIOCore

/// Splits the echo wire into messages (u32 big-endian length, then that many bytes) and passes
/// on each message's length; the bytes themselves are skipped.
public struct LengthPrefixedDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Int

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            buffer.readableBytes >= 4 + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4 + Int(length))
        context.fireChannelRead(Self.wrapInboundOut(Int(length)))
        return .continue
    }

    /// A message of `bytes` bytes in all (header included), zero-filled.
    public static func message(bytes: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(max(4, bytes) - 4))
        buffer.writeRepeatingByte(0, count: max(4, bytes) - 4)
        return buffer
    }
}
