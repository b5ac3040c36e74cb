internal import CModelwireProtobuf
internal import CProtobufC

/// A Swift message value that maps field for field to the struct protoc-c generated for it.
///
/// Generated conformances (Sources/ModelwireCodec/Generated) implement the two directions;
/// this file holds the generic parts they share.
protocol CMessageConvertible: ProtobufMessage {
    /// The protoc-c struct, e.g. `Modelwire__V1__PredictRequest`.
    associatedtype CStruct
    /// Copies every field out of C memory into a Swift value (C memory is freed afterwards).
    init(c: CStruct) throws(CodecError)
    /// Initialises `c` (with the `*_init` function) and points its fields into `arena` (copies).
    func fill(_ c: inout CStruct, _ arena: CodecArena) throws(CodecError)
    /// Fills `c` like `fill(_:_:)`, except that repeated scalar fields (and those of singular nested
    /// messages) point at the arrays' own storage instead of copies, and calls `body` while they do.
    /// The C struct must not be used after `body` returns.
    func fill(
        _ c: UnsafeMutablePointer<CStruct>,
        _ arena: CodecArena,
        then body: () throws(CodecError) -> Void
    ) throws(CodecError)
}

extension CMessageConvertible {
    /// Messages without repeated scalars have nothing to borrow: the copying fill.
    @inline(__always)
    func fill(
        _ c: UnsafeMutablePointer<CStruct>,
        _ arena: CodecArena,
        then body: () throws(CodecError) -> Void
    ) throws(CodecError) {
        try self.fill(&c.pointee, arena)
        try body()
    }
}

/// Decodes a top-level message with an arena allocator: protobuf-c's own allocations never reach malloc
/// for small messages, and everything is released in one step after the copy into Swift values.
///
/// A string field whose wire bytes hold a NUL is refused before unpacking (protobuf-c would hand
/// it over cut at the NUL: `x\0y` would read as `x`), found by a walk over the bytes that
/// `descriptor` (the message's protobuf-c descriptor) drives.
func decodeTopLevel<M: CMessageConvertible>(
    _ bytes: UnsafeRawBufferPointer,
    maxSize: Int,
    unpack: (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?) -> UnsafeMutablePointer<M.CStruct>?,
    descriptor: ProtobufCMessageDescriptor,
    as type: M.Type
) throws(CodecError) -> M {
    guard bytes.count <= maxSize else { throw .tooLarge(size: bytes.count, limit: maxSize) }
    var holder: UnsafePointer<ProtobufCMessageDescriptor>?
    let nulField = withUnsafePointer(to: descriptor) { descriptor in
        CModelwireProtobuf_firstStringWithNUL(
            descriptor,
            bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
            bytes.count,
            &holder
        )
    }
    if let nulField {
        let message = holder.map { String(cString: $0.pointee.short_name) } ?? "\(M.self)"
        throw .embeddedNUL(field: "\(message).\(String(cString: nulField))")
    }
    return try withCodecArena { (arena) throws(CodecError) -> M in
        var allocator = arena.protobufAllocator
        var empty: UInt8 = 0
        let parsed = withUnsafePointer(to: &empty) { emptyPointer in
            unpack(&allocator, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer)
        }
        guard let message = parsed else { throw .malformed }
        return try M(c: message.pointee)
    }
}

/// Encodes `message` with protobuf-c: builds its C struct (in the arena, arrays borrowed from the
/// Swift values), then `*_get_packed_size` and, when `body` calls `write`, `*_pack`.
@inline(__always)
func serializeMessage<M: CMessageConvertible>(
    _ message: M,
    packedSize: (UnsafePointer<M.CStruct>?) -> Int,
    pack: @escaping (UnsafePointer<M.CStruct>?, UnsafeMutablePointer<UInt8>?) -> Int,  // a C function: no context
    _ body: (Int, (UnsafeMutableRawPointer) -> Void) -> Void
) throws(CodecError) {
    try withCodecArena { (arena) throws(CodecError) in
        let c = arena.cStruct(M.self)
        try message.fill(c, arena) { () throws(CodecError) in
            let size = packedSize(c)
            body(size) { out in
                let written = pack(c, out.assumingMemoryBound(to: UInt8.self))
                precondition(written == size, "protobuf-c packed \(written) of \(size) bytes")
            }
        }
    }
}

/// Points a C repeated scalar field (`n_x`, `x`) at `array`'s storage while `body` runs.
@inline(__always)
func withBorrowedArray<T: BitwiseCopyable>(
    _ array: [T],
    _ count: UnsafeMutablePointer<Int>,
    _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<T>?>,
    _ body: () throws(CodecError) -> Void
) throws(CodecError) {
    try array.withUnsafeBufferPointer { (buffer) throws(CodecError) in
        count.pointee = buffer.count
        pointer.pointee = buffer.isEmpty ? nil : UnsafeMutablePointer(mutating: buffer.baseAddress)
        try body()
    }
}

/// A strict UTF-8 copy of a protobuf-c string field (protobuf-c does not validate UTF-8).
func decodeString(_ p: UnsafeMutablePointer<CChar>?, field: String) throws(CodecError) -> String {
    guard let p else { return "" }
    guard let s = String(validatingCString: p) else { throw .invalidUTF8(field: field) }
    return s
}

/// A bulk copy of a repeated scalar field.
func decodeArray<T: BitwiseCopyable>(_ p: UnsafeMutablePointer<T>?, count: Int) -> [T] {
    Array(UnsafeBufferPointer(start: p, count: p == nil ? 0 : count))
}

/// A copy of a `bytes` field.
func decodeBytes(_ b: ProtobufCBinaryData) -> [UInt8] {
    Array(UnsafeBufferPointer(start: b.data, count: b.data == nil ? 0 : b.len))
}

/// A repeated string field, validated as UTF-8.
func decodeStrings(
    _ p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    count: Int,
    field: String
) throws(CodecError) -> [String] {
    guard let p, count > 0 else { return [] }
    // reserveCapacity + append, not Array(unsafeUninitializedCapacity:): that one calls the stdlib's
    // unspecialised allocator, which looks up the array's generic metadata on every call.
    var out: [String] = []
    out.reserveCapacity(count)
    for i in 0..<count { out.append(try decodeString(p[i], field: field)) }
    return out
}

/// A repeated enum field; unknown numbers are kept.
func decodeEnums<C, E>(_ p: UnsafeMutablePointer<C>?, count: Int, _ convert: (C) -> E) -> [E] {
    guard let p, count > 0 else { return [] }
    return UnsafeBufferPointer(start: p, count: count).map(convert)
}

/// An optional nested message.
func decodeMessage<M: CMessageConvertible>(
    _ p: UnsafeMutablePointer<M.CStruct>?,
    as type: M.Type
) throws(CodecError) -> M? {
    guard let p else { return nil }
    return try M(c: p.pointee)
}

/// The message member of a oneof whose case is set (protobuf-c always sets its pointer).
func decodeOneofMessage<M: CMessageConvertible>(
    _ p: UnsafeMutablePointer<M.CStruct>?,
    as type: M.Type
) throws(CodecError) -> M {
    guard let p else { throw .malformed }
    return try M(c: p.pointee)
}

/// A repeated message field.
func decodeMessages<M: CMessageConvertible>(
    _ p: UnsafeMutablePointer<UnsafeMutablePointer<M.CStruct>?>?,
    count: Int,
    as type: M.Type
) throws(CodecError) -> [M] {
    guard let p, count > 0 else { return [] }
    var out: [M] = []
    out.reserveCapacity(count)
    for i in 0..<count {
        guard let element = p[i] else { throw .malformed }
        out.append(try M(c: element.pointee))
    }
    return out
}
