import Foundation
import ModelwireData

/// Grows one CART tree (gini, entropy or mse) on binned features, choosing each split from
/// per-node histograms of bin statistics: weighted class counts, or weighted Σy and Σy².
///
/// Nodes of at least `fullHistogramRows` rows keep one histogram of every feature; a split
/// builds the smaller child's by scanning its rows and the larger one's by subtracting it from
/// the parent's. Smaller nodes, and nodes that try only some features (`maxFeatures`), build
/// each tried feature's histogram from their rows. Candidate splits are the boundaries between
/// the node's nonempty bins, visited feature by feature (in a seeded random order drawn per
/// node) in ascending bin order, and the first best one wins ties, as in the exact tree, which
/// this equals (for the same seed) when every bin holds one value.
/// Rows carry integer weights (bootstrap multiplicities); `minSamplesSplit`/`minSamplesLeaf`
/// count distinct rows, as scikit-learn's.
struct HistogramTreeGrower {
    private let statistics: BinStatistics
    private let spec: TreeSpec
    /// Features drawn per split, as scikit-learn's `max_features`: constant ones count, and more are
    /// drawn only while every one drawn was constant in the node; `bins.columns` for all.
    private let maxFeatures: Int
    private let isCancelled: () -> Bool

    private var feature = [Int32](), threshold = [Float](), left = [Int32](), right = [Int32](), value = [Float]()
    private var weight = [Float]()
    private var rowIndex = [Int32](), scratchIndex = [Int32]()
    private var featureOrder = [Int]()
    private var featureHistogram = [Double](), usedBins = [UInt64]()
    private var generator: SeededGenerator

    private var bins: FeatureBins { self.statistics.bins }
    private var criterion: TreeParameters.Criterion { self.statistics.criterion }
    private var outputs: Int { self.statistics.outputs }
    private var stride: Int { self.statistics.stride }
    private var fullHistogramRows: Int { 2 * self.bins.maxBinCount }

    init(
        bins: FeatureBins,
        criterion: TreeParameters.Criterion,
        outputs: Int,
        spec: TreeSpec,
        maxFeatures: Int,
        classIDs: [Int],
        targets: [Float],
        generator: SeededGenerator,
        isCancelled: @escaping () -> Bool
    ) {
        self.statistics = BinStatistics(
            bins: bins,
            criterion: criterion,
            outputs: outputs,
            minSamplesLeaf: spec.minSamplesLeaf,
            classIDs: classIDs,
            targets: targets
        )
        self.spec = spec
        self.maxFeatures = maxFeatures
        self.generator = generator
        self.isCancelled = isCancelled
    }

    /// Grows the tree on rows with the given multiplicities (rows of weight 0 are left out).
    mutating func grow(rowWeights: [Double]) throws(TrainingError) -> TreeParameters {
        self.statistics.rowWeight = rowWeights
        self.rowIndex = (0..<self.bins.rows).filter { rowWeights[$0] > 0 }.map { Int32($0) }
        self.scratchIndex = self.rowIndex
        self.featureOrder = Array(0..<self.bins.columns)
        self.featureHistogram = Array(repeating: 0, count: self.bins.maxBinCount * self.stride)
        self.usedBins = Array(repeating: 0, count: (self.bins.maxBinCount + 63) / 64)
        let n = self.rowIndex.count
        let root: [Double]? =
            self.maxFeatures == self.bins.columns && n >= self.fullHistogramRows
            ? self.statistics.fullHistogram(self.rowIndex[0..<n]) : nil
        try self.grow(0, n, depth: 0, histogram: root)
        return TreeParameters(
            criterion: self.criterion,
            outputs: self.outputs,
            feature: self.feature,
            threshold: self.threshold,
            left: self.left,
            right: self.right,
            value: self.value,
            weight: self.weight
        )
    }

    private mutating func grow(_ start: Int, _ end: Int, depth: Int, histogram: [Double]?) throws(TrainingError) {
        if self.isCancelled() {
            throw TrainingError(.cancelled, "training cancelled after growing \(self.feature.count) tree nodes")
        }
        let s = self.stride
        let n = end - start
        var total = [Double](repeating: 0, count: s)
        let statistics = self.statistics
        total.withUnsafeMutableBufferPointer { t in
            for i in start..<end { statistics.add(Int(self.rowIndex[i]), into: t.baseAddress!) }
        }
        let node = self.feature.count
        let nodeWeight = total.withUnsafeBufferPointer { statistics.totalWeight($0.baseAddress!) }
        self.feature.append(-1)
        self.threshold.append(0)
        self.left.append(-1)
        self.right.append(-1)
        self.weight.append(Float(nodeWeight))
        if self.criterion == .mse {
            self.value.append(Float(total[2] / max(nodeWeight, 1e-300)))
        } else {
            for k in 0..<self.outputs { self.value.append(Float(total[k] / max(nodeWeight, 1e-300))) }
        }
        let impurity = total.withUnsafeBufferPointer { statistics.weightedImpurity($0.baseAddress!) }
        if let maxDepth = self.spec.maxDepth, depth >= maxDepth { return }
        if n < self.spec.minSamplesSplit || n < 2 * self.spec.minSamplesLeaf || impurity <= 1e-12 * nodeWeight {
            return
        }

        guard let best = self.bestSplit(start, end, total: total, histogram: histogram) else { return }
        // Stable partition of the node's rows: left (bin ≤ leftBin) first.
        let rows = self.bins.rows
        var mid = start
        self.bins.bins.withUnsafeBufferPointer { bp in
            let column = bp.baseAddress! + best.feature * rows
            var r = 0
            for i in start..<end {
                let row = self.rowIndex[i]
                if Int(column[Int(row)]) <= best.leftBin {
                    self.rowIndex[mid] = row
                    mid += 1
                } else {
                    self.scratchIndex[r] = row
                    r += 1
                }
            }
            for i in 0..<r { self.rowIndex[mid + i] = self.scratchIndex[i] }
        }
        var leftHistogram: [Double]?
        var rightHistogram: [Double]?
        if var parent = histogram, max(mid - start, end - mid) >= self.fullHistogramRows {
            let leftIsSmaller = mid - start <= end - mid
            let small = statistics.fullHistogram(leftIsSmaller ? self.rowIndex[start..<mid] : self.rowIndex[mid..<end])
            for i in parent.indices { parent[i] -= small[i] }
            let smallKept = min(mid - start, end - mid) >= self.fullHistogramRows ? small : nil
            (leftHistogram, rightHistogram) = leftIsSmaller ? (smallKept, parent) : (parent, smallKept)
        }
        self.feature[node] = Int32(best.feature)
        self.threshold[node] = best.threshold
        self.left[node] = Int32(self.feature.count)
        try self.grow(start, mid, depth: depth + 1, histogram: leftHistogram)
        self.right[node] = Int32(self.feature.count)
        try self.grow(mid, end, depth: depth + 1, histogram: rightHistogram)
    }

    /// The best split over the tried features, or nil when no split is valid.
    private mutating func bestSplit(
        _ start: Int,
        _ end: Int,
        total: [Double],
        histogram: [Double]?
    ) -> BinStatistics.Split? {
        let statistics = self.statistics
        let columns = self.bins.columns
        let s = self.stride
        let b = self.bins.maxBinCount
        let rows = self.bins.rows
        let n = end - start
        var best: BinStatistics.Split?
        var drawn = 0
        var tried = 0
        var leftStats = [Double](repeating: 0, count: s)
        var rightStats = [Double](repeating: 0, count: s)
        let sampling = self.maxFeatures < columns
        // The scratch buffers, moved out of self while self's methods read it.
        var scratch = self.featureHistogram
        var usedBins = self.usedBins
        self.featureHistogram = []
        self.usedBins = []
        defer {
            self.featureHistogram = scratch
            self.usedBins = usedBins
        }
        for position in 0..<columns {
            // Features in a seeded random order (a Fisher-Yates draw per node, as scikit-learn's
            // splitter), so a tie between features goes to a random one of them, not always the
            // lowest index. Sampling stops after `maxFeatures` drawn, constant ones included, once
            // one of them was not constant (scikit-learn's rule; counting only nonconstant ones
            // tried more features in deep nodes than it does, and correlated the trees).
            if sampling, drawn >= self.maxFeatures, tried > 0 { break }
            drawn += 1
            let j = position + Int(self.generator.next() % UInt64(columns - position))
            self.featureOrder.swapAt(position, j)
            let f = self.featureOrder[position]
            let binCount = self.bins.upper[f].count
            let constant: Bool
            if let histogram {
                constant = histogram.withUnsafeBufferPointer { hp in
                    let base = hp.baseAddress! + f * b * s
                    let countSlot = statistics.countSlot
                    return statistics.scan(
                        feature: f,
                        histogram: base,
                        nonempty: { cursor in
                            while cursor < binCount {
                                defer { cursor += 1 }
                                if base[cursor * s + countSlot] > 0 { return cursor }
                            }
                            return nil
                        },
                        total: total,
                        rows: n,
                        best: &best,
                        leftStats: &leftStats,
                        rightStats: &rightStats
                    )
                }
            } else {
                // Build this feature's histogram and the set of bins it uses, scan, then clear both.
                let words = (binCount + 63) / 64
                constant = scratch.withUnsafeMutableBufferPointer { hp in
                    usedBins.withUnsafeMutableBufferPointer { used in
                        self.bins.bins.withUnsafeBufferPointer { bp in
                            let column = bp.baseAddress! + f * rows
                            let h = hp.baseAddress!
                            for i in start..<end {
                                let r = Int(self.rowIndex[i])
                                let bin = Int(column[r])
                                statistics.add(r, into: h + bin * s)
                                used[bin >> 6] |= 1 << UInt64(bin & 63)
                            }
                            var word = 0
                            var bitsLeft = words > 0 ? used[0] : 0
                            let result = statistics.scan(
                                feature: f,
                                histogram: h,
                                nonempty: { _ in
                                    while bitsLeft == 0 {
                                        word += 1
                                        guard word < words else { return nil }
                                        bitsLeft = used[word]
                                    }
                                    let bit = bitsLeft.trailingZeroBitCount
                                    bitsLeft &= bitsLeft - 1
                                    return word * 64 + bit
                                },
                                total: total,
                                rows: n,
                                best: &best,
                                leftStats: &leftStats,
                                rightStats: &rightStats
                            )
                            for w in 0..<words {
                                var bits = used[w]
                                while bits != 0 {
                                    let bin = w * 64 + bits.trailingZeroBitCount
                                    (h + bin * s).update(repeating: 0, count: s)
                                    bits &= bits - 1
                                }
                                used[w] = 0
                            }
                            return result
                        }
                    }
                }
            }
            if !constant { tried += 1 }
        }
        return best
    }
}

/// The per-tree constants of histogram statistics: which rows weigh what, how a bin's
/// statistics are laid out and scored (a class, so the grower's hot loops share it by reference).
private final class BinStatistics {
    let bins: FeatureBins
    let criterion: TreeParameters.Criterion
    let outputs: Int
    let minSamplesLeaf: Int
    let classIDs: [Int]
    let targets: [Float]
    var rowWeight = [Double]()
    /// Statistics per bin: class weights then the row count, or (count, Σw, Σwy, Σwy²).
    let stride: Int
    let countSlot: Int

    init(
        bins: FeatureBins,
        criterion: TreeParameters.Criterion,
        outputs: Int,
        minSamplesLeaf: Int,
        classIDs: [Int],
        targets: [Float]
    ) {
        self.bins = bins
        self.criterion = criterion
        self.outputs = outputs
        self.minSamplesLeaf = minSamplesLeaf
        self.classIDs = classIDs
        self.targets = targets
        self.stride = criterion == .mse ? 4 : outputs + 1
        self.countSlot = criterion == .mse ? 0 : outputs
    }

    /// Adds row `r`'s statistics into the vector at `h`.
    @inline(__always)
    func add(_ r: Int, into h: UnsafeMutablePointer<Double>) {
        let w = self.rowWeight[r]
        if self.criterion == .mse {
            let y = Double(self.targets[r])
            h[0] += 1
            h[1] += w
            h[2] += w * y
            h[3] += w * y * y
        } else {
            h[self.classIDs[r]] += w
            h[self.outputs] += 1
        }
    }

    /// Impurity × weight of a statistics vector (the exact tree's formulas).
    @inline(__always)
    func weightedImpurity(_ s: UnsafePointer<Double>) -> Double {
        switch self.criterion {
        case .gini:
            var n = 0.0
            var sq = 0.0
            for k in 0..<self.outputs {
                n += s[k]
                sq += s[k] * s[k]
            }
            return n > 0 ? n - sq / n : 0
        case .entropy:
            var n = 0.0
            for k in 0..<self.outputs { n += s[k] }
            var h = 0.0
            for k in 0..<self.outputs where s[k] > 0 { h -= s[k] * log2(s[k] / n) }
            return h
        case .mse:
            return s[1] > 0 ? max(s[3] - s[2] * s[2] / s[1], 0) : 0
        }
    }

    /// The weight of a statistics vector.
    func totalWeight(_ s: UnsafePointer<Double>) -> Double {
        if self.criterion == .mse { return s[1] }
        var n = 0.0
        for k in 0..<self.outputs { n += s[k] }
        return n
    }

    /// A histogram of every feature for `rows`: features × maxBinCount × stride.
    func fullHistogram(_ nodeRows: ArraySlice<Int32>) -> [Double] {
        let b = self.bins.maxBinCount
        let s = self.stride
        let rows = self.bins.rows
        var h = [Double](repeating: 0, count: self.bins.columns * b * s)
        h.withUnsafeMutableBufferPointer { hp in
            self.bins.bins.withUnsafeBufferPointer { bp in
                for f in 0..<self.bins.columns {
                    let column = bp.baseAddress! + f * rows
                    let base = hp.baseAddress! + f * b * s
                    for row in nodeRows {
                        let r = Int(row)
                        self.add(r, into: base + Int(column[r]) * s)
                    }
                }
            }
        }
        return h
    }

    /// The best split of a node: feature, last left bin, threshold, impurity sum.
    struct Split {
        var feature: Int, leftBin: Int, threshold: Float, score: Double
    }

    /// Scans one feature's nonempty bins in ascending order, updating `best`.
    /// - Returns: Whether the feature is constant in the node.
    func scan(
        feature f: Int,
        histogram h: UnsafePointer<Double>,
        nonempty: (inout Int) -> Int?,
        total: UnsafePointer<Double>,
        rows: Int,
        best: inout Split?,
        leftStats: UnsafeMutablePointer<Double>,
        rightStats: UnsafeMutablePointer<Double>
    ) -> Bool {
        let s = self.stride
        let countSlot = self.countSlot
        leftStats.update(repeating: 0, count: s)
        var cursor = 0
        var previous = -1
        var candidates = 0
        while let bin = nonempty(&cursor) {
            if previous >= 0 {
                candidates += 1
                let nLeft = Int(leftStats[countSlot])
                if nLeft >= self.minSamplesLeaf, rows - nLeft >= self.minSamplesLeaf {
                    for k in 0..<s { rightStats[k] = total[k] - leftStats[k] }
                    let score = self.weightedImpurity(leftStats) + self.weightedImpurity(rightStats)
                    if best == nil || score < best!.score - 1e-12 {
                        best = Split(
                            feature: f,
                            leftBin: previous,
                            threshold: self.bins.threshold(feature: f, left: previous, right: bin),
                            score: score
                        )
                    }
                }
            }
            let cell = h + bin * s
            for k in 0..<s { leftStats[k] += cell[k] }
            previous = bin
        }
        return candidates == 0
    }

}
