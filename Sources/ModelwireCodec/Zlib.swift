internal import CModelwireZlib

/// Why a zlib payload could not be compressed or inflated.
public enum CompressionError: Error, Hashable, Sendable {
    /// Inflating would exceed the size limit; inflation stopped there (memory stays bounded).
    case tooLarge(limit: Int)
    /// Inflating would exceed the allowed inflated/compressed ratio (a decompression bomb).
    case ratioExceeded(limit: Int)
    /// The bytes are not a valid zlib stream, or it ends early, or bytes follow its end.
    case corrupt(String)
    /// zlib itself failed (out of memory or an internal error), with its return code.
    case zlibFailure(Int32)
}

/// zlib (RFC 1950) compression of frame payloads, with limits enforced while inflating.
public enum Zlib {
    /// The most bytes `compress` can produce for `count` input bytes.
    ///
    /// zlib's `deflateBound` for non-default window and memory levels (stored blocks in the worst case, plus the
    /// 6-byte zlib wrapper), a little above `compressBound`, which only holds for the default levels.
    public static func compressBound(_ count: Int) -> Int {
        count + (count + 7) / 8 + (count + 63) / 64 + 5 + 6
    }

    /// Compresses `source` into `destination`, which must hold `compressBound(source.count)` bytes.
    /// - Parameter level: zlib level 0...9; 1 (fastest) suits per-frame compression.
    /// - Returns: The number of bytes written.
    /// - Throws: `CompressionError.zlibFailure` if zlib fails (it cannot for a large enough destination).
    public static func compress(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, level: Int32 = 1
    ) throws(CompressionError) -> Int {
        precondition(destination.count >= compressBound(source.count), "destination smaller than compressBound")
        var written = uLongf(destination.count)
        var empty: UInt8 = 0
        // The smallest window that covers the input (9...15 bits) and a hash table to match.
        let windowBits = Int32(min(15, max(9, Int.bitWidth - max(source.count - 1, 1).leadingZeroBitCount)))
        let rc = withUnsafeMutablePointer(to: &empty) { emptyPointer in
            CModelwireZlib_compress(
                destination.baseAddress!.assumingMemoryBound(to: UInt8.self), &written,
                source.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(emptyPointer), uLong(source.count), level,
                windowBits, max(1, windowBits - 7))
        }
        guard rc == Z_OK else { throw .zlibFailure(rc) }
        return Int(written)
    }

    /// Compresses `source` into a new array.
    public static func compress(_ source: [UInt8], level: Int32 = 1) throws(CompressionError) -> [UInt8] {
        var failure: CompressionError?
        let out = [UInt8](unsafeUninitializedCapacity: compressBound(source.count)) { buffer, count in
            source.withUnsafeBytes { raw in
                do throws(CompressionError) { count = try compress(raw, into: UnsafeMutableRawBufferPointer(buffer), level: level) } catch {
                    failure = error
                    count = 0
                }
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Inflates a zlib stream held in an array; see `decompress(_:maxSize:maxRatio:)` for the limits.
    public static func decompress(_ source: [UInt8], maxSize: Int, maxRatio: Int) throws(CompressionError) -> [UInt8] {
        try source.withUnsafeBufferPointer { (buffer) throws(CompressionError) -> [UInt8] in
            try decompress(UnsafeRawBufferPointer(buffer), maxSize: maxSize, maxRatio: maxRatio)
        }
    }

    /// Inflates a zlib stream, stopping as soon as the output would pass either limit.
    /// - Parameters:
    ///   - source: The whole compressed payload.
    ///   - maxSize: The largest acceptable inflated size.
    ///   - maxRatio: The largest acceptable inflated size / compressed size.
    /// - Throws: `CompressionError.tooLarge`, `.ratioExceeded` or `.corrupt`.
    public static func decompress(_ source: UnsafeRawBufferPointer, maxSize: Int, maxRatio: Int) throws(CompressionError) -> [UInt8] {
        let limit = min(maxSize, source.count.multipliedReportingOverflow(by: maxRatio).overflow ? .max : source.count * maxRatio)
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)  // zlib keeps this address in its state
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard CModelwireZlib_inflateInit(stream) == Z_OK else { throw .zlibFailure(Z_MEM_ERROR) }
        defer { inflateEnd(stream) }
        var empty: UInt8 = 0
        return try withUnsafeMutablePointer(to: &empty) { (emptyPointer) throws(CompressionError) -> [UInt8] in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self)) ?? emptyPointer
            stream.pointee.avail_in = uInt(source.count)
            var output: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: min(64 * 1024, max(limit, 1)) + 1)
            while true {
                let (rc, produced) = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.pointee.next_out = buffer.baseAddress
                    stream.pointee.avail_out = uInt(buffer.count)
                    let rc = inflate(stream, Z_NO_FLUSH)
                    return (rc, buffer.count - Int(stream.pointee.avail_out))
                }
                if output.count + produced > limit {
                    if limit == maxSize { throw .tooLarge(limit: maxSize) }
                    throw .ratioExceeded(limit: maxRatio)
                }
                output.append(contentsOf: chunk[0..<produced])
                switch rc {
                case Z_STREAM_END:
                    guard stream.pointee.avail_in == 0 else { throw .corrupt("bytes after the end of the zlib stream") }
                    return output
                case Z_OK:
                    continue
                case Z_BUF_ERROR where produced == 0:
                    throw .corrupt("truncated zlib stream")
                case Z_BUF_ERROR:
                    continue
                case Z_DATA_ERROR, Z_NEED_DICT:
                    throw .corrupt(stream.pointee.msg.map { String(cString: $0) } ?? "invalid zlib data")
                default:
                    throw .zlibFailure(rc)
                }
            }
        }
    }
}
