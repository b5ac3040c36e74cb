public import NIOCore

extension ByteBuffer {
    /// Writes a whole frame (header and payload as given, no compression applied).
    /// - Returns: The number of bytes written.
    @discardableResult
    public mutating func writeFrame(_ frame: Frame) -> Int {
        var payload = frame.payload
        let header = self.writeFrameHeader(
            kind: frame.kind,
            flags: frame.flags,
            method: frame.method,
            callID: frame.callID,
            timeoutMilliseconds: frame.timeoutMilliseconds,
            payloadLength: UInt32(payload.readableBytes)
        )
        return header + self.writeBuffer(&payload)
    }

    /// Writes a frame header. `readerIndex` is not moved.
    /// - Returns: The number of bytes written (`Frame.headerSize`).
    @discardableResult
    public mutating func writeFrameHeader(
        kind: Frame.Kind,
        flags: Frame.Flags,
        method: UInt16,
        callID: UInt32,
        timeoutMilliseconds: UInt32,
        payloadLength: UInt32
    ) -> Int {
        self.writeMultipleIntegers(
            Frame.magic,
            Frame.formatVersion,
            kind.rawValue,
            flags.rawValue,
            UInt8(0),
            method,
            callID,
            timeoutMilliseconds,
            payloadLength
        )
    }
}
