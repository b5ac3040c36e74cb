import Glibc

/// The encoder half of the generated conformances: Swift values are written straight into the
/// caller's buffer in protobuf wire format, with no C structs, arena or descriptor walk.
///
/// The output is byte for byte what `protobuf_c_message_pack` writes for the same value (fields in
/// number order, proto3 zero values omitted, oneof members always written, repeated scalars packed);
/// `WireEncodingTests` checks this against protobuf-c (`protobufCSerializedBytes()`) on every message type.
/// Decoding still goes through protobuf-c.
protocol WireEncodable {
    /// Throws `CodecError.embeddedNUL` if a string field (here or in a nested message) holds U+0000,
    /// which protobuf-c's C strings cannot carry (so the bytes could not be decoded back).
    func wireValidate() throws(CodecError)
    /// The exact encoded size.
    func wireSize() -> Int
    /// Writes exactly `wireSize()` bytes.
    func wireWrite(_ w: inout WireWriter)
}

extension WireEncodable {
    /// `withSerialization` of every generated message.
    @inline(__always)
    func wireSerialize<R>(_ body: (_ size: Int, _ write: (UnsafeMutableRawPointer) -> Void) -> R) throws(CodecError) -> R {
        try self.wireValidate()
        let size = self.wireSize()
        return body(size) { out in
            var w = WireWriter(out.assumingMemoryBound(to: UInt8.self))
            self.wireWrite(&w)
            precondition(w.p == out.assumingMemoryBound(to: UInt8.self) + size, "encoder wrote the wrong number of bytes")
        }
    }
}

extension WireEncodable {
    /// `serializedBytes()` of every generated message.
    @inline(__always)
    func wireBytes() throws(CodecError) -> [UInt8] {
        try self.wireValidate()
        let size = self.wireSize()
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            if size > 0 {
                var w = WireWriter(buffer.baseAddress!)
                self.wireWrite(&w)
                precondition(w.p == buffer.baseAddress! + size, "encoder wrote the wrong number of bytes")
            }
            count = size
        }
    }
}

// MARK: - Sizes (protobuf-c's rules: negative int32/enum values take 10 bytes)

/// ceil(significant bits / 7), at least 1; branch-free so that the packed-array loops vectorise.
@inline(__always) func wireVarintSize(_ v: UInt64) -> Int {
    let bits = 64 &- (v | 1).leadingZeroBitCount
    return (bits &* 9 &+ 64) >> 6
}
@inline(__always) func wireVarintSize(_ v: UInt32) -> Int { wireVarintSize(UInt64(v)) }
@inline(__always) func wireVarintSize(_ v: Int) -> Int { wireVarintSize(UInt64(v)) }
@inline(__always) func wireInt32Size(_ v: Int32) -> Int { v < 0 ? 10 : wireVarintSize(UInt64(v)) }
@inline(__always) func wireInt64Size(_ v: Int64) -> Int { wireVarintSize(UInt64(bitPattern: v)) }
@inline(__always) func wireZigZag(_ v: Int32) -> UInt32 { UInt32(bitPattern: (v << 1) ^ (v >> 31)) }
@inline(__always) func wireZigZag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
/// Size of a length-delimited payload of `n` bytes, with its length prefix (not the tag).
@inline(__always) func wireDelimitedSize(_ n: Int) -> Int { wireVarintSize(n) + n }

@inline(__always) func wireStringSize(_ s: String) -> Int { wireDelimitedSize(s.utf8.count) }

/// Payload sizes of packed repeated varint fields.
func wirePackedSize(_ a: [UInt32]) -> Int {
    a.withUnsafeBufferPointer { b in
        if wireAllBelow0x80(b) { return b.count }  // class ids and other small numbers: one byte each
        var n = 0
        for v in b { n &+= wireVarintSize(v) }
        return n
    }
}

/// Whether every value fits a one-byte varint (a vectorised OR over the array).
@inline(__always) func wireAllBelow0x80(_ b: UnsafeBufferPointer<UInt32>) -> Bool {
    var bits: UInt32 = 0
    for v in b { bits |= v }
    return bits < 0x80
}
func wirePackedSize(_ a: [UInt64]) -> Int {
    a.withUnsafeBufferPointer { b in
        var n = 0
        for v in b { n &+= wireVarintSize(v) }
        return n
    }
}
func wirePackedSize(_ a: [Int32]) -> Int {
    a.withUnsafeBufferPointer { b in
        var n = 0
        for v in b { n &+= wireInt32Size(v) }
        return n
    }
}
func wirePackedSize(_ a: [Int64]) -> Int {
    a.withUnsafeBufferPointer { b in
        var n = 0
        for v in b { n &+= wireInt64Size(v) }
        return n
    }
}
func wirePackedZigZagSize(_ a: [Int32]) -> Int {
    a.withUnsafeBufferPointer { b in
        var n = 0
        for v in b { n &+= wireVarintSize(wireZigZag(v)) }
        return n
    }
}
func wirePackedZigZagSize(_ a: [Int64]) -> Int {
    a.withUnsafeBufferPointer { b in
        var n = 0
        for v in b { n &+= wireVarintSize(wireZigZag(v)) }
        return n
    }
}

// MARK: - Validation

/// Throws `embeddedNUL` if `s` contains U+0000 (as the protobuf-c encoder did).
@inline(__always)
func wireCheckNUL(_ s: String, field: String) throws(CodecError) {
    let found: Bool = s.utf8.withContiguousStorageIfAvailable { b in
        guard let base = b.baseAddress, b.count > 0 else { return false }
        if b.count < 32 {  // names and labels: cheaper than a call to memchr
            var zero = false
            for c in b where c == 0 { zero = true }
            return zero
        }
        return memchr(base, 0, b.count) != nil
    } ?? s.utf8.contains(0)
    if found { throw .embeddedNUL(field: field) }
}

func wireCheckNUL(_ strings: [String], field: String) throws(CodecError) {
    for s in strings { try wireCheckNUL(s, field: field) }
}

// MARK: - Writer

/// A cursor into a buffer that `wireSize()` has sized; it never checks bounds itself
/// (`wireSerialize` checks the total after writing).
struct WireWriter {
    var p: UnsafeMutablePointer<UInt8>

    @inline(__always) init(_ p: UnsafeMutablePointer<UInt8>) { self.p = p }

    @inline(__always) mutating func byte(_ b: UInt8) {
        self.p.pointee = b
        self.p += 1
    }

    @inline(__always) mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            self.p.pointee = UInt8(truncatingIfNeeded: v) | 0x80
            self.p += 1
            v >>= 7
        }
        self.p.pointee = UInt8(truncatingIfNeeded: v)
        self.p += 1
    }
    @inline(__always) mutating func varint(_ v: UInt32) {
        var v = v
        while v >= 0x80 {
            self.p.pointee = UInt8(truncatingIfNeeded: v) | 0x80
            self.p += 1
            v >>= 7
        }
        self.p.pointee = UInt8(truncatingIfNeeded: v)
        self.p += 1
    }
    @inline(__always) mutating func varint(_ v: Int) { self.varint(UInt64(v)) }
    /// int32 and enums: negative values are sign-extended to 64 bits (10 bytes).
    @inline(__always) mutating func int32(_ v: Int32) { self.varint(UInt64(bitPattern: Int64(v))) }
    @inline(__always) mutating func int64(_ v: Int64) { self.varint(UInt64(bitPattern: v)) }
    @inline(__always) mutating func bool(_ v: Bool) { self.byte(v ? 1 : 0) }

    @inline(__always) mutating func fixed32(_ v: UInt32) {
        UnsafeMutableRawPointer(self.p).storeBytes(of: v.littleEndian, as: UInt32.self)
        self.p += 4
    }
    @inline(__always) mutating func fixed64(_ v: UInt64) {
        UnsafeMutableRawPointer(self.p).storeBytes(of: v.littleEndian, as: UInt64.self)
        self.p += 8
    }
    @inline(__always) mutating func float(_ v: Float) { self.fixed32(v.bitPattern) }
    @inline(__always) mutating func double(_ v: Double) { self.fixed64(v.bitPattern) }

    /// Raw bytes (no length prefix).
    @inline(__always) mutating func raw(_ base: UnsafeRawPointer?, _ count: Int) {
        guard count > 0, let base else { return }
        UnsafeMutableRawPointer(self.p).copyMemory(from: base, byteCount: count)
        self.p += count
    }

    /// Length prefix and UTF-8 bytes.
    @inline(__always) mutating func string(_ s: String) {
        let n = s.utf8.count
        self.varint(n)
        let done: Bool? = s.utf8.withContiguousStorageIfAvailable { b in
            self.raw(b.baseAddress, b.count)
            return true
        }
        if done == nil {
            for c in s.utf8 { self.byte(c) }
        }
    }

    /// Length prefix and bytes.
    @inline(__always) mutating func bytes(_ b: [UInt8]) {
        self.varint(b.count)
        b.withUnsafeBytes { self.raw($0.baseAddress, $0.count) }
    }

    /// The payload of a packed fixed-width field (little-endian memory is the wire format).
    @inline(__always) mutating func packedFixed<T: BitwiseCopyable>(_ a: [T]) {
        a.withUnsafeBytes { self.raw($0.baseAddress, $0.count) }
    }
    mutating func packedVarint(_ a: [UInt32]) {
        a.withUnsafeBufferPointer { b in
            if wireAllBelow0x80(b) {  // class ids, small counts: one byte each
                for i in 0..<b.count { self.p[i] = UInt8(truncatingIfNeeded: b[i]) }
                self.p += b.count
                return
            }
            for v in b { self.varint(v) }
        }
    }
    mutating func packedVarint(_ a: [UInt64]) {
        a.withUnsafeBufferPointer { b in for v in b { self.varint(v) } }
    }
    mutating func packedVarint(_ a: [Int32]) {
        a.withUnsafeBufferPointer { b in for v in b { self.int32(v) } }
    }
    mutating func packedVarint(_ a: [Int64]) {
        a.withUnsafeBufferPointer { b in for v in b { self.int64(v) } }
    }
    mutating func packedZigZag(_ a: [Int32]) {
        a.withUnsafeBufferPointer { b in for v in b { self.varint(wireZigZag(v)) } }
    }
    mutating func packedZigZag(_ a: [Int64]) {
        a.withUnsafeBufferPointer { b in for v in b { self.varint(wireZigZag(v)) } }
    }
    mutating func packedBool(_ a: [Bool]) {
        a.withUnsafeBufferPointer { b in for v in b { self.bool(v) } }
    }

    /// A nested message: length prefix, then its fields.
    @inline(__always) mutating func message<M: WireEncodable>(_ m: M) {
        self.varint(m.wireSize())
        m.wireWrite(&self)
    }
}

#if _endian(big)
#error("WireWriter.packedFixed copies memory as is: little-endian hosts only")
#endif
