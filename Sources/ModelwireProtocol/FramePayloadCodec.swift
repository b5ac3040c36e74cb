public import NIOCore
public import ModelwireCodec

/// Turns messages into frame payloads and back: protobuf-c encoding straight into the
/// outgoing `ByteBuffer`, zlib above a size threshold, and bounded inflation on the way in.
public struct FramePayloadCodec: Sendable, Hashable {
    /// Limits applied to incoming payloads (message size, inflation ratio).
    public var limits: ProtocolLimits
    /// Whether the peer accepts zlib payloads (negotiated in the handshake).
    public var peerAcceptsZlib: Bool
    /// Whether this side accepts zlib payloads from the peer.
    public var acceptsZlib: Bool

    /// Creates a codec.
    public init(limits: ProtocolLimits, peerAcceptsZlib: Bool, acceptsZlib: Bool = true) {
        self.limits = limits
        self.peerAcceptsZlib = peerAcceptsZlib
        self.acceptsZlib = acceptsZlib
    }

    /// Appends a frame carrying `message` to `buffer`.
    ///
    /// The message is packed directly after the header. When compression is negotiated and the
    /// encoding is at least `limits.compressionThresholdBytes`, it is zlib-compressed instead,
    /// unless that would not make it smaller.
    /// - Throws: `CodecError.embeddedNUL` for strings protobuf-c cannot carry; nothing is written then.
    public func writeFrame<M: ProtobufMessage>(
        _ message: M, kind: Frame.Kind, flags: Frame.Flags = [], method: UInt16 = 0, callID: UInt32 = 0,
        timeoutMilliseconds: UInt32 = 0, into buffer: inout ByteBuffer
    ) throws(CodecError) {
        let headerIndex = buffer.writerIndex
        let compress = self.peerAcceptsZlib
        let threshold = self.limits.compressionThresholdBytes
        let sent: (length: Int, compressed: Bool) = try message.withSerialization { size, write in
            buffer.writeFrameHeader(kind: kind, flags: [], method: method, callID: callID,
                                    timeoutMilliseconds: timeoutMilliseconds, payloadLength: 0)
            if compress && size >= threshold {
                let plain = [UInt8](unsafeUninitializedCapacity: size) { out, count in
                    write(out.baseAddress!)
                    count = size
                }
                guard Self.worthCompressing(plain) else {
                    buffer.writeBytes(plain)
                    return (size, false)
                }
                let bound = Zlib.compressBound(size)
                var compressedLength = 0
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { out in
                    compressedLength = plain.withUnsafeBytes { (try? Zlib.compress($0, into: out)) ?? Int.max }
                    return compressedLength < size ? compressedLength : 0
                }
                if compressedLength < size { return (compressedLength, true) }
                buffer.writeBytes(plain)
                return (size, false)
            }
            if size > 0 {
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
                    write(out.baseAddress!)
                    return size
                }
            }
            return (size, false)
        }
        var allFlags = flags
        if sent.compressed { allFlags.insert(.compressed) }
        buffer.setInteger(allFlags.rawValue, at: headerIndex + 4)
        buffer.setInteger(UInt32(sent.length), at: headerIndex + 16)
    }

    /// Whether compressing `plain` is likely to pay: payloads of several KiB are first probed by
    /// compressing their first KiB, and sent plain when that saves less than a quarter (random float
    /// features save ~10%, and zlib spends far longer on them than sending the bytes costs).
    static func worthCompressing(_ plain: [UInt8]) -> Bool {
        let probe = 1024
        guard plain.count >= 8 * probe else { return true }
        var scratch = [UInt8](repeating: 0, count: Zlib.compressBound(probe))
        let compressed = plain.withUnsafeBytes { source in
            scratch.withUnsafeMutableBytes { destination in
                (try? Zlib.compress(UnsafeRawBufferPointer(rebasing: source[0..<probe]), into: destination)) ?? probe
            }
        }
        return compressed * 4 < probe * 3
    }

    /// Decodes the payload of `frame` as an `M`, inflating it first when it is compressed.
    /// - Throws: `FramePayloadError` naming the limit or decoding failure.
    public func decode<M: ProtobufMessage>(_ frame: Frame, as type: M.Type) throws(FramePayloadError) -> M {
        if frame.flags.contains(.compressed) {
            guard self.acceptsZlib else { throw .compressionNotNegotiated }
            let inflated: [UInt8]
            do {
                inflated = try frame.payload.withUnsafeReadableBytes { (raw) throws(CompressionError) -> [UInt8] in
                    try Zlib.decompress(raw, maxSize: self.limits.maxMessageBytes, maxRatio: self.limits.maxDecompressionRatio)
                }
            } catch { throw .compression(error) }
            do { return try M(serializedBytes: inflated, maxSize: self.limits.maxMessageBytes) } catch { throw .codec(error) }
        }
        do {
            return try frame.payload.withUnsafeReadableBytes { (raw) throws(CodecError) -> M in
                try M(serializedBytes: raw, maxSize: self.limits.maxMessageBytes)
            }
        } catch { throw .codec(error) }
    }
}

/// Why a frame's payload could not become a message. For a call payload this fails the call
/// (invalid_argument or resource_exhausted); for a control payload it closes the connection.
public enum FramePayloadError: Error, Hashable, Sendable {
    /// Inflation hit a limit or the zlib stream is corrupt.
    case compression(CompressionError)
    /// A compressed payload although compression was not negotiated.
    case compressionNotNegotiated
    /// The (inflated) bytes are not a valid message.
    case codec(CodecError)

    /// The status a server answers with when a call's payload fails this way.
    public var status: V1.Status {
        switch self {
        case .compression(.tooLarge(let limit)):
            V1.Status(code: .resourceExhausted, message: "message inflates past the limit of \(limit) bytes")
        case .compression(.ratioExceeded(let limit)):
            V1.Status(code: .resourceExhausted, message: "message inflates more than \(limit)x: rejected as a decompression bomb")
        case .compression(let e):
            V1.Status(code: .invalidArgument, message: "corrupt compressed payload: \(e)")
        case .compressionNotNegotiated:
            V1.Status(code: .invalidArgument, message: "compressed payload but compression was not negotiated")
        case .codec(.tooLarge(let size, let limit)):
            V1.Status(code: .resourceExhausted, message: "message of \(size) bytes exceeds the limit of \(limit) bytes")
        case .codec(.invalidUTF8(let field)):
            V1.Status(code: .invalidArgument, message: "field \(field) is not valid UTF-8")
        case .codec(let e):
            V1.Status(code: .invalidArgument, message: "malformed message: \(e)")
        }
    }
}
