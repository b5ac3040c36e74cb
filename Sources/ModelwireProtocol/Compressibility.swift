#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cheap guess whether zlib would shrink a payload by enough to pay for itself.
///
/// Deflating one incompressible KiB costs ~30–50 µs on a small VM (more than sending it), so the
/// guess must not deflate anything: it measures the order-0 entropy of up to 1 KiB sampled from
/// four places in the payload (~1 µs). Random float features measure ~7.2 bits per byte (zlib
/// saves < 10%); text, and integer-valued or sparse features, measure 1.5–4.5 bits (zlib saves
/// 50–99%). Data with long repeats but high byte entropy is the one case it sends plain wrongly.
enum Compressibility {
    /// Bytes per sampled window; four windows, spread evenly.
    static let window = 256
    /// At most this many bits per byte of order-0 entropy (a quarter saved) is worth compressing.
    static let maxBitsPerByte = 6.0

    /// Whether compressing `payload` is likely to save at least a quarter of it.
    static func isWorthCompressing(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard !payload.isEmpty else { return false }
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { counts -> Bool in
            counts.initialize(repeating: 0)
            var sampled = 0
            func count(_ range: Range<Int>) {
                for byte in UnsafeRawBufferPointer(rebasing: payload[range]) { counts[Int(byte)] += 1 }
                sampled += range.count
            }
            if payload.count <= 4 * Self.window {
                count(0..<payload.count)
            } else {
                let stride = (payload.count - Self.window) / 3
                for i in 0..<4 { count((i * stride)..<(i * stride + Self.window)) }
            }
            let total = Double(sampled)
            var bits = 0.0
            for c in counts where c > 0 {
                let p = Double(c) / total
                bits -= p * log2(p)
            }
            return bits <= Self.maxBitsPerByte
        }
    }
}
