import Foundation
import ModelwireData

/// A CART decision tree: binary splits `x[f] <= threshold` chosen greedily to minimise the
/// children's weighted impurity (gini or entropy for classes, mse for regression).
///
/// Splits are found on histograms of binned features (`HistogramTreeGrower`, `TreeSpec.maxBins`)
/// or, with `maxBins == nil`, by sorting each node's values. Thresholds are midpoints between
/// consecutive distinct training values, as in scikit-learn. Each node tries the features in a
/// random order drawn from the training seed (scikit-learn's splitter permutes them too) and the
/// first best split in that order wins ties, so growth is deterministic for a seed and a tie
/// between features does not always go to the lowest index. Leaves hold class fractions
/// (or the mean target); every node records the training rows that reached it.
public struct DecisionTree: Model {
    /// The grown tree.
    public private(set) var tree: TreeParameters
    private let spec: TreeSpec

    /// An unfitted tree (a single empty leaf).
    /// - Parameters:
    ///   - spec: Criterion and growth limits.
    ///   - task: Classification or regression.
    ///   - classes: The class count (ignored for regression).
    /// - Throws: `TrainingError.invalidArgument` for a criterion that does not fit the task.
    public init(spec: TreeSpec, task: ModelSnapshot.Task, classes: Int) throws(TrainingError) {
        let criterion = spec.criterion ?? (task == .classification ? .gini : .mse)
        guard (criterion == .mse) == (task == .regression) else {
            throw TrainingError(.invalidArgument, "criterion \(criterion) does not fit \(task)")
        }
        try spec.validate()
        self.spec = spec
        let outputs = task == .classification ? classes : 1
        self.tree = TreeParameters(
            criterion: criterion,
            outputs: outputs,
            feature: [-1],
            threshold: [0],
            left: [-1],
            right: [-1],
            value: Array(repeating: 0, count: outputs)
        )
    }

    /// Rebuilds a tree from snapshot parameters.
    /// - Parameter parameters: The node arrays.
    public init(parameters: TreeParameters) {
        self.tree = parameters
        self.spec = TreeSpec(criterion: parameters.criterion)
    }

    /// Grows the tree on the training rows (see `Model.fit`); one "epoch".
    public mutating func fit(
        _ training: Dataset,
        validation: Dataset?,
        options: TrainingOptions,
        callbacks: TrainingCallbacks
    ) throws(TrainingError) -> TrainingSummary {
        let start = ContinuousClock.now
        if let maxBins = self.spec.maxBins {
            let bins = FeatureBins(
                features: training.features,
                rows: training.rows,
                columns: training.columns,
                maxBins: maxBins
            )
            var grower = HistogramTreeGrower(
                bins: bins,
                criterion: self.tree.criterion,
                outputs: self.tree.outputs,
                spec: self.spec,
                maxFeatures: training.columns,
                classIDs: training.classIDs,
                targets: training.targetValues,
                generator: SeededGenerator(seed: options.seed),
                isCancelled: callbacks.isCancelled
            )
            self.tree = try grower.grow(rowWeights: Array(repeating: 1, count: training.rows))
        } else {
            var grower = Grower(
                data: training,
                criterion: self.tree.criterion,
                outputs: self.tree.outputs,
                spec: self.spec,
                generator: SeededGenerator(seed: options.seed),
                isCancelled: callbacks.isCancelled
            )
            try grower.grow(Array(0..<training.rows), depth: 0)
            self.tree = TreeParameters(
                criterion: self.tree.criterion,
                outputs: self.tree.outputs,
                feature: grower.feature,
                threshold: grower.threshold,
                left: grower.left,
                right: grower.right,
                value: grower.value,
                weight: grower.weight
            )
        }
        return TreeFitting.finish(
            self,
            training: training,
            validation: validation,
            regression: self.tree.criterion == .mse,
            rounds: 1,
            start: start,
            callbacks: callbacks
        )
    }

    /// Raw outputs for standardised rows (see `Model.outputs`).
    public func outputs(_ rows: Matrix, threads: Int) -> Matrix {
        let t = self.tree
        var out = Matrix(rows: rows.rows, columns: t.outputs)
        for r in 0..<rows.rows {
            let node = t.leaf(of: rows.values[r * rows.columns..<(r + 1) * rows.columns])
            for c in 0..<t.outputs { out.values[r * t.outputs + c] = t.value[node * t.outputs + c] }
        }
        return out
    }

    /// Whether `outputs` are class probabilities.
    public var producesProbabilities: Bool { self.tree.criterion != .mse }

    /// The learned parameters, as stored in a snapshot.
    public var parameters: ModelSnapshot.Parameters { .tree(self.tree) }
}

extension TreeParameters {
    /// The leaf a row (of the tree's inputs) falls into.
    @inline(__always)
    func leaf(of row: ArraySlice<Float>) -> Int {
        let base = row.startIndex
        var node = 0
        while self.feature[node] >= 0 {
            node = Int(row[base + Int(self.feature[node])] <= self.threshold[node] ? self.left[node] : self.right[node])
        }
        return node
    }
}

/// Grows the node arrays depth first (a node's index is assigned before its children's),
/// checking for cancellation before each node.
private struct Grower {
    let data: Dataset
    let criterion: TreeParameters.Criterion
    let outputs: Int
    let spec: TreeSpec
    let isCancelled: () -> Bool
    let ids: [Int]
    let values: [Float]
    var feature = [Int32](), threshold = [Float](), left = [Int32](), right = [Int32](), value = [Float]()
    var weight = [Float]()
    /// Draws each node's feature order, as `HistogramTreeGrower` does (same seed, same order).
    var generator: SeededGenerator
    var featureOrder: [Int]

    init(
        data: Dataset,
        criterion: TreeParameters.Criterion,
        outputs: Int,
        spec: TreeSpec,
        generator: SeededGenerator,
        isCancelled: @escaping () -> Bool
    ) {
        self.generator = generator
        self.featureOrder = Array(0..<data.columns)
        self.data = data
        self.criterion = criterion
        self.outputs = outputs
        self.spec = spec
        self.isCancelled = isCancelled
        self.ids = data.classIDs
        self.values = data.targetValues
    }

    /// Sufficient statistics of a set of rows: class counts, or (count, Σy, Σy²).
    struct Stats {
        var counts: [Double]
        var n: Double = 0
        var sum: Double = 0
        var squares: Double = 0
    }

    func emptyStats() -> Stats { Stats(counts: Array(repeating: 0, count: self.criterion == .mse ? 0 : self.outputs)) }

    func add(_ row: Int, to s: inout Stats) {
        s.n += 1
        if self.criterion == .mse {
            let y = Double(self.values[row])
            s.sum += y
            s.squares += y * y
        } else {
            s.counts[self.ids[row]] += 1
        }
    }

    /// Impurity × n (so children can be summed directly).
    func weightedImpurity(_ s: Stats) -> Double {
        guard s.n > 0 else { return 0 }
        switch self.criterion {
        case .gini:
            var sq = 0.0
            for c in s.counts { sq += c * c }
            return s.n - sq / s.n
        case .entropy:
            var h = 0.0
            for c in s.counts where c > 0 { h -= c * log2(c / s.n) }
            return h
        case .mse:
            return max(s.squares - s.sum * s.sum / s.n, 0)
        }
    }

    @discardableResult
    mutating func grow(_ rows: [Int], depth: Int) throws(TrainingError) -> Int32 {
        if self.isCancelled() {
            throw TrainingError(.cancelled, "training cancelled after growing \(self.feature.count) tree nodes")
        }
        var stats = self.emptyStats()
        for r in rows { self.add(r, to: &stats) }
        let node = Int32(self.feature.count)
        self.feature.append(-1)
        self.threshold.append(0)
        self.left.append(-1)
        self.right.append(-1)
        self.weight.append(Float(rows.count))
        if self.criterion == .mse {
            self.value.append(Float(stats.sum / max(stats.n, 1)))
        } else {
            self.value += stats.counts.map { Float($0 / max(stats.n, 1)) }
        }
        let n = rows.count
        let impurity = self.weightedImpurity(stats)
        if let maxDepth = self.spec.maxDepth, depth >= maxDepth { return node }
        if n < self.spec.minSamplesSplit || n < 2 * self.spec.minSamplesLeaf || impurity <= 1e-12 * Double(n) {
            return node
        }
        let columns = self.data.columns
        var best: (score: Double, feature: Int, threshold: Float)?
        var pairs = [(value: Float, row: Int)]()
        pairs.reserveCapacity(n)
        for position in 0..<columns {
            let j = position + Int(self.generator.next() % UInt64(columns - position))
            self.featureOrder.swapAt(position, j)
            let f = self.featureOrder[position]
            pairs.removeAll(keepingCapacity: true)
            for r in rows { pairs.append((self.data.features[r * columns + f], r)) }
            pairs.sort { $0.value < $1.value || ($0.value == $1.value && $0.row < $1.row) }
            guard pairs[0].value < pairs[n - 1].value else { continue }
            var leftStats = self.emptyStats()
            var rightStats = stats
            for i in 0..<n - 1 {
                self.add(pairs[i].row, to: &leftStats)
                self.remove(pairs[i].row, from: &rightStats)
                let nLeft = i + 1
                guard pairs[i].value < pairs[i + 1].value,
                    nLeft >= self.spec.minSamplesLeaf, n - nLeft >= self.spec.minSamplesLeaf
                else { continue }
                let score = self.weightedImpurity(leftStats) + self.weightedImpurity(rightStats)
                if best == nil || score < best!.score - 1e-12 {
                    var mid = pairs[i].value / 2 + pairs[i + 1].value / 2
                    if mid >= pairs[i + 1].value || mid < pairs[i].value { mid = pairs[i].value }
                    best = (score, f, mid)
                }
            }
        }
        guard let best else { return node }
        var leftRows = [Int]()
        var rightRows = [Int]()
        for r in rows {
            if self.data.features[r * columns + best.feature] <= best.threshold {
                leftRows.append(r)
            } else {
                rightRows.append(r)
            }
        }
        self.feature[Int(node)] = Int32(best.feature)
        self.threshold[Int(node)] = best.threshold
        let l = try self.grow(leftRows, depth: depth + 1)
        let r = try self.grow(rightRows, depth: depth + 1)
        self.left[Int(node)] = l
        self.right[Int(node)] = r
        return node
    }

    func remove(_ row: Int, from s: inout Stats) {
        s.n -= 1
        if self.criterion == .mse {
            let y = Double(self.values[row])
            s.sum -= y
            s.squares -= y * y
        } else {
            s.counts[self.ids[row]] -= 1
        }
    }
}
