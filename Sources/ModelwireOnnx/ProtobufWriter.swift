/// A minimal protobuf encoder for the ONNX export: fields are appended in the order written,
/// nested messages are built in their own writer and appended as bytes.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ field: Int, _ value: UInt64) {
        tag(field, 0)
        raw(value)
    }

    mutating func int(_ field: Int, _ value: Int64) { varint(field, UInt64(bitPattern: value)) }

    mutating func string(_ field: Int, _ value: String) { data(field, Array(value.utf8)) }

    mutating func data(_ field: Int, _ value: [UInt8]) {
        tag(field, 2)
        raw(UInt64(value.count))
        bytes += value
    }

    mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        build(&inner)
        data(field, inner.bytes)
    }

    /// A packed repeated float field.
    mutating func packedFloats(_ field: Int, _ values: [Float]) {
        var inner: [UInt8] = []
        inner.reserveCapacity(values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { inner += $0 } }
        data(field, inner)
    }

    /// A packed repeated int64 field.
    mutating func packedInts(_ field: Int, _ values: [Int64]) {
        var inner = ProtobufWriter()
        for v in values { inner.raw(UInt64(bitPattern: v)) }
        data(field, inner.bytes)
    }

    private mutating func tag(_ field: Int, _ wireType: UInt64) { raw(UInt64(field) << 3 | wireType) }

    private mutating func raw(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
}
