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

    // The code and its details in one private enum: the struct has the layout of the enum it
    // replaced. With stored optionals instead (a struct three times the size) each successful
    // decode ran 15-25 more instructions through the typed-throws paths (callgrind, release);
    // this way it runs none.
    private enum Storage: Hashable, Sendable {
        case tooLarge(size: Int, limit: Int)
        case malformed
        case invalidUTF8(field: String)
        case embeddedNUL(field: String)
    }
    private let storage: Storage
    private init(_ storage: Storage) { self.storage = storage }

    /// The kind of failure.
    public var code: Code {
        switch self.storage {
        case .tooLarge: .tooLarge
        case .malformed: .malformed
        case .invalidUTF8: .invalidUTF8
        case .embeddedNUL: .embeddedNUL
        }
    }
    /// `tooLarge`: the size of the input, in bytes.
    public var size: Int? { if case .tooLarge(let size, _) = self.storage { size } else { nil } }
    /// `tooLarge`: the largest size accepted, in bytes.
    public var limit: Int? { if case .tooLarge(_, let limit) = self.storage { limit } else { nil } }
    /// `invalidUTF8`, `embeddedNUL`: the field, as `Message.field`.
    public var field: String? {
        switch self.storage {
        case .invalidUTF8(let field), .embeddedNUL(let field): field
        default: nil
        }
    }

    /// The input of `size` bytes is larger than `limit`; nothing was parsed.
    public static func tooLarge(size: Int, limit: Int) -> CodecError { CodecError(.tooLarge(size: size, limit: limit)) }
    /// The bytes are not a valid protobuf encoding of the message.
    public static let malformed = CodecError(.malformed)
    /// The string `field` holds bytes that are not UTF-8.
    public static func invalidUTF8(field: String) -> CodecError { CodecError(.invalidUTF8(field: field)) }
    /// The string `field` contains U+0000.
    public static func embeddedNUL(field: String) -> CodecError { CodecError(.embeddedNUL(field: field)) }

    /// A sentence for people, e.g. "message of 5 bytes exceeds the limit of 3 bytes".
    public var description: String {
        switch self.storage {
        case .tooLarge(let size, let limit): "message of \(size) bytes exceeds the limit of \(limit) bytes"
        case .malformed: "the bytes are not a valid protobuf encoding"
        case .invalidUTF8(let field): "field \(field) is not valid UTF-8"
        case .embeddedNUL(let field): "field \(field) contains U+0000, which protobuf cannot carry"
        }
    }
}
