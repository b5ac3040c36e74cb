public import ModelwireCodec
public import NIOCore

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
    /// The message is packed directly after the header. When compression is negotiated, the
    /// encoding is at least `limits.compressionThresholdBytes` and looks compressible
    /// (`Compressibility`), it is replaced by its zlib compression, unless that is not smaller.
    /// - Throws: `CodecError.embeddedNUL` for strings protobuf-c cannot carry; nothing is written then.
    public func writeFrame<M: ProtobufMessage>(
        _ message: M,
        kind: Frame.Kind,
        flags: Frame.Flags = [],
        method: UInt16 = 0,
        callID: UInt32 = 0,
        timeoutMilliseconds: UInt32 = 0,
        into buffer: inout ByteBuffer
    ) throws(CodecError) {
        do {
            try self.writeFrame(
                message,
                kind: kind,
                flags: flags,
                method: method,
                callID: callID,
                timeoutMilliseconds: timeoutMilliseconds,
                maxMessageBytes: .max,
                maxPayloadBytes: .max,
                into: &buffer
            )
        } catch {
            switch error {
            case .codec(let error): throw error
            case .messageTooLarge, .payloadTooLarge: preconditionFailure("no limit was set")
            }
        }
    }

    /// Why `writeFrame(_:kind:flags:method:callID:timeoutMilliseconds:maxMessageBytes:maxPayloadBytes:into:)`
    /// wrote nothing. Not API: the client maps it to its own errors.
    package enum WriteFailure: Error, Hashable, Sendable {
        /// The message cannot be encoded.
        case codec(CodecError)
        /// The encoded message is larger than the peer accepts after inflation.
        case messageTooLarge(size: Int, limit: Int)
        /// The payload as it would be sent (compressed or not) is larger than the peer's frame limit.
        case payloadTooLarge(size: Int, limit: Int)
    }

    /// Appends a frame carrying `message` to `buffer`, as `writeFrame(_:kind:...into:)` does, if
    /// it fits the peer's limits; the message is packed once, and not at all when its size alone
    /// (known before packing) breaks a limit.
    ///
    /// Checked in this order: a payload that will not be compressed against `maxPayloadBytes`,
    /// and the message against `maxMessageBytes`, both before anything is written; after
    /// compression, the compressed payload against `maxPayloadBytes`.
    /// - Parameters:
    ///   - maxMessageBytes: The largest encoded message the peer accepts (its `max_message_bytes`).
    ///   - maxPayloadBytes: The largest frame payload the peer accepts (its `max_frame_bytes`).
    ///   - maxRatio, ratioCheckMinBytes: The peer's bomb check (`max_decompression_ratio`, applied
    ///     past `ratio_check_min_bytes`): a compressed payload it would refuse is sent plain.
    /// - Throws: `WriteFailure`; `buffer` is left as it was.
    @inline(__always)  // into the public writeFrame above, which the server calls per response
    package func writeFrame<M: ProtobufMessage>(
        _ message: M,
        kind: Frame.Kind,
        flags: Frame.Flags,
        method: UInt16,
        callID: UInt32,
        timeoutMilliseconds: UInt32,
        maxMessageBytes: Int,
        maxPayloadBytes: Int,
        maxRatio: Int = .max,
        ratioCheckMinBytes: Int = .max,
        into buffer: inout ByteBuffer
    ) throws(WriteFailure) {
        let headerIndex = buffer.writerIndex
        let compress = self.peerAcceptsZlib
        let threshold = self.limits.compressionThresholdBytes
        let sent: Result<(length: Int, compressed: Bool), WriteFailure>
        do {
            sent = try message.withSerialization { size, write in
                let mayCompress = compress && size >= threshold
                if !mayCompress, size > maxPayloadBytes {
                    return .failure(.payloadTooLarge(size: size, limit: maxPayloadBytes))
                }
                if size > maxMessageBytes { return .failure(.messageTooLarge(size: size, limit: maxMessageBytes)) }
                buffer.writeFrameHeader(
                    kind: kind,
                    flags: [],
                    method: method,
                    callID: callID,
                    timeoutMilliseconds: timeoutMilliseconds,
                    payloadLength: 0
                )
                guard size > 0 else { return .success((0, false)) }
                let payloadIndex = buffer.writerIndex
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
                    write(out.baseAddress!)
                    return size
                }
                guard mayCompress else { return .success((size, false)) }
                let offset = payloadIndex - buffer.readerIndex
                let compressed: [UInt8]? = buffer.withUnsafeReadableBytes { readable in
                    let plain = UnsafeRawBufferPointer(rebasing: readable[offset...])
                    guard Compressibility.isWorthCompressing(plain) else { return nil }
                    return [UInt8](unsafeUninitializedCapacity: Zlib.compressBound(size)) { out, count in
                        count = (try? Zlib.compress(plain, into: UnsafeMutableRawBufferPointer(out))) ?? 0
                    }
                }
                // The peer refuses what inflates past ratioCheckMinBytes by more than maxRatio: send that plain.
                let refusedAsBomb =
                    compressed.map { c in
                        let (allowed, overflow) = c.count.multipliedReportingOverflow(by: maxRatio)
                        return size > ratioCheckMinBytes && !overflow && size > allowed
                    } ?? false
                guard let compressed, !compressed.isEmpty, compressed.count < size, !refusedAsBomb else {
                    return size > maxPayloadBytes
                        ? .failure(.payloadTooLarge(size: size, limit: maxPayloadBytes))
                        : .success((size, false))
                }
                guard compressed.count <= maxPayloadBytes else {
                    return .failure(.payloadTooLarge(size: compressed.count, limit: maxPayloadBytes))
                }
                buffer.moveWriterIndex(to: payloadIndex)
                buffer.writeBytes(compressed)
                return .success((compressed.count, true))
            }
        } catch {
            throw .codec(error)
        }
        switch sent {
        case .success(let sent):
            var allFlags = flags
            if sent.compressed { allFlags.insert(.compressed) }
            buffer.setInteger(allFlags.rawValue, at: headerIndex + Frame.HeaderOffset.flags)
            buffer.setInteger(UInt32(sent.length), at: headerIndex + Frame.HeaderOffset.payloadLength)
        case .failure(let failure):
            buffer.moveWriterIndex(to: headerIndex)
            throw failure
        }
    }

    /// Decodes the payload of `frame` as an `M`, inflating it first when it is compressed.
    /// - Throws: `FramePayloadError` naming the limit or decoding failure.
    public func decode<M: ProtobufMessage>(_ frame: Frame, as type: M.Type) throws(FramePayloadError) -> M {
        if frame.flags.contains(.compressed) {
            guard self.acceptsZlib else { throw .compressionNotNegotiated }
            let inflated: [UInt8]
            do {
                inflated = try frame.payload.withUnsafeReadableBytes { (raw) throws(CompressionError) -> [UInt8] in
                    try Zlib.decompress(
                        raw,
                        maxSize: self.limits.maxMessageBytes,
                        maxRatio: self.limits.maxDecompressionRatio,
                        ratioCheckMinBytes: self.limits.ratioCheckMinBytes
                    )
                }
            } catch { throw .compression(error) }
            do { return try M(serializedBytes: inflated, maxSize: self.limits.maxMessageBytes) } catch {
                throw .codec(error)
            }
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
///
/// A struct with an extensible `code` (as grpc-swift's `RPCError.Code`): a kind added later breaks
/// no caller's `switch`. Match `code` (or `status.code`); the underlying error is set for the
/// codes that have one.
public struct FramePayloadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case compression, compressionNotNegotiated, codec
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Inflation hit a limit or the zlib stream is corrupt (`compressionError`).
        public static let compression = Code(.compression)
        /// A compressed payload although compression was not negotiated.
        public static let compressionNotNegotiated = Code(.compressionNotNegotiated)
        /// The (inflated) bytes are not a valid message (`codecError`).
        public static let codec = Code(.codec)

        /// The code's name, e.g. `codec`: for logs and tests, not for people.
        public var description: String { self.base.rawValue }
    }

    // The code and its underlying error in one private enum: as small as the enum it replaced.
    private enum Storage: Hashable, Sendable {
        case compression(CompressionError)
        case compressionNotNegotiated
        case codec(CodecError)
    }
    private let storage: Storage
    private init(_ storage: Storage) { self.storage = storage }

    /// The kind of failure.
    public var code: Code {
        switch self.storage {
        case .compression: .compression
        case .compressionNotNegotiated: .compressionNotNegotiated
        case .codec: .codec
        }
    }
    /// `compression`: why inflating failed.
    public var compressionError: CompressionError? { if case .compression(let e) = self.storage { e } else { nil } }
    /// `codec`: why the bytes are not a message.
    public var codecError: CodecError? { if case .codec(let e) = self.storage { e } else { nil } }

    /// Inflation failed, for `error`.
    public static func compression(_ error: CompressionError) -> FramePayloadError {
        FramePayloadError(.compression(error))
    }
    /// A compressed payload although compression was not negotiated.
    public static let compressionNotNegotiated = FramePayloadError(.compressionNotNegotiated)
    /// The (inflated) bytes are not a valid message, for `error`.
    public static func codec(_ error: CodecError) -> FramePayloadError { FramePayloadError(.codec(error)) }

    /// The status a server answers with when a call's payload fails this way.
    public var status: V1.Status {
        switch self.storage {
        case .compression(let e):
            switch e.code {  // CompressionError's codes are open: a new one is a corrupt payload until mapped
            case .tooLarge:
                V1.Status(code: .resourceExhausted, message: "message inflates past the limit of \(e.limit ?? 0) bytes")
            case .ratioExceeded:
                V1.Status(
                    code: .resourceExhausted,
                    message: "message inflates more than \(e.limit ?? 0)x: rejected as a decompression bomb"
                )
            case .corrupt:
                V1.Status(
                    code: .invalidArgument,
                    message: "corrupt compressed payload: \(e.reason ?? "invalid zlib data")"
                )
            default:
                V1.Status(code: .invalidArgument, message: "corrupt compressed payload: \(e)")
            }
        case .compressionNotNegotiated:
            V1.Status(code: .invalidArgument, message: "compressed payload but compression was not negotiated")
        case .codec(let e):
            switch e.code {  // likewise: a new CodecError code is a malformed message until mapped
            case .tooLarge:
                V1.Status(
                    code: .resourceExhausted,
                    message: "message of \(e.size ?? 0) bytes exceeds the limit of \(e.limit ?? 0) bytes"
                )
            case .invalidUTF8:
                V1.Status(code: .invalidArgument, message: "field \(e.field ?? "?") is not valid UTF-8")
            default:
                V1.Status(code: .invalidArgument, message: "malformed message: \(e)")
            }
        }
    }

    /// A sentence for people: the message of `status`, e.g. "message inflates past the limit of 1024 bytes".
    public var description: String { self.status.message }
}

extension FramePayloadError: ModelwireErrorConvertible {
    /// The error a call fails with when its payload fails this way (`status`), with this error as its `cause`.
    public var modelwireError: ModelwireError { ModelwireError(status: self.status, cause: self) }
}
