/// Why bytes could not be decoded into a message, or a message could not be encoded.
///
/// Decoding untrusted bytes either yields a value or one of these, never a crash. A struct with
/// an extensible `code` (as grpc-swift's `RPCError.Code`): a kind added later breaks no caller's
/// `switch`. Match `code`; the detail properties are set for the codes that have them.
public struct CodecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case tooLarge, malformed, invalidUTF8, embeddedNUL
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The input is larger than the limit the caller set; nothing was parsed (`size`, `limit`).
        public static let tooLarge = Code(.tooLarge)
        /// The bytes are not a valid protobuf encoding of the message (protobuf-c rejected them).
        public static let malformed = Code(.malformed)
        /// A string field holds bytes that are not UTF-8 (`field`).
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// A string contains U+0000, which protobuf-c's C strings cannot carry (`field`).
        public static let embeddedNUL = Code(.embeddedNUL)

        /// The code's name, e.g. `tooLarge`: for logs and tests, not for people.
        public var description: String { self.base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// `tooLarge`: the size of the input, in bytes.
    public let size: Int?
    /// `tooLarge`: the largest size accepted, in bytes.
    public let limit: Int?
    /// `invalidUTF8`, `embeddedNUL`: the field, as `Message.field`.
    public let field: String?

    private init(_ code: Code, size: Int? = nil, limit: Int? = nil, field: String? = nil) {
        self.code = code
        self.size = size
        self.limit = limit
        self.field = field
    }

    /// The input of `size` bytes is larger than `limit`; nothing was parsed.
    public static func tooLarge(size: Int, limit: Int) -> CodecError { CodecError(.tooLarge, size: size, limit: limit) }
    /// The bytes are not a valid protobuf encoding of the message.
    public static let malformed = CodecError(.malformed)
    /// The string `field` holds bytes that are not UTF-8.
    public static func invalidUTF8(field: String) -> CodecError { CodecError(.invalidUTF8, field: field) }
    /// The string `field` contains U+0000.
    public static func embeddedNUL(field: String) -> CodecError { CodecError(.embeddedNUL, field: field) }

    /// A sentence for people, e.g. "message of 5 bytes exceeds the limit of 3 bytes".
    public var description: String {
        switch self.code {
        case .tooLarge: "message of \(self.size ?? 0) bytes exceeds the limit of \(self.limit ?? 0) bytes"
        case .invalidUTF8: "field \(self.field ?? "?") is not valid UTF-8"
        case .embeddedNUL: "field \(self.field ?? "?") contains U+0000, which protobuf cannot carry"
        default: "the bytes are not a valid protobuf encoding"
        }
    }
}
