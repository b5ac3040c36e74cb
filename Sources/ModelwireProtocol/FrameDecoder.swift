public import NIOCore

/// Cuts a byte stream into `Frame`s, enforcing the frame-level limits from the header alone.
///
/// Checks, in order (brpc's order): the magic as soon as its bytes arrive (even one byte), the
/// frame version, the kind, the flags, then the declared length against `maxPayloadBytes`
/// *before* waiting for the body. Payloads are not inflated or decoded here: that is
/// `FramePayloadCodec`'s job, so the framing sees bodies only as bytes.
///
/// Use with `ByteToMessageHandler(FrameDecoder(maxPayloadBytes:))` or
/// `NIOSingleStepByteToMessageProcessor`.
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = Frame

    /// The largest payload accepted; larger frames fail with `WireError.frameTooLarge`.
    public let maxPayloadBytes: Int

    /// Creates a decoder.
    /// - Parameter maxPayloadBytes: The frame payload limit (the peer's `Limits.max_frame_bytes`).
    public init(maxPayloadBytes: Int) {
        precondition(maxPayloadBytes >= 0 && maxPayloadBytes <= Int(UInt32.max), "maxPayloadBytes out of range")
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// Returns the next frame, or nil when more bytes are needed.
    ///
    /// `buffer.readerIndex` is **not** moved unless a whole frame is returned.
    /// - Throws: `WireError` for anything that is not a valid frame of format version 1.
    public mutating func decode(buffer: inout ByteBuffer) throws(WireError) -> Frame? {
        let start = buffer.readerIndex
        let readable = buffer.readableBytes
        if readable >= 2, let magic = buffer.getInteger(at: start, as: UInt16.self), magic != Frame.magic {
            throw .badMagic(magic, received: buffer.readableBytesView)
        }
        if readable == 1, let first = buffer.getInteger(at: start, as: UInt8.self), first != UInt8(Frame.magic >> 8) {
            throw .badMagic(UInt16(first) << 8)
        }
        guard
            let (_, version, kind, flags, reserved, method, callID, timeout, length) = buffer.getMultipleIntegers(
                at: start,
                as: (UInt16, UInt8, UInt8, UInt8, UInt8, UInt16, UInt32, UInt32, UInt32).self
            )
        else { return nil }
        guard version == Frame.formatVersion else { throw .unsupportedFrameVersion(version) }
        let frameKind = Frame.Kind(rawValue: kind)
        guard Frame.Kind.allKnown.contains(frameKind) else { throw .unknownFrameKind(kind) }
        guard flags & ~Frame.Flags.allKnown.rawValue == 0, reserved == 0 else { throw .invalidFlags(flags | reserved) }
        guard Int(length) <= self.maxPayloadBytes else {
            throw .frameTooLarge(length: Int(length), limit: self.maxPayloadBytes)
        }
        guard readable >= Frame.headerSize + Int(length) else { return nil }  // wait for the body
        buffer.moveReaderIndex(forwardBy: Frame.headerSize)
        let payload = buffer.readSlice(length: Int(length))!  // length checked on the line above
        return Frame(
            kind: frameKind,
            flags: Frame.Flags(rawValue: flags),
            method: method,
            callID: callID,
            timeoutMilliseconds: timeout,
            payload: payload
        )
    }

    /// At end of stream: a complete frame is still returned; a partial one is `WireError.truncated`.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws(WireError) -> Frame? {
        if let frame = try self.decode(buffer: &buffer) { return frame }
        if buffer.readableBytes > 0 { throw .truncated(bufferedBytes: buffer.readableBytes) }
        return nil
    }
}
