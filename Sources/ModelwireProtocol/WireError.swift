public import ModelwireCodec

/// A violation of the framing or handshake rules. The connection cannot continue: the receiver
/// sends an ERROR frame on call id 0 describing it (when it can), then closes.
///
/// A struct with an extensible `code` (as grpc-swift's `RPCError.Code`): a kind added later breaks
/// no caller's `switch`. Match `code` (or `status.code`); the detail properties are set for the
/// codes that have them.
public struct WireError: Error, Hashable, Sendable {
    /// The kind of violation.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case badMagic, unsupportedFrameVersion, unknownFrameKind, invalidFlags, frameTooLarge, truncated
            case compression, compressionNotNegotiated, malformedPayload, unexpectedFrame
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The first bytes are not "MW": not a Modelwire peer (`magic`).
        public static let badMagic = Code(.badMagic)
        /// A frame format version this implementation does not read (`version`).
        public static let unsupportedFrameVersion = Code(.unsupportedFrameVersion)
        /// A frame kind frame format version 1 does not define (`kind`).
        public static let unknownFrameKind = Code(.unknownFrameKind)
        /// Flag bits or the reserved byte that version 1 leaves zero were set (`flags`).
        public static let invalidFlags = Code(.invalidFlags)
        /// The header announces a payload above the limit; rejected before the body is read (`length`, `limit`).
        public static let frameTooLarge = Code(.frameTooLarge)
        /// The stream ended inside a frame (`bufferedBytes`).
        public static let truncated = Code(.truncated)
        /// A compressed payload could not be inflated within the limits (`compressionError`).
        public static let compression = Code(.compression)
        /// A compressed frame arrived although compression was not negotiated.
        public static let compressionNotNegotiated = Code(.compressionNotNegotiated)
        /// A control payload (HELLO, GOAWAY, ERROR) did not decode (`codecError`).
        public static let malformedPayload = Code(.malformedPayload)
        /// A frame arrived where the protocol does not allow it, e.g. a REQUEST before HELLO (`kind`, `reason`).
        public static let unexpectedFrame = Code(.unexpectedFrame)

        /// The code's name, e.g. `badMagic`: for logs and tests, not for people.
        public var description: String { self.base.rawValue }
    }

    // The code and its details in one private enum: the struct is as small as the enum it replaced.
    private enum Storage: Hashable, Sendable {
        case badMagic(UInt16, text: String?)
        case unsupportedFrameVersion(UInt8)
        case unknownFrameKind(UInt8)
        case invalidFlags(UInt8)
        case frameTooLarge(length: Int, limit: Int)
        case truncated(bufferedBytes: Int)
        case compression(CompressionError)
        case compressionNotNegotiated
        case malformedPayload(CodecError)
        case unexpectedFrame(kind: Frame.Kind, reason: String)
    }
    private let storage: Storage
    private init(_ storage: Storage) { self.storage = storage }

    /// The kind of violation.
    public var code: Code {
        switch self.storage {
        case .badMagic: .badMagic
        case .unsupportedFrameVersion: .unsupportedFrameVersion
        case .unknownFrameKind: .unknownFrameKind
        case .invalidFlags: .invalidFlags
        case .frameTooLarge: .frameTooLarge
        case .truncated: .truncated
        case .compression: .compression
        case .compressionNotNegotiated: .compressionNotNegotiated
        case .malformedPayload: .malformedPayload
        case .unexpectedFrame: .unexpectedFrame
        }
    }
    /// `badMagic`: the first two bytes read (a single byte read is the high byte).
    public var magic: UInt16? { if case .badMagic(let magic, _) = self.storage { magic } else { nil } }
    /// `badMagic`: the first line the peer sent, when it is text (an HTTP server's reply, say).
    public var receivedText: String? { if case .badMagic(_, let text) = self.storage { text } else { nil } }
    /// `unsupportedFrameVersion`: the version the frame announced.
    public var version: UInt8? { if case .unsupportedFrameVersion(let version) = self.storage { version } else { nil } }
    /// `unknownFrameKind`: the kind byte read; `unexpectedFrame`: the frame's kind.
    public var kind: Frame.Kind? {
        switch self.storage {
        case .unknownFrameKind(let kind): Frame.Kind(rawValue: kind)
        case .unexpectedFrame(let kind, _): kind
        default: nil
        }
    }
    /// `invalidFlags`: the flag byte and the reserved byte, or-ed.
    public var flags: UInt8? { if case .invalidFlags(let flags) = self.storage { flags } else { nil } }
    /// `frameTooLarge`: the payload length the header announced.
    public var length: Int? { if case .frameTooLarge(let length, _) = self.storage { length } else { nil } }
    /// `frameTooLarge`: the largest payload accepted.
    public var limit: Int? { if case .frameTooLarge(_, let limit) = self.storage { limit } else { nil } }
    /// `truncated`: the bytes of the partial frame.
    public var bufferedBytes: Int? { if case .truncated(let count) = self.storage { count } else { nil } }
    /// `compression`: why inflating failed.
    public var compressionError: CompressionError? { if case .compression(let e) = self.storage { e } else { nil } }
    /// `malformedPayload`: why the control payload did not decode.
    public var codecError: CodecError? { if case .malformedPayload(let e) = self.storage { e } else { nil } }
    /// `unexpectedFrame`: why the frame is not allowed here.
    public var reason: String? { if case .unexpectedFrame(_, let reason) = self.storage { reason } else { nil } }

    /// The first bytes are `magic`, not "MW".
    /// - Parameter received: The first bytes the peer sent (up to 64 are kept); when they are
    ///   printable text, the description quotes their first line.
    public static func badMagic(_ magic: UInt16, received: some Collection<UInt8> = EmptyCollection()) -> WireError {
        let line = received.prefix(64).prefix { $0 != 0x0D && $0 != 0x0A }
        let printable = !line.isEmpty && line.allSatisfy { (0x20...0x7E).contains($0) }
        return WireError(.badMagic(magic, text: printable ? String(decoding: line, as: UTF8.self) : nil))
    }
    /// The frame announces format version `version`.
    public static func unsupportedFrameVersion(_ version: UInt8) -> WireError {
        WireError(.unsupportedFrameVersion(version))
    }
    /// The frame's kind byte is `kind`, which version 1 does not define.
    public static func unknownFrameKind(_ kind: UInt8) -> WireError { WireError(.unknownFrameKind(kind)) }
    /// The flag and reserved bytes, or-ed, are `flags`, with bits version 1 leaves zero.
    public static func invalidFlags(_ flags: UInt8) -> WireError { WireError(.invalidFlags(flags)) }
    /// The header announces a payload of `length` bytes, above `limit`.
    public static func frameTooLarge(length: Int, limit: Int) -> WireError {
        WireError(.frameTooLarge(length: length, limit: limit))
    }
    /// The stream ended with `bufferedBytes` bytes of a frame.
    public static func truncated(bufferedBytes: Int) -> WireError {
        WireError(.truncated(bufferedBytes: bufferedBytes))
    }
    /// A compressed payload could not be inflated, for `error`.
    public static func compression(_ error: CompressionError) -> WireError { WireError(.compression(error)) }
    /// A compressed frame arrived although compression was not negotiated.
    public static let compressionNotNegotiated = WireError(.compressionNotNegotiated)
    /// A control payload did not decode, for `error`.
    public static func malformedPayload(_ error: CodecError) -> WireError { WireError(.malformedPayload(error)) }
    /// A frame of `kind` arrived where it is not allowed, for `reason`.
    public static func unexpectedFrame(kind: Frame.Kind, reason: String) -> WireError {
        WireError(.unexpectedFrame(kind: kind, reason: reason))
    }
}

extension WireError: CustomStringConvertible {
    /// A sentence for people, e.g. "frame payload of 1025 bytes exceeds the limit of 1024 bytes".
    public var description: String {
        switch self.storage {
        case .badMagic(let magic, let text?):
            "not a Modelwire peer (got '\(text)'): bad magic 0x\(String(magic, radix: 16))"
        case .badMagic(let magic, nil): "bad magic 0x\(String(magic, radix: 16)): not a Modelwire frame"
        case .unsupportedFrameVersion(let version):
            "unsupported frame version \(version); this peer reads version \(Frame.formatVersion)"
        case .unknownFrameKind(let kind): "unknown frame kind \(kind)"
        case .invalidFlags(let flags): "undefined flag bits or reserved byte set: 0x\(String(flags, radix: 16))"
        case .frameTooLarge(let length, let limit):
            "frame payload of \(length) bytes exceeds the limit of \(limit) bytes"
        case .truncated(let count): "connection ended inside a frame (\(count) bytes buffered)"
        case .compression(let error): "compressed payload rejected: \(error)"
        case .compressionNotNegotiated: "compressed frame received but compression was not negotiated"
        case .malformedPayload(let error): "malformed control payload: \(error)"
        case .unexpectedFrame(let kind, let reason): "unexpected \(kind) frame: \(reason)"
        }
    }

    /// The status sent in the connection-level ERROR frame before closing.
    public var status: V1.Status {
        switch self.storage {
        case .frameTooLarge:
            V1.Status(code: .resourceExhausted, message: self.description)
        case .compression(let error) where error.code == .tooLarge || error.code == .ratioExceeded:
            V1.Status(code: .resourceExhausted, message: self.description)
        case .unsupportedFrameVersion:
            V1.Status(code: .unimplemented, message: self.description)
        default:
            V1.Status(code: .invalidArgument, message: self.description)
        }
    }
}

extension WireError: ModelwireErrorConvertible {
    /// The connection-level error this violation is reported as (`status`), with this error as its `cause`.
    public var modelwireError: ModelwireError { ModelwireError(status: self.status, cause: self) }
}
