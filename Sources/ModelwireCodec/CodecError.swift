/// Why bytes could not be decoded into a message, or a message could not be encoded.
///
/// A closed set: decoding untrusted bytes either yields a value or one of these, never a crash.
public enum CodecError: Error, Hashable, Sendable {
    /// The input is larger than the limit the caller set; nothing was parsed.
    case tooLarge(size: Int, limit: Int)
    /// The bytes are not a valid protobuf encoding of the message (protobuf-c rejected them).
    case malformed
    /// A string field holds bytes that are not UTF-8.
    case invalidUTF8(field: String)
    /// A string contains U+0000, which protobuf-c's C strings cannot carry.
    case embeddedNUL(field: String)
}
