/// A schema message that encodes to and decodes from protobuf bytes through protobuf-c.
///
/// Every type in the `V1` namespace that stands for a protobuf message conforms.
public protocol ProtobufMessage: Sendable, Hashable {
    /// Decodes a message from its protobuf encoding (`*_unpack`).
    /// - Parameters:
    ///   - bytes: The encoded message. Only read during the call.
    ///   - maxSize: Inputs larger than this are rejected before protobuf-c allocates anything.
    /// - Throws: `CodecError.tooLarge`, `.malformed` or `.invalidUTF8`.
    init(serializedBytes bytes: UnsafeRawBufferPointer, maxSize: Int) throws(CodecError)

    /// Encodes the message with protobuf-c (`*_get_packed_size`, `*_pack`) and hands its exact size
    /// and a writer to `body`: the non-generic primitive behind `withSerialization` and
    /// `serializedBytes()`, which callers in other modules get specialised (they are `@inlinable`).
    ///
    /// `write` must be called at most once, inside `body`, with room for `size` bytes; it writes
    /// exactly `size` bytes.
    /// - Throws: `CodecError.embeddedNUL` when a string cannot be carried by protobuf-c.
    func serialize(_ body: (_ size: Int, _ write: (UnsafeMutableRawPointer) -> Void) -> Void) throws(CodecError)
}

extension ProtobufMessage {
    /// Decodes a message from a byte array.
    /// - Throws: `CodecError` as `init(serializedBytes:maxSize:)` does.
    @inlinable
    public init(serializedBytes bytes: [UInt8], maxSize: Int = .max) throws(CodecError) {
        self = try bytes.withUnsafeBufferPointer { (buffer) throws(CodecError) -> Self in
            try Self(serializedBytes: UnsafeRawBufferPointer(buffer), maxSize: maxSize)
        }
    }

    /// Encodes the message and hands its exact size and a writer to `body`.
    ///
    /// `write` must be called at most once, inside `body`, with room for `size` bytes; it writes
    /// exactly `size` bytes. This lets callers pack straight into their own buffer (a NIO
    /// `ByteBuffer`, a compressor's input) without an intermediate array.
    /// - Throws: `CodecError.embeddedNUL` when a string cannot be carried by protobuf-c.
    @inlinable
    public func withSerialization<R>(
        _ body: (_ size: Int, _ write: (UnsafeMutableRawPointer) -> Void) -> R
    )
        throws(CodecError) -> R
    {
        var result: R?
        try self.serialize { size, write in
            result = withoutActuallyEscaping(write) { write in body(size, write) }
        }
        return result.unsafelyUnwrapped  // serialize calls body exactly once when it does not throw
    }

    /// The protobuf encoding of the message as a new array.
    /// - Throws: `CodecError.embeddedNUL` when a string cannot be carried by protobuf-c.
    @inlinable
    public func serializedBytes() throws(CodecError) -> [UInt8] {
        var bytes: [UInt8] = []
        try self.serialize { size, write in
            bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                if size > 0 { write(buffer.baseAddress!) }
                count = size
            }
        }
        return bytes
    }
}
