/// Grows one gradient-boosting regression tree leaf-wise on binned features, as scikit-learn's
/// `TreeGrower`: the splittable leaf with the largest gain is split next until `maxLeafNodes`
/// leaves; gain = G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ), each child keeping at least
/// `minSamplesLeaf` rows and a hessian sum of 1e-3; leaf value −rate·G/(H + λ).
///
/// Every node keeps a histogram of (Σg, Σh, rows) per feature and bin; a split builds the
/// smaller child's from its rows and the larger one's by subtraction from the parent's.
/// A histogram holds (Σg, Σh) pairs for every feature and bin, then the row counts in the same
/// order (16-byte cells the kernel updates with one vector add, never split across cache lines).
/// Histograms live in buffers reused from node to node (a leaf that cannot split gives its
/// buffer back at once, a split parent's becomes its larger child's), and bins are read as
/// bytes when every feature has at most 256 of them.
struct GradientTreeGrower {
    let bins: FeatureBins
    let maxLeafNodes: Int?
    let maxDepth: Int?
    let minSamplesLeaf: Int
    let l2: Double
    let learningRate: Double
    /// Feature-major bin ids as bytes (when `bins.maxBinCount` ≤ 256), else empty.
    private let narrowBins: [UInt8]
    /// Bins per feature.
    private let binCounts: [Int]

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
        self.narrowBins = bins.maxBinCount <= 256 ? bins.bins.map { UInt8(truncatingIfNeeded: $0) } : []
        self.binCounts = bins.upper.map(\.count)
    }

    /// A grown tree and, per leaf, the rows (indices into the binned rows) that reached it.
    struct Result {
        var tree: TreeParameters
        var leafRows: [(node: Int, rows: ArraySlice<Int32>)]
    }

    private struct Split {
        var feature: Int, leftBin: Int, threshold: Float, gain: Double
    }

    private struct Node {
        var index: Int, start: Int, end: Int, depth: Int
        var gradient: Double, hessian: Double
        /// The node's histogram buffer in the pool, or -1 once given back.
        var histogram: Int
        var split: Split?
    }

    private static let minHessian = 1e-3

    /// Grows a tree on every binned row for per-row gradients and hessians.
    func grow(gradients: [Float], hessians: [Float]) -> Result {
        let pool = HistogramPool(size: self.bins.columns * self.bins.maxBinCount * 3)
        defer { pool.release() }
        var rowIndex = (0..<self.bins.rows).map { Int32($0) }
        var scratch = rowIndex
        var feature = [Int32]()
        var threshold = [Float]()
        var left = [Int32]()
        var right = [Int32]()
        var value = [Float]()
        var weight = [Float]()
        func newNode(_ start: Int, _ end: Int, depth: Int, histogram: Int) -> Node {
            var g = 0.0
            var h = 0.0
            // Totals from feature 0's histogram (every row is in exactly one of its bins).
            let base = pool.buffer(histogram)
            for b in 0..<self.binCounts[0] {
                g += base[b * 2]
                h += base[b * 2 + 1]
            }
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
            node.split = self.bestSplit(node, histogram: UnsafePointer(base))
            if node.split == nil {
                pool.giveBack(histogram)
                node.histogram = -1
            }
            return node
        }
        let root = pool.take()
        rowIndex.withUnsafeBufferPointer {
            self.histogram($0[...], gradients: gradients, hessians: hessians, into: pool.buffer(root))
        }
        var frontier = [newNode(0, rowIndex.count, depth: 0, histogram: root)]
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
            let leftIsSmaller = mid - node.start <= node.end - mid
            let smallSlot = pool.take()
            let small = pool.buffer(smallSlot)
            rowIndex.withUnsafeBufferPointer { rp in
                self.histogram(
                    leftIsSmaller ? rp[node.start..<mid] : rp[mid..<node.end],
                    gradients: gradients,
                    hessians: hessians,
                    into: small
                )
            }
            // The parent's buffer becomes the larger child's.
            let large = pool.buffer(node.histogram)
            for i in 0..<pool.size { large[i] -= small[i] }
            let (lh, rh) = leftIsSmaller ? (smallSlot, node.histogram) : (node.histogram, smallSlot)
            feature[node.index] = Int32(split.feature)
            threshold[node.index] = split.threshold
            left[node.index] = Int32(feature.count)
            let leftChild = newNode(node.start, mid, depth: node.depth + 1, histogram: lh)
            right[node.index] = Int32(feature.count)
            let rightChild = newNode(mid, node.end, depth: node.depth + 1, histogram: rh)
            frontier += [leftChild, rightChild]
            leafCount += 1
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

    /// Fills `h` (zeroed here) with (Σg, Σh) per feature and bin (features × maxBinCount × 2), then
    /// the rows per feature and bin (features × maxBinCount).
    /// The node's gradients and hessians are gathered into row order once, so each feature's
    /// pass reads them in sequence.
    private func histogram(
        _ rows: Slice<UnsafeBufferPointer<Int32>>,
        gradients: [Float],
        hessians: [Float],
        into h: UnsafeMutablePointer<Double>
    ) {
        let b = self.bins.maxBinCount
        let n = self.bins.rows
        let count = rows.count
        h.update(repeating: 0, count: self.bins.columns * b * 3)
        let rp = UnsafeBufferPointer(rebasing: rows)
        // The root holds every row in order: read its bins without the index.
        let inOrder = count == n
        var ordered = [Double](repeating: 0, count: 2 * count)
        ordered.withUnsafeMutableBufferPointer { op in
            gradients.withUnsafeBufferPointer { gp in
                hessians.withUnsafeBufferPointer { hp in
                    for i in 0..<count {
                        let r = inOrder ? i : Int(rp[i])
                        op[2 * i] = Double(gp[r])
                        op[2 * i + 1] = Double(hp[r])
                    }
                }
            }
        }
        ordered.withUnsafeBufferPointer { op in
            let o = op.baseAddress!
            let index = rp.baseAddress!
            if !self.narrowBins.isEmpty {
                self.narrowBins.withUnsafeBufferPointer { bp in
                    Self.accumulate(
                        bp.baseAddress!,
                        rows: n,
                        columns: self.bins.columns,
                        bins: b,
                        index: inOrder ? nil : index,
                        count: count,
                        ordered: o,
                        into: h
                    )
                }
            } else {
                self.bins.bins.withUnsafeBufferPointer { bp in
                    Self.accumulate(
                        bp.baseAddress!,
                        rows: n,
                        columns: self.bins.columns,
                        bins: b,
                        index: inOrder ? nil : index,
                        count: count,
                        ordered: o,
                        into: h
                    )
                }
            }
        }
    }

    /// The histogram kernel: for each feature, every listed row's (g, h) and 1 added to its bin's cells.
    @inline(__always)
    private static func accumulate<Bin: FixedWidthInteger>(
        _ bins: UnsafePointer<Bin>,
        rows n: Int,
        columns: Int,
        bins b: Int,
        index: UnsafePointer<Int32>?,
        count: Int,
        ordered o: UnsafePointer<Double>,
        into h: UnsafeMutablePointer<Double>
    ) {
        let raw = UnsafeMutableRawPointer(h)
        let pairs = UnsafeRawPointer(o)
        let counts = h + columns * b * 2
        for f in 0..<columns {
            let column = bins + f * n
            let base = raw + f * b * 16
            let rowCounts = counts + f * b
            if let index {
                for i in 0..<count {
                    let bin = Int(column[Int(index[i])])
                    let cell = base + bin * 16
                    cell.storeBytes(
                        of: cell.load(as: SIMD2<Double>.self)
                            + pairs.load(fromByteOffset: i * 16, as: SIMD2<Double>.self),
                        as: SIMD2<Double>.self
                    )
                    rowCounts[bin] += 1
                }
            } else {
                for i in 0..<count {
                    let bin = Int(column[i])
                    let cell = base + bin * 16
                    cell.storeBytes(
                        of: cell.load(as: SIMD2<Double>.self)
                            + pairs.load(fromByteOffset: i * 16, as: SIMD2<Double>.self),
                        as: SIMD2<Double>.self
                    )
                    rowCounts[bin] += 1
                }
            }
        }
    }

    /// The best split of a node over all features (first best wins ties), or nil.
    private func bestSplit(_ node: Node, histogram hp: UnsafePointer<Double>) -> Split? {
        let rows = node.end - node.start
        if let maxDepth = self.maxDepth, node.depth >= maxDepth { return nil }
        guard rows >= 2 * self.minSamplesLeaf, node.hessian >= Self.minHessian else { return nil }
        let lambda = self.l2
        let parentLoss = node.gradient * node.gradient / (node.hessian + lambda)
        let b = self.bins.maxBinCount
        let minLeaf = Double(self.minSamplesLeaf)
        let total = Double(rows)
        let minHessian = Self.minHessian
        var bestGain = 0.0
        var best: (feature: Int, left: Int, right: Int)?
        self.binCounts.withUnsafeBufferPointer { counts in
            for f in 0..<self.bins.columns {
                let base = hp + f * b * 2
                let rowCounts = hp + self.bins.columns * b * 2 + f * b
                var gl = 0.0
                var hl = 0.0
                var nl = 0.0
                var featureGain = bestGain
                var leftBin = -1
                // Candidate: bins ≤ bin go left. Empty bins repeat the previous candidate, which
                // the strict comparison keeps, so leftBin ends as a nonempty bin; no branch on
                // emptiness in the loop.
                for bin in 0..<counts[f] - 1 {
                    let cell = base + bin * 2
                    gl += cell[0]
                    hl += cell[1]
                    nl += rowCounts[bin]
                    if nl < minLeaf || hl < minHessian { continue }
                    let nr = total - nl
                    let hr = node.hessian - hl
                    // Later candidates only have fewer rows and less hessian on the right.
                    if nr < minLeaf || hr < minHessian { break }
                    let gr = node.gradient - gl
                    let gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parentLoss
                    if gain > featureGain {
                        featureGain = gain
                        leftBin = bin
                    }
                }
                if leftBin >= 0 {
                    var rightBin = leftBin + 1
                    while rowCounts[rightBin] == 0 { rightBin += 1 }
                    bestGain = featureGain
                    best = (f, leftBin, rightBin)
                }
            }
        }
        guard let best else { return nil }
        return Split(
            feature: best.feature,
            leftBin: best.left,
            threshold: self.bins.threshold(feature: best.feature, left: best.left, right: best.right),
            gain: bestGain
        )
    }
}

/// Histogram buffers of one tree, handed out by slot and reused once given back.
private final class HistogramPool {
    let size: Int
    private var buffers = [UnsafeMutablePointer<Double>]()
    private var free = [Int]()

    init(size: Int) { self.size = size }

    func take() -> Int {
        if let slot = self.free.popLast() { return slot }
        self.buffers.append(.allocate(capacity: self.size))
        return self.buffers.count - 1
    }

    func giveBack(_ slot: Int) { self.free.append(slot) }

    func buffer(_ slot: Int) -> UnsafeMutablePointer<Double> { self.buffers[slot] }

    func release() {
        for buffer in self.buffers { buffer.deallocate() }
        self.buffers = []
    }
}
