public import NIOCore

/// One frame of the Modelwire wire protocol: a fixed 20-byte header and a payload.
///
/// Layout (big-endian; see proto/PROTOCOL.md §2 for a worked example):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 2 | magic `0x4D57` ("MW") |
/// | 2 | 1 | frame format version, `1` |
/// | 3 | 1 | kind (`Frame.Kind`) |
/// | 4 | 1 | flags (`Frame.Flags`); undefined bits must be 0 |
/// | 5 | 1 | reserved, must be 0 |
/// | 6 | 2 | method id (REQUEST frames; 0 otherwise) |
/// | 8 | 4 | call id (0 = the connection itself) |
/// | 12 | 4 | timeout in milliseconds (REQUEST frames; 0 = none, and 0 on other kinds) |
/// | 16 | 4 | payload length in bytes, as sent (after compression) |
/// | 20 | length | payload: a protobuf message of modelwire.v1, zlib-compressed when `compressed` is set |
public struct Frame: Sendable, Hashable {
    /// The first two bytes of every frame: "MW".
    public static let magic: UInt16 = 0x4D57
    /// The frame format version this implementation reads and writes.
    public static let formatVersion: UInt8 = 1
    /// Bytes before the payload.
    public static let headerSize = 20

    public var kind: Kind
    public var flags: Flags
    /// A `V1.Method` raw value on REQUEST frames, else 0.
    public var method: UInt16
    /// The call this frame belongs to; 0 for connection-level frames (HELLO, PING, PONG, GOAWAY, connection ERROR).
    public var callID: UInt32
    /// The relative deadline of a REQUEST in milliseconds; 0 means none.
    public var timeoutMilliseconds: UInt32
    /// The payload exactly as on the wire (still compressed when `flags.contains(.compressed)`).
    public var payload: ByteBuffer

    /// Creates a frame.
    public init(
        kind: Kind,
        flags: Flags = [],
        method: UInt16 = 0,
        callID: UInt32 = 0,
        timeoutMilliseconds: UInt32 = 0,
        payload: ByteBuffer
    ) {
        self.kind = kind
        self.flags = flags
        self.method = method
        self.callID = callID
        self.timeoutMilliseconds = timeoutMilliseconds
        self.payload = payload
    }
}

extension Frame {
    /// Where each header field starts, in bytes from the first byte of the frame (the table on
    /// `Frame`). Every field is big-endian; the payload starts at `Frame.headerSize`.
    public enum HeaderOffset {
        /// `UInt16`: `Frame.magic`.
        public static let magic = 0
        /// `UInt8`: `Frame.formatVersion`.
        public static let formatVersion = 2
        /// `UInt8`: `Frame.Kind.rawValue`.
        public static let kind = 3
        /// `UInt8`: `Frame.Flags.rawValue`.
        public static let flags = 4
        /// `UInt8`: reserved, 0.
        public static let reserved = 5
        /// `UInt16`: the method id.
        public static let method = 6
        /// `UInt32`: the call id.
        public static let callID = 8
        /// `UInt32`: the timeout in milliseconds.
        public static let timeoutMilliseconds = 12
        /// `UInt32`: the payload length as sent.
        public static let payloadLength = 16
    }
}

extension Frame {
    /// What a frame does. Numbers are fixed by PROTOCOL.md; unknown kinds are a framing error.
    public struct Kind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// Handshake: ClientHello (client, first frame) or ServerHello (server's answer).
        public static let hello = Kind(rawValue: 1)
        /// Opens call `callID` for `method` with its first request message (client to server).
        public static let request = Kind(rawValue: 2)
        /// A further message on an open call: client-stream chunks, or responses (server to client).
        public static let message = Kind(rawValue: 3)
        /// Ends a call with a non-ok `V1.Status`; with call id 0, the connection is closing.
        public static let error = Kind(rawValue: 4)
        /// The client gives up on a call; the server stops its work and sends nothing more for it.
        public static let cancel = Kind(rawValue: 5)
        /// Keepalive probe; the payload (0-8 bytes) is echoed in a PONG.
        public static let ping = Kind(rawValue: 6)
        /// Answer to a PING, same payload.
        public static let pong = Kind(rawValue: 7)
        /// The server is draining: a `V1.GoAway`; no new calls on this connection.
        public static let goAway = Kind(rawValue: 8)

        /// Every kind of frame format version 1.
        public static let allKnown: [Kind] = [.hello, .request, .message, .error, .cancel, .ping, .pong, .goAway]

        /// Whether a frame of this kind may carry `COMPRESSED` (PROTOCOL.md §8): the message kinds;
        /// HELLO (compression is not negotiated yet), PING, PONG and CANCEL are always sent plain.
        public var mayBeCompressed: Bool {
            self == .request || self == .message || self == .error || self == .goAway
        }

        public var description: String {
            switch self {
            case .hello: "HELLO"
            case .request: "REQUEST"
            case .message: "MESSAGE"
            case .error: "ERROR"
            case .cancel: "CANCEL"
            case .ping: "PING"
            case .pong: "PONG"
            case .goAway: "GOAWAY"
            default: "KIND(\(rawValue))"
            }
        }
    }

    /// Frame flags.
    public struct Flags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// The sender sends no more messages on this call (the last client-stream chunk; a unary
        /// request; the final response, which also means the call ended with status ok).
        public static let endStream = Flags(rawValue: 0x01)
        /// The payload is zlib-compressed (RFC 1950).
        public static let compressed = Flags(rawValue: 0x02)

        /// Every flag bit frame format version 1 defines.
        public static let allKnown: Flags = [.endStream, .compressed]
    }
}
