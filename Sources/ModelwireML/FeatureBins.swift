import ModelwireData

/// Training features binned once, per feature, into at most `maxBins` ordered bins: every
/// distinct value its own bin when there are few enough, otherwise consecutive distinct values
/// grouped so each bin holds about `rows / maxBins` rows (quantile bins). Histogram trees find
/// splits on bins; a split between bin b and the next bin b' present in a node becomes the real
/// threshold midway between b's largest and b''s smallest training value, which for one value
/// per bin is exactly the exact tree's threshold.
struct FeatureBins: Sendable {
    /// Rows binned.
    let rows: Int
    /// Features.
    let columns: Int
    /// Feature-major bin ids: row r's bin for feature f is `bins[f * rows + r]`.
    let bins: [UInt16]
    /// Per feature, the smallest training value in each bin.
    let lower: [[Float]]
    /// Per feature, the largest training value in each bin.
    let upper: [[Float]]
    /// The most bins any feature has.
    let maxBinCount: Int

    /// Bins row-major features.
    /// - Parameters:
    ///   - features: rows × columns, row-major.
    ///   - rows: Row count.
    ///   - columns: Column count.
    ///   - maxBins: The most bins per feature, in 2...65535.
    init(features: [Float], rows: Int, columns: Int, maxBins: Int) {
        precondition(maxBins >= 2 && maxBins <= 65535, "maxBins out of range")
        self.rows = rows
        self.columns = columns
        var bins = [UInt16](repeating: 0, count: rows * columns)
        var lower = [[Float]]()
        var upper = [[Float]]()
        // Sort keys: the value's order-preserving bit pattern above the row index.
        var keys = [UInt64](repeating: 0, count: rows)
        var scratch = [UInt64](repeating: 0, count: rows)
        for f in 0..<columns {
            for r in 0..<rows {
                let bits = (features[r * columns + f] + 0).bitPattern  // −0 sorts as 0
                let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
                keys[r] = UInt64(ordered) << 32 | UInt64(r)
            }
            Self.sortByValue(&keys, scratch: &scratch)
            @inline(__always) func value(_ i: Int) -> Float { features[Int(keys[i] & 0xFFFF_FFFF) * columns + f] }
            var distinct = 0
            for i in 0..<rows where i == 0 || keys[i] >> 32 != keys[i - 1] >> 32 { distinct += 1 }
            var lo = [Float]()
            var hi = [Float]()
            var bin = -1
            var closedAt = 0  // rows in the values already binned
            var i = 0
            while i < rows {
                var j = i
                while j < rows, keys[j] >> 32 == keys[i] >> 32 { j += 1 }
                // Open a new bin for this value when the current one is full (always, with few values).
                if bin < 0 || distinct <= maxBins || closedAt >= (bin + 1) * rows / maxBins {
                    bin += 1
                    lo.append(value(i))
                    hi.append(value(i))
                }
                hi[bin] = value(i)
                for t in i..<j { bins[f * rows + Int(keys[t] & 0xFFFF_FFFF)] = UInt16(bin) }
                closedAt = j
                i = j
            }
            lower.append(lo)
            upper.append(hi)
        }
        self.bins = bins
        self.lower = lower
        self.upper = upper
        self.maxBinCount = upper.map(\.count).max() ?? 0
    }

    /// Sorts keys built in row order (value bits above the row index) as `sort()` would: a stable
    /// LSD radix sort on the 32 value bits (11, 11 and 10 bits a pass), which keeps equal values
    /// in row order, so the result is ordered by the whole key.
    static func sortByValue(_ keys: inout [UInt64], scratch: inout [UInt64]) {
        let n = keys.count
        var counts = [Int](repeating: 0, count: 2048)
        for (shift, width) in [(32, 11), (43, 11), (54, 10)] {
            let mask = UInt64(1) << UInt64(width) - 1
            keys.withUnsafeMutableBufferPointer { kp in
                scratch.withUnsafeMutableBufferPointer { sp in
                    counts.withUnsafeMutableBufferPointer { cp in
                        cp.update(repeating: 0)
                        for i in 0..<n { cp[Int(kp[i] >> UInt64(shift) & mask)] += 1 }
                        var total = 0
                        for d in 0..<(1 << width) {
                            let c = cp[d]
                            cp[d] = total
                            total += c
                        }
                        for i in 0..<n {
                            let key = kp[i]
                            let d = Int(key >> UInt64(shift) & mask)
                            sp[cp[d]] = key
                            cp[d] += 1
                        }
                    }
                }
            }
            swap(&keys, &scratch)
        }
    }

    /// The real threshold between bin `left` and a higher bin `right` of feature `f`
    /// (the exact tree's midpoint rule).
    func threshold(feature f: Int, left: Int, right: Int) -> Float {
        let a = self.upper[f][left]
        let b = self.lower[f][right]
        var mid = a / 2 + b / 2
        if mid >= b || mid < a { mid = a }
        return mid
    }
}
