/// Grows one gradient-boosting regression tree leaf-wise on binned features, as scikit-learn's
/// `TreeGrower`: the splittable leaf with the largest gain is split next until `maxLeafNodes`
/// leaves; gain = G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ), each child keeping at least
/// `minSamplesLeaf` rows and a hessian sum of 1e-3; leaf value −rate·G/(H + λ).
///
/// Every node keeps a histogram of (Σg, Σh, rows) per feature and bin; a split builds the
/// smaller child's from its rows and the larger one's by subtraction from the parent's.
struct GradientTreeGrower {
    let bins: FeatureBins
    let maxLeafNodes: Int?
    let maxDepth: Int?
    let minSamplesLeaf: Int
    let l2: Double
    let learningRate: Double

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
        var histogram: [Double]
        var split: Split?
    }

    private static let minHessian = 1e-3

    /// Grows a tree on every binned row for per-row gradients and hessians.
    func grow(gradients: [Float], hessians: [Float]) -> Result {
        var rowIndex = (0..<self.bins.rows).map { Int32($0) }
        var scratch = rowIndex
        var feature = [Int32]()
        var threshold = [Float]()
        var left = [Int32]()
        var right = [Int32]()
        var value = [Float]()
        var weight = [Float]()
        func newNode(_ start: Int, _ end: Int, depth: Int, histogram: [Double]) -> Node {
            var g = 0.0
            var h = 0.0
            // Totals from feature 0's histogram (every row is in exactly one of its bins).
            for b in 0..<self.bins.upper[0].count {
                g += histogram[b * 3]
                h += histogram[b * 3 + 1]
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
            node.split = self.bestSplit(node)
            return node
        }
        let rootHistogram = self.histogram(rowIndex[...], gradients: gradients, hessians: hessians)
        var frontier = [newNode(0, rowIndex.count, depth: 0, histogram: rootHistogram)]
        var leafCount = 1
        while true {
            var pick = -1
            for (i, node) in frontier.enumerated() {
                if let split = node.split, pick < 0 || split.gain > frontier[pick].split!.gain { pick = i }
            }
            guard pick >= 0, self.maxLeafNodes.map({ leafCount < $0 }) ?? true else { break }
            var node = frontier.remove(at: pick)
            let split = node.split!
            // Stable partition of the node's rows: left (bin ≤ leftBin) first.
            var mid = node.start
            var r = 0
            let column = split.feature * self.bins.rows
            for i in node.start..<node.end {
                let row = rowIndex[i]
                if Int(self.bins.bins[column + Int(row)]) <= split.leftBin {
                    rowIndex[mid] = row
                    mid += 1
                } else {
                    scratch[r] = row
                    r += 1
                }
            }
            for i in 0..<r { rowIndex[mid + i] = scratch[i] }
            let leftIsSmaller = mid - node.start <= node.end - mid
            let small = self.histogram(
                leftIsSmaller ? rowIndex[node.start..<mid] : rowIndex[mid..<node.end],
                gradients: gradients,
                hessians: hessians
            )
            var large = node.histogram
            node.histogram = []
            for i in large.indices { large[i] -= small[i] }
            let (lh, rh) = leftIsSmaller ? (small, large) : (large, small)
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

    /// (Σg, Σh, rows) per feature and bin: features × maxBinCount × 3. The node's gradients and
    /// hessians are gathered into row order once, so each feature's pass reads them in sequence.
    private func histogram(_ rows: ArraySlice<Int32>, gradients: [Float], hessians: [Float]) -> [Double] {
        let b = self.bins.maxBinCount
        let n = self.bins.rows
        let count = rows.count
        var h = [Double](repeating: 0, count: self.bins.columns * b * 3)
        var ordered = [Float](repeating: 0, count: 2 * count)
        rows.withUnsafeBufferPointer { rp in
            for i in 0..<count {
                let r = Int(rp[i])
                ordered[2 * i] = gradients[r]
                ordered[2 * i + 1] = hessians[r]
            }
        }
        h.withUnsafeMutableBufferPointer { hp in
            self.bins.bins.withUnsafeBufferPointer { bp in
                ordered.withUnsafeBufferPointer { op in
                    rows.withUnsafeBufferPointer { rp in
                        // The root holds every row in order: read its bins without the index.
                        let inOrder = count == n
                        for f in 0..<self.bins.columns {
                            let column = bp.baseAddress! + f * n
                            let base = hp.baseAddress! + f * b * 3
                            for i in 0..<count {
                                let bin = Int(column[inOrder ? i : Int(rp[i])])
                                let cell = base + bin * 3
                                cell[0] += Double(op[2 * i])
                                cell[1] += Double(op[2 * i + 1])
                                cell[2] += 1
                            }
                        }
                    }
                }
            }
        }
        return h
    }

    /// The best split of a node over all features (first best wins ties), or nil.
    private func bestSplit(_ node: Node) -> Split? {
        let rows = node.end - node.start
        if let maxDepth = self.maxDepth, node.depth >= maxDepth { return nil }
        guard rows >= 2 * self.minSamplesLeaf, node.hessian >= Self.minHessian else { return nil }
        let lambda = self.l2
        let parentLoss = node.gradient * node.gradient / (node.hessian + lambda)
        let b = self.bins.maxBinCount
        var best: Split?
        node.histogram.withUnsafeBufferPointer { hp in
            for f in 0..<self.bins.columns {
                let base = hp.baseAddress! + f * b * 3
                var gl = 0.0
                var hl = 0.0
                var nl = 0.0
                var previous = -1
                for bin in 0..<self.bins.upper[f].count where base[bin * 3 + 2] > 0 {
                    if previous >= 0 {
                        let nr = Double(rows) - nl
                        let gr = node.gradient - gl
                        let hr = node.hessian - hl
                        if nl >= Double(self.minSamplesLeaf), nr >= Double(self.minSamplesLeaf),
                            hl >= Self.minHessian, hr >= Self.minHessian
                        {
                            let gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parentLoss
                            if gain > 0, best == nil || gain > best!.gain {
                                best = Split(
                                    feature: f,
                                    leftBin: previous,
                                    threshold: self.bins.threshold(feature: f, left: previous, right: bin),
                                    gain: gain
                                )
                            }
                        }
                    }
                    gl += base[bin * 3]
                    hl += base[bin * 3 + 1]
                    nl += base[bin * 3 + 2]
                    previous = bin
                }
            }
        }
        return best
    }
}
