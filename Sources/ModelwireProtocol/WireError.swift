public import ModelwireCodec

/// A violation of the framing or handshake rules. The connection cannot continue: the receiver
/// sends an ERROR frame on call id 0 describing it (when it can), then closes.
public enum WireError: Error, Hashable, Sendable {
    /// The first bytes are not "MW": not a Modelwire peer.
    case badMagic(UInt16)
    /// A frame format version this implementation does not read.
    case unsupportedFrameVersion(UInt8)
    /// A frame kind frame format version 1 does not define.
    case unknownFrameKind(UInt8)
    /// Flag bits or the reserved byte that version 1 leaves zero were set.
    case invalidFlags(UInt8)
    /// The header announces a payload above the limit; rejected before the body is read.
    case frameTooLarge(length: Int, limit: Int)
    /// The stream ended inside a frame.
    case truncated(bufferedBytes: Int)
    /// A compressed payload could not be inflated within the limits.
    case compression(CompressionError)
    /// A compressed frame arrived although compression was not negotiated.
    case compressionNotNegotiated
    /// A control payload (HELLO, GOAWAY, ERROR) did not decode.
    case malformedPayload(CodecError)
    /// A frame arrived where the protocol does not allow it (e.g. a REQUEST before HELLO).
    case unexpectedFrame(kind: Frame.Kind, reason: String)
}

extension WireError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .badMagic(let m): "bad magic 0x\(String(m, radix: 16)): not a Modelwire frame"
        case .unsupportedFrameVersion(let v): "unsupported frame version \(v); this peer reads version \(Frame.formatVersion)"
        case .unknownFrameKind(let k): "unknown frame kind \(k)"
        case .invalidFlags(let f): "undefined flag bits or reserved byte set: 0x\(String(f, radix: 16))"
        case .frameTooLarge(let length, let limit): "frame payload of \(length) bytes exceeds the limit of \(limit) bytes"
        case .truncated(let n): "connection ended inside a frame (\(n) bytes buffered)"
        case .compression(let e): "compressed payload rejected: \(e)"
        case .compressionNotNegotiated: "compressed frame received but compression was not negotiated"
        case .malformedPayload(let e): "malformed control payload: \(e)"
        case .unexpectedFrame(let kind, let reason): "unexpected \(kind) frame: \(reason)"
        }
    }

    /// The status sent in the connection-level ERROR frame before closing.
    public var status: V1.Status {
        switch self {
        case .frameTooLarge, .compression(.tooLarge), .compression(.ratioExceeded):
            V1.Status(code: .resourceExhausted, message: description)
        case .unsupportedFrameVersion:
            V1.Status(code: .unimplemented, message: description)
        default:
            V1.Status(code: .invalidArgument, message: description)
        }
    }
}
