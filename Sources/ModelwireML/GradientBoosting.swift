import Foundation
import ModelwireData

/// Histogram gradient-boosted trees (see `GradientBoostingSpec`), as scikit-learn's
/// `HistGradientBoostingClassifier/Regressor`: squared error for regression, binary log loss
/// for two classes, multinomial log loss (one tree per class and iteration) for more. Raw
/// scores start at the loss's best constant; early stopping watches the loss on a seeded
/// held-out share of the training rows and keeps every iteration run, as scikit-learn does.
public struct GradientBoosting: Model {
    /// The fitted ensemble.
    public private(set) var boosted: GradientBoostingParameters
    private let spec: GradientBoostingSpec

    /// An unfitted ensemble.
    /// - Parameters:
    ///   - spec: Iterations, shrinkage, tree limits, early stopping.
    ///   - task: Classification or regression.
    ///   - classes: The class count (ignored for regression).
    /// - Throws: `TrainingError.invalidArgument` naming a bad parameter.
    public init(spec: GradientBoostingSpec, task: ModelSnapshot.Task, classes: Int) throws(TrainingError) {
        func fail(_ message: String) -> TrainingError { TrainingError(.invalidArgument, message) }
        guard spec.iterations >= 1, spec.iterations <= 100_000 else {
            throw fail("iterations must be in 1...100000, got \(spec.iterations)")
        }
        guard spec.learningRate > 0, spec.learningRate <= 10 else {
            throw fail("learningRate must be in (0, 10], got \(spec.learningRate)")
        }
        if let leaves = spec.maxLeafNodes, leaves < 2 { throw fail("maxLeafNodes must be ≥ 2, got \(leaves)") }
        if let depth = spec.maxDepth, depth < 1 { throw fail("maxDepth must be ≥ 1, got \(depth)") }
        guard spec.minSamplesLeaf >= 1 else { throw fail("minSamplesLeaf must be ≥ 1, got \(spec.minSamplesLeaf)") }
        guard spec.l2 >= 0, spec.l2.isFinite else { throw fail("l2 must be ≥ 0 and finite, got \(spec.l2)") }
        guard spec.maxBins >= 2, spec.maxBins <= 65535 else {
            throw fail("maxBins must be in 2...65535, got \(spec.maxBins)")
        }
        guard spec.validationFraction > 0, spec.validationFraction < 1 else {
            throw fail("validationFraction must be in (0, 1), got \(spec.validationFraction)")
        }
        guard spec.iterationsWithoutChange >= 1 else {
            throw fail("iterationsWithoutChange must be ≥ 1, got \(spec.iterationsWithoutChange)")
        }
        guard spec.tolerance >= 0, spec.tolerance.isFinite else {
            throw fail("tolerance must be ≥ 0, got \(spec.tolerance)")
        }
        self.spec = spec
        let loss: GradientBoostingParameters.Loss =
            task == .regression ? .squaredError : classes == 2 ? .logLoss : .multinomial
        let outputs = loss == .multinomial ? classes : 1
        self.boosted = GradientBoostingParameters(
            loss: loss,
            outputs: outputs,
            baseline: Array(repeating: 0, count: outputs),
            trees: []
        )
    }

    /// Rebuilds an ensemble from snapshot parameters.
    /// - Parameter parameters: Loss, baseline and trees.
    public init(parameters: GradientBoostingParameters) {
        self.boosted = parameters
        self.spec = GradientBoostingSpec()
    }

    /// Boosts (see `Model.fit`); one progress event per iteration, cancellation checked before each.
    public mutating func fit(
        _ training: Dataset,
        validation: Dataset?,
        options: TrainingOptions,
        callbacks: TrainingCallbacks
    ) throws(TrainingError) -> TrainingSummary {
        let start = ContinuousClock.now
        let stopEarly = self.spec.earlyStopping == .on || (self.spec.earlyStopping == .auto && training.rows > 10_000)
        var fitRows = training
        var held: Dataset?
        if stopEarly {
            let (fit, heldOut) = training.stratifiedHoldOut(
                fraction: self.spec.validationFraction,
                seed: options.seed &+ 5
            )
            guard !heldOut.isEmpty, !fit.isEmpty else {
                throw TrainingError(.invalidArgument, "validationFraction leaves no rows to stop early on or to fit")
            }
            fitRows = training.subset(fit)
            held = training.subset(heldOut)
        }
        let loss = self.boosted.loss
        let k = self.boosted.outputs
        let n = fitRows.rows
        let bins = FeatureBins(
            features: fitRows.features,
            rows: n,
            columns: fitRows.columns,
            maxBins: self.spec.maxBins
        )
        let targets =
            loss == .squaredError ? fitRows.targetValues.map { Double($0) } : fitRows.classIDs.map { Double($0) }
        let baseline = Self.baseline(loss, targets: targets, outputs: k)
        var raw = [Double](repeating: 0, count: n * k)
        for r in 0..<n { for c in 0..<k { raw[r * k + c] = baseline[c] } }
        var heldRaw = [Double](repeating: 0, count: (held?.rows ?? 0) * k)
        for r in 0..<(held?.rows ?? 0) { for c in 0..<k { heldRaw[r * k + c] = baseline[c] } }
        let heldTargets = held.map {
            loss == .squaredError ? $0.targetValues.map { Double($0) } : $0.classIDs.map { Double($0) }
        }
        var scores = heldTargets.map { [-Self.meanLoss(loss, raw: heldRaw, targets: $0, outputs: k)] } ?? []
        let grower = GradientTreeGrower(
            bins: bins,
            maxLeafNodes: self.spec.maxLeafNodes,
            maxDepth: self.spec.maxDepth,
            minSamplesLeaf: self.spec.minSamplesLeaf,
            l2: self.spec.l2,
            learningRate: self.spec.learningRate
        )
        var trees = [TreeParameters]()
        var gradients = [[Float]](repeating: [Float](repeating: 0, count: n), count: k)
        var hessians = [[Float]](repeating: [Float](repeating: 1, count: n), count: k)
        var iterations = 0
        var earlyStopped = false
        var p = [Double](repeating: 0, count: k)
        for iteration in 1...self.spec.iterations {
            if callbacks.isCancelled() {
                throw TrainingError(.cancelled, "training cancelled after \(iterations) iterations")
            }
            for r in 0..<n {
                switch loss {
                case .squaredError:
                    gradients[0][r] = Float(raw[r] - targets[r])
                case .logLoss:
                    let q = 1 / (1 + exp(-raw[r]))
                    gradients[0][r] = Float(q - targets[r])
                    hessians[0][r] = Float(q * (1 - q))
                case .multinomial:
                    Self.softmax(raw, row: r, outputs: k, into: &p)
                    let y = Int(targets[r])
                    for c in 0..<k {
                        gradients[c][r] = Float(p[c] - (c == y ? 1 : 0))
                        hessians[c][r] = Float(p[c] * (1 - p[c]))
                    }
                }
            }
            for c in 0..<k {
                let grown = grower.grow(gradients: gradients[c], hessians: hessians[c])
                for (node, rows) in grown.leafRows {
                    let v = Double(grown.tree.value[node])
                    for r in rows { raw[Int(r) * k + c] += v }
                }
                if let held {
                    for r in 0..<held.rows {
                        let leaf = grown.tree.leaf(of: held.features[r * held.columns..<(r + 1) * held.columns])
                        heldRaw[r * k + c] += Double(grown.tree.value[leaf])
                    }
                }
                trees.append(grown.tree)
            }
            iterations = iteration
            let trainingLoss = Self.meanLoss(loss, raw: raw, targets: targets, outputs: k)
            callbacks.progress(
                TrainingProgress(
                    kind: .epochEnd,
                    epoch: iteration,
                    epochs: self.spec.iterations,
                    batch: 1,
                    batchesPerEpoch: 1,
                    loss: Float(trainingLoss),
                    accuracy: nil,
                    validationLoss: nil,
                    validationAccuracy: nil,
                    samplesPerSecond: Double(n * iteration) / max(seconds(since: start), 1e-9),
                    estimatedSecondsRemaining: 0
                )
            )
            if let heldTargets {
                scores.append(-Self.meanLoss(loss, raw: heldRaw, targets: heldTargets, outputs: k))
                if Self.shouldStop(scores, patience: self.spec.iterationsWithoutChange, tolerance: self.spec.tolerance)
                {
                    earlyStopped = iteration < self.spec.iterations
                    break
                }
            }
        }
        self.boosted = GradientBoostingParameters(
            loss: loss,
            outputs: k,
            baseline: baseline.map { Float($0) },
            trees: trees
        )
        return TreeFitting.finish(
            self,
            training: training,
            validation: validation,
            regression: loss == .squaredError,
            rounds: iterations,
            finalLoss: Float(Self.meanLoss(loss, raw: raw, targets: targets, outputs: k)),
            earlyStopped: earlyStopped,
            start: start,
            callbacks: callbacks
        )
    }

    /// scikit-learn's `_should_stop`: none of the last `patience` scores beats the one before
    /// them by more than `tolerance`.
    static func shouldStop(_ scores: [Double], patience: Int, tolerance: Double) -> Bool {
        guard scores.count > patience else { return false }
        let reference = scores[scores.count - patience - 1] + tolerance
        return !scores.suffix(patience).contains { $0 > reference }
    }

    /// The best constant raw score: the mean, the log-odds, or centred log class shares.
    static func baseline(_ loss: GradientBoostingParameters.Loss, targets: [Double], outputs: Int) -> [Double] {
        let n = Double(max(targets.count, 1))
        switch loss {
        case .squaredError:
            return [targets.reduce(0, +) / n]
        case .logLoss:
            let q = min(max(targets.reduce(0, +) / n, 1e-15), 1 - 1e-15)
            return [log(q / (1 - q))]
        case .multinomial:
            var counts = [Double](repeating: 0, count: outputs)
            for y in targets { counts[Int(y)] += 1 }
            let logs = counts.map { log(min(max($0 / n, 1e-15), 1 - 1e-15)) }
            let mean = logs.reduce(0, +) / Double(outputs)
            return logs.map { $0 - mean }
        }
    }

    /// The mean loss: ½(y − ŷ)², or the log loss.
    static func meanLoss(
        _ loss: GradientBoostingParameters.Loss,
        raw: [Double],
        targets: [Double],
        outputs: Int
    ) -> Double {
        var total = 0.0
        for r in targets.indices {
            switch loss {
            case .squaredError:
                total += 0.5 * (raw[r] - targets[r]) * (raw[r] - targets[r])
            case .logLoss:
                let s = raw[r]
                total += (s > 0 ? s + log1p(exp(-s)) : log1p(exp(s))) - targets[r] * s
            case .multinomial:
                var top = -Double.infinity
                for c in 0..<outputs { top = max(top, raw[r * outputs + c]) }
                var sum = 0.0
                for c in 0..<outputs { sum += exp(raw[r * outputs + c] - top) }
                total += top + log(sum) - raw[r * outputs + Int(targets[r])]
            }
        }
        return total / Double(max(targets.count, 1))
    }

    private static func softmax(_ raw: [Double], row r: Int, outputs k: Int, into p: inout [Double]) {
        var top = -Double.infinity
        for c in 0..<k { top = max(top, raw[r * k + c]) }
        var sum = 0.0
        for c in 0..<k {
            p[c] = exp(raw[r * k + c] - top)
            sum += p[c]
        }
        for c in 0..<k { p[c] /= sum }
    }

    /// Outputs for rows (see `Model.outputs`): regression values, P(class 1), or class probabilities.
    public func outputs(_ rows: Matrix, threads: Int) -> Matrix {
        let b = self.boosted
        let k = b.outputs
        var raw = [Double](repeating: 0, count: rows.rows * k)
        for r in 0..<rows.rows {
            let row = rows.values[r * rows.columns..<(r + 1) * rows.columns]
            for c in 0..<k { raw[r * k + c] = Double(b.baseline[c]) }
            for (t, tree) in b.trees.enumerated() { raw[r * k + t % k] += Double(tree.value[tree.leaf(of: row)]) }
        }
        var p = [Double](repeating: 0, count: k)
        var out = Matrix(rows: rows.rows, columns: k)
        for r in 0..<rows.rows {
            switch b.loss {
            case .squaredError: out.values[r] = Float(raw[r])
            case .logLoss: out.values[r] = Float(1 / (1 + exp(-raw[r])))
            case .multinomial:
                Self.softmax(raw, row: r, outputs: k, into: &p)
                for c in 0..<k { out.values[r * k + c] = Float(p[c]) }
            }
        }
        return out
    }

    /// Whether `outputs` are class probabilities.
    public var producesProbabilities: Bool { self.boosted.loss != .squaredError }

    /// The learned parameters, as stored in a snapshot.
    public var parameters: ModelSnapshot.Parameters { .gbdt(self.boosted) }
}
