import CModelwireKernels

/// Grows one gradient-boosting regression tree leaf-wise on binned features, as scikit-learn's
/// `TreeGrower`: the splittable leaf with the largest gain is split next until `maxLeafNodes`
/// leaves; gain = G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ), each child keeping at least
/// `minSamplesLeaf` rows and a hessian sum of 1e-3; leaf value −rate·G/(H + λ).
///
/// A node that may split keeps a histogram: a cell (Σg, Σh, rows, 0) of 4 doubles per feature
/// and bin. A split builds the smaller child's from its rows and the larger one's by subtraction
/// from the parent's, and none for a child that cannot split; children take their totals from
/// the split, as scikit-learn's. Histograms live in buffers the grower reuses from node to node
/// and tree to tree (a leaf that cannot split gives its buffer back at once, a split parent's
/// becomes its larger child's). The C kernels (`CModelwireKernels_histogramAdd`,
/// `_histogramBestBin`) read the bins of four features at once (one 4- or 8-byte load per row;
/// bytes when every feature has at most 256 bins), so a row's index and (g, h, 1, 0) are
/// loaded once per four features, add a row to a cell with one 32-byte vector add, and score
/// four candidate splits per vector division.
struct GradientTreeGrower {
    let bins: FeatureBins
    let maxLeafNodes: Int?
    let maxDepth: Int?
    let minSamplesLeaf: Int
    let l2: Double
    let learningRate: Double
    /// Bin ids in groups of `groupWidth` features, row-interleaved: the bins of features
    /// 4g..<4g+4 at row r are the four elements at (g · rows + r) · 4, each a byte or (when
    /// `wideBins`) a little-endian UInt16; features past the last are padded with bin 0.
    private let packedBins: [UInt8]
    /// Whether some feature has more than 256 bins (2-byte bin ids).
    private let wideBins: Bool
    /// Features rounded up to a whole number of groups (histograms have this many).
    private let histogramColumns: Int
    /// Bins per feature.
    private let binCounts: [Int]
    /// Histogram buffers and scratch, reused by every tree this grower grows (one at a time).
    private let pool: HistogramPool

    init(
        bins: FeatureBins,
        maxLeafNodes: Int?,
        maxDepth: Int?,
        minSamplesLeaf: Int,
        l2: Double,
        learningRate: Double
    ) {
        self.bins = bins
        self.maxLeafNodes = maxLeafNodes
        self.maxDepth = maxDepth
        self.minSamplesLeaf = minSamplesLeaf
        self.l2 = l2
        self.learningRate = learningRate
        let wide = bins.maxBinCount > 256
        let width = wide ? 2 : 1
        let groups = (bins.columns + Self.groupWidth - 1) / Self.groupWidth
        var packed = [UInt8](repeating: 0, count: groups * bins.rows * Self.groupWidth * width)
        for f in 0..<bins.columns {
            let (group, lane) = f.quotientAndRemainder(dividingBy: Self.groupWidth)
            for r in 0..<bins.rows {
                let bin = bins.bins[f * bins.rows + r]
                let at = ((group * bins.rows + r) * Self.groupWidth + lane) * width
                packed[at] = UInt8(truncatingIfNeeded: bin)
                if wide { packed[at + 1] = UInt8(truncatingIfNeeded: bin >> 8) }
            }
        }
        self.packedBins = packed
        self.wideBins = wide
        self.histogramColumns = groups * Self.groupWidth
        self.binCounts = bins.upper.map(\.count)
        self.pool = HistogramPool(
            size: self.histogramColumns * bins.maxBinCount * 4,
            rows: bins.rows,
            bins: bins.maxBinCount
        )
    }

    /// A grown tree and, per leaf, the rows (indices into the binned rows) that reached it.
    struct Result {
        var tree: TreeParameters
        var leafRows: [(node: Int, rows: ArraySlice<Int32>)]
    }

    private struct Split {
        var feature: Int, leftBin: Int, threshold: Float, gain: Double
        /// Σg and Σh of the rows that go left.
        var gradientLeft: Double, hessianLeft: Double
    }

    private struct Node {
        var index: Int, start: Int, end: Int, depth: Int
        var gradient: Double, hessian: Double
        /// The node's histogram buffer in the pool, or -1 once given back.
        var histogram: Int
        var split: Split?
    }

    private static let minHessian = 1e-3
    /// Features whose bins one kernel pass reads together.
    fileprivate static let groupWidth = 4

    /// Grows a tree on every binned row for per-row gradients and hessians.
    func grow(gradients: [Float], hessians: [Float]) -> Result {
        let pool = self.pool
        pool.reset()
        var rowIndex = (0..<self.bins.rows).map { Int32($0) }
        var scratch = rowIndex
        var feature = [Int32]()
        var threshold = [Float]()
        var left = [Int32]()
        var right = [Int32]()
        var value = [Float]()
        var weight = [Float]()
        /// A leaf with totals (g, h); its best split is searched when it has a histogram (slot ≥ 0).
        func newNode(
            _ start: Int,
            _ end: Int,
            depth: Int,
            gradient g: Double,
            hessian h: Double,
            histogram: Int
        )
            -> Node
        {
            let index = feature.count
            feature.append(-1)
            threshold.append(0)
            left.append(-1)
            right.append(-1)
            value.append(Float(-self.learningRate * g / (h + self.l2 + Double.ulpOfOne)))
            weight.append(Float(end - start))
            var node = Node(
                index: index,
                start: start,
                end: end,
                depth: depth,
                gradient: g,
                hessian: h,
                histogram: histogram,
                split: nil
            )
            if histogram >= 0 {
                node.split = self.bestSplit(node, histogram: UnsafePointer(pool.buffer(histogram)))
                if node.split == nil {
                    pool.giveBack(histogram)
                    node.histogram = -1
                }
            }
            return node
        }
        let root = pool.take()
        rowIndex.withUnsafeBufferPointer {
            self.histogram($0[...], gradients: gradients, hessians: hessians, into: pool.buffer(root), pool: pool)
        }
        var rootGradient = 0.0
        var rootHessian = 0.0
        for r in 0..<self.bins.rows {
            rootGradient += Double(gradients[r])
            rootHessian += Double(hessians[r])
        }
        var frontier = [
            newNode(0, rowIndex.count, depth: 0, gradient: rootGradient, hessian: rootHessian, histogram: root)
        ]
        var leafCount = 1
        while true {
            var pick = -1
            for (i, node) in frontier.enumerated() {
                if let split = node.split, pick < 0 || split.gain > frontier[pick].split!.gain { pick = i }
            }
            guard pick >= 0, self.maxLeafNodes.map({ leafCount < $0 }) ?? true else { break }
            let node = frontier.remove(at: pick)
            let split = node.split!
            // Stable partition of the node's rows: left (bin ≤ leftBin) first.
            var mid = node.start
            rowIndex.withUnsafeMutableBufferPointer { rp in
                scratch.withUnsafeMutableBufferPointer { sp in
                    self.bins.bins.withUnsafeBufferPointer { bp in
                        let column = bp.baseAddress! + split.feature * self.bins.rows
                        var r = 0
                        for i in node.start..<node.end {
                            let row = rp[i]
                            if Int(column[Int(row)]) <= split.leftBin {
                                rp[mid] = row
                                mid += 1
                            } else {
                                sp[r] = row
                                r += 1
                            }
                        }
                        for i in 0..<r { rp[mid + i] = sp[i] }
                    }
                }
            }
            leafCount += 1
            // Children's totals from the split, as scikit-learn's. A child that cannot split (the
            // leaf budget is spent, too deep, too few rows or too little hessian) needs no
            // histogram; when neither can, none is built (scikit-learn's grower skips them too).
            let depth = node.depth + 1
            let (gl, hl) = (split.gradientLeft, split.hessianLeft)
            let (gr, hr) = (node.gradient - gl, node.hessian - hl)
            let budgetLeft = self.maxLeafNodes.map { leafCount < $0 } ?? true
            let splitsLeft = budgetLeft && self.mayHaveSplit(rows: mid - node.start, depth: depth, hessian: hl)
            let splitsRight = budgetLeft && self.mayHaveSplit(rows: node.end - mid, depth: depth, hessian: hr)
            var (lh, rh) = (-1, -1)
            if splitsLeft || splitsRight {
                let leftIsSmaller = mid - node.start <= node.end - mid
                let smallSlot = pool.take()
                let small = pool.buffer(smallSlot)
                rowIndex.withUnsafeBufferPointer { rp in
                    self.histogram(
                        leftIsSmaller ? rp[node.start..<mid] : rp[mid..<node.end],
                        gradients: gradients,
                        hessians: hessians,
                        into: small,
                        pool: pool
                    )
                }
                var largeSlot = -1
                if leftIsSmaller ? splitsRight : splitsLeft {
                    // The parent's buffer becomes the larger child's.
                    let large = pool.buffer(node.histogram)
                    for i in 0..<pool.size { large[i] -= small[i] }
                    largeSlot = node.histogram
                } else {
                    pool.giveBack(node.histogram)
                }
                (lh, rh) = leftIsSmaller ? (smallSlot, largeSlot) : (largeSlot, smallSlot)
                if !(leftIsSmaller ? splitsLeft : splitsRight) {
                    pool.giveBack(smallSlot)
                    if leftIsSmaller { lh = -1 } else { rh = -1 }
                }
            } else {
                pool.giveBack(node.histogram)
            }
            feature[node.index] = Int32(split.feature)
            threshold[node.index] = split.threshold
            left[node.index] = Int32(feature.count)
            let leftChild = newNode(node.start, mid, depth: depth, gradient: gl, hessian: hl, histogram: lh)
            right[node.index] = Int32(feature.count)
            let rightChild = newNode(mid, node.end, depth: depth, gradient: gr, hessian: hr, histogram: rh)
            frontier += [leftChild, rightChild]
        }
        let tree = TreeParameters(
            criterion: .mse,
            outputs: 1,
            feature: feature,
            threshold: threshold,
            left: left,
            right: right,
            value: value,
            weight: weight
        )
        return Result(tree: tree, leafRows: frontier.map { ($0.index, rowIndex[$0.start..<$0.end]) })
    }

    /// Fills `h` (zeroed here) with the cells (Σg, Σh, rows, 0) of every feature and bin
    /// (histogramColumns × maxBinCount × 4 doubles) for the listed rows. Their gradients and
    /// hessians are gathered into row order once, so each group's pass reads them in sequence.
    private func histogram(
        _ rows: Slice<UnsafeBufferPointer<Int32>>,
        gradients: [Float],
        hessians: [Float],
        into h: UnsafeMutablePointer<Double>,
        pool: HistogramPool
    ) {
        let count = rows.count
        h.update(repeating: 0, count: self.histogramColumns * self.bins.maxBinCount * 4)
        let rp = UnsafeBufferPointer(rebasing: rows)
        let quads = pool.quads
        gradients.withUnsafeBufferPointer { gp in
            hessians.withUnsafeBufferPointer { hp in
                for i in 0..<count {
                    let r = Int(rp[i])
                    quads[4 * i] = Double(gp[r])
                    quads[4 * i + 1] = Double(hp[r])
                }
            }
        }
        self.packedBins.withUnsafeBytes { packed in
            CModelwireKernels_histogramAdd(
                1,
                packed.baseAddress!,
                self.bins.rows,
                self.histogramColumns / Self.groupWidth,
                self.wideBins ? 1 : 0,
                self.bins.maxBinCount,
                rp.baseAddress!,
                count,
                quads,
                h,
                pool.words
            )
        }
    }

    /// The best split of a node over all features (first best wins ties), or nil.
    private func bestSplit(_ node: Node, histogram hp: UnsafePointer<Double>) -> Split? {
        let rows = node.end - node.start
        guard self.mayHaveSplit(rows: rows, depth: node.depth, hessian: node.hessian) else { return nil }
        let lambda = self.l2
        let parentLoss = node.gradient * node.gradient / (node.hessian + lambda)
        let b = self.bins.maxBinCount
        let minLeaf = Double(self.minSamplesLeaf)
        let total = Double(rows)
        let minHessian = Self.minHessian
        var bestGain = 0.0
        var best: (feature: Int, left: Int, right: Int, gradient: Double, hessian: Double)?
        self.binCounts.withUnsafeBufferPointer { counts in
            for f in 0..<self.bins.columns {
                let base = hp + f * b * 4
                // Candidate bin: bins ≤ it go left. The first best of this feature's, if it beats
                // the best so far (empty bins repeat the previous candidate, which the strict
                // comparison keeps, so the chosen bin is a nonempty one).
                var featureGain = bestGain
                let leftBin = CModelwireKernels_histogramBestBin(
                    1,
                    base,
                    counts[f] - 1,
                    node.gradient,
                    node.hessian,
                    total,
                    lambda,
                    minLeaf,
                    minHessian,
                    parentLoss,
                    &featureGain,
                    self.pool.prefix
                )
                if leftBin >= 0 {
                    var rightBin = leftBin + 1
                    while base[rightBin * 4 + 2] == 0 { rightBin += 1 }
                    bestGain = featureGain
                    // The left sums again, in the same order (cheaper than carrying them in the loop).
                    var (leftGradient, leftHessian) = (0.0, 0.0)
                    for bin in 0...leftBin {
                        leftGradient += base[bin * 4]
                        leftHessian += base[bin * 4 + 1]
                    }
                    best = (f, leftBin, rightBin, leftGradient, leftHessian)
                }
            }
        }
        guard let best else { return nil }
        return Split(
            feature: best.feature,
            leftBin: best.left,
            threshold: self.bins.threshold(feature: best.feature, left: best.left, right: best.right),
            gain: bestGain,
            gradientLeft: best.gradient,
            hessianLeft: best.hessian
        )
    }

    /// Whether a node might split (the checks `bestSplit` makes before it reads a histogram).
    private func mayHaveSplit(rows: Int, depth: Int, hessian: Double) -> Bool {
        if let maxDepth = self.maxDepth, depth >= maxDepth { return false }
        return rows >= 2 * self.minSamplesLeaf && hessian >= Self.minHessian
    }
}

/// Histogram buffers of a grower, handed out by slot and reused once given back (and all of them
/// by the next tree), with the scratch of a histogram build.
private final class HistogramPool {
    let size: Int
    /// Scratch of a histogram build: the rows' (g, h, 1, 0) in row order, and their bin words;
    /// of a split search: prefix sums over one feature's bins.
    let quads: UnsafeMutablePointer<Double>
    let words: UnsafeMutableRawPointer
    let prefix: UnsafeMutablePointer<Double>
    private var buffers = [UnsafeMutablePointer<Double>]()
    private var free = [Int]()

    init(size: Int, rows: Int, bins: Int) {
        self.size = size
        self.prefix = .allocate(capacity: 3 * max(bins, 1))
        self.quads = .allocate(capacity: 4 * max(rows, 1))
        for i in 0..<max(rows, 1) {
            self.quads[4 * i] = 0
            self.quads[4 * i + 1] = 0
            self.quads[4 * i + 2] = 1
            self.quads[4 * i + 3] = 0
        }
        self.words = .allocate(byteCount: 8 * max(rows, 1), alignment: 8)
    }

    func take() -> Int {
        if let slot = self.free.popLast() { return slot }
        self.buffers.append(.allocate(capacity: self.size))
        return self.buffers.count - 1
    }

    func giveBack(_ slot: Int) { self.free.append(slot) }

    func buffer(_ slot: Int) -> UnsafeMutablePointer<Double> { self.buffers[slot] }

    /// Every buffer free again, for the next tree.
    func reset() { self.free = Array(self.buffers.indices.reversed()) }

    deinit {
        for buffer in self.buffers { buffer.deallocate() }
        self.quads.deallocate()
        self.words.deallocate()
        self.prefix.deallocate()
    }
}
