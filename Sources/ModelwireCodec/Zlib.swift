internal import CModelwireZlib

/// Why a zlib payload could not be inflated (or, never in practice, deflated).
///
/// A struct with an extensible `code` (as grpc-swift's `RPCError.Code`): a kind added later breaks
/// no caller's `switch`. Match `code`; the detail properties are set for the codes that have them.
public struct CompressionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case tooLarge, ratioExceeded, corrupt, zlibFailure
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Inflating would exceed the size limit; inflation stopped there, so memory stays bounded (`limit`).
        public static let tooLarge = Code(.tooLarge)
        /// Inflating would exceed the allowed inflated/compressed ratio: a decompression bomb (`limit`).
        public static let ratioExceeded = Code(.ratioExceeded)
        /// The bytes are not a valid zlib stream, or it ends early, or bytes follow its end (`reason`).
        public static let corrupt = Code(.corrupt)
        /// zlib itself failed (out of memory or an internal error) (`zlibReturnCode`).
        public static let zlibFailure = Code(.zlibFailure)

        /// The code's name, e.g. `ratioExceeded`: for logs and tests, not for people.
        public var description: String { self.base.rawValue }
    }

    // The code and its details in one private enum: the struct is as small as the enum it replaced.
    private enum Storage: Hashable, Sendable {
        case tooLarge(limit: Int)
        case ratioExceeded(limit: Int)
        case corrupt(String)
        case zlibFailure(Int32)
    }
    private let storage: Storage
    private init(_ storage: Storage) { self.storage = storage }

    /// The kind of failure.
    public var code: Code {
        switch self.storage {
        case .tooLarge: .tooLarge
        case .ratioExceeded: .ratioExceeded
        case .corrupt: .corrupt
        case .zlibFailure: .zlibFailure
        }
    }
    /// `tooLarge`: the largest inflated size in bytes; `ratioExceeded`: the largest inflated/compressed ratio.
    public var limit: Int? {
        switch self.storage {
        case .tooLarge(let limit), .ratioExceeded(let limit): limit
        default: nil
        }
    }
    /// `corrupt`: what is wrong with the stream, as zlib or the reader says it.
    public var reason: String? { if case .corrupt(let reason) = self.storage { reason } else { nil } }
    /// `zlibFailure`: zlib's return code.
    public var zlibReturnCode: Int32? { if case .zlibFailure(let rc) = self.storage { rc } else { nil } }

    /// Inflating would exceed `limit` bytes.
    public static func tooLarge(limit: Int) -> CompressionError { CompressionError(.tooLarge(limit: limit)) }
    /// Inflating would exceed `limit` times the compressed size.
    public static func ratioExceeded(limit: Int) -> CompressionError { CompressionError(.ratioExceeded(limit: limit)) }
    /// The stream is not valid zlib, for `reason`.
    public static func corrupt(_ reason: String) -> CompressionError { CompressionError(.corrupt(reason)) }
    /// zlib returned `returnCode`.
    public static func zlibFailure(_ returnCode: Int32) -> CompressionError {
        CompressionError(.zlibFailure(returnCode))
    }

    /// A sentence for people, e.g. "corrupt compressed data: truncated zlib stream".
    public var description: String {
        switch self.storage {
        case .tooLarge(let limit): "inflated size exceeds the limit of \(limit) bytes"
        case .ratioExceeded(let limit): "inflates more than \(limit)x: rejected as a decompression bomb"
        case .corrupt(let reason): "corrupt compressed data: \(reason)"
        case .zlibFailure(let rc): "zlib failed with return code \(rc)"
        }
    }
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
        _ source: UnsafeRawBufferPointer,
        into destination: UnsafeMutableRawBufferPointer,
        level: Int32 = 1
    ) throws(CompressionError) -> Int {
        precondition(destination.count >= compressBound(source.count), "destination smaller than compressBound")
        var written = uLongf(destination.count)
        var empty: UInt8 = 0
        // The smallest window that covers the input (9...15 bits) and a hash table to match.
        let windowBits = Int32(min(15, max(9, Int.bitWidth - max(source.count - 1, 1).leadingZeroBitCount)))
        let rc = withUnsafeMutablePointer(to: &empty) { emptyPointer in
            CModelwireZlib_compress(
                destination.baseAddress!.assumingMemoryBound(to: UInt8.self),
                &written,
                source.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(emptyPointer),
                uLong(source.count),
                level,
                windowBits,
                max(1, windowBits - 7)
            )
        }
        guard rc == Z_OK else { throw .zlibFailure(rc) }
        return Int(written)
    }

    /// Compresses `source` into a new array.
    public static func compress(_ source: [UInt8], level: Int32 = 1) throws(CompressionError) -> [UInt8] {
        var failure: CompressionError?
        let out = [UInt8](unsafeUninitializedCapacity: compressBound(source.count)) { buffer, count in
            source.withUnsafeBytes { raw in
                do throws(CompressionError) {
                    count = try compress(raw, into: UnsafeMutableRawBufferPointer(buffer), level: level)
                } catch {
                    failure = error
                    count = 0
                }
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Inflates a zlib stream held in an array; see `decompress(_:maxSize:maxRatio:ratioCheckMinBytes:)` for the limits.
    public static func decompress(
        _ source: [UInt8],
        maxSize: Int,
        maxRatio: Int,
        ratioCheckMinBytes: Int = 0
    ) throws(CompressionError) -> [UInt8] {
        try source.withUnsafeBufferPointer { (buffer) throws(CompressionError) -> [UInt8] in
            try decompress(
                UnsafeRawBufferPointer(buffer),
                maxSize: maxSize,
                maxRatio: maxRatio,
                ratioCheckMinBytes: ratioCheckMinBytes
            )
        }
    }

    /// Inflates a zlib stream, stopping as soon as the output would pass either limit.
    /// - Parameters:
    ///   - source: The whole compressed payload.
    ///   - maxSize: The largest acceptable inflated size.
    ///   - maxRatio: The largest acceptable inflated size / compressed size.
    ///   - ratioCheckMinBytes: `maxRatio` applies only past this inflated size (sparse or constant
    ///     data legitimately compresses more than any ratio a bomb check would allow).
    /// - Throws: `CompressionError.tooLarge`, `.ratioExceeded` or `.corrupt`.
    public static func decompress(
        _ source: UnsafeRawBufferPointer,
        maxSize: Int,
        maxRatio: Int,
        ratioCheckMinBytes: Int = 0
    ) throws(CompressionError) -> [UInt8] {
        let byRatio = source.count.multipliedReportingOverflow(by: maxRatio).overflow ? .max : source.count * maxRatio
        let limit = min(maxSize, max(byRatio, ratioCheckMinBytes))
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)  // zlib keeps this address in its state
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard CModelwireZlib_inflateInit(stream) == Z_OK else { throw .zlibFailure(Z_MEM_ERROR) }
        defer { inflateEnd(stream) }
        var empty: UInt8 = 0
        return try withUnsafeMutablePointer(to: &empty) { (emptyPointer) throws(CompressionError) -> [UInt8] in
            stream.pointee.next_in =
                UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self)) ?? emptyPointer
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
