/// How per-prediction attributions are computed (`TrainedModel.explain`).
public enum ExplanationMethod: String, Sendable, Hashable, CaseIterable {
    /// Integrated gradients of a dense net's class probability (regression: its value) along the
    /// straight path from the baseline to the row, trapezoid rule.
    case integratedGradients = "ig"
    /// Exact `w · (x − baseline)` contributions to a linear model's class score.
    case linear
    /// Exact path-dependent TreeSHAP (Lundberg et al. 2020, algorithm 2) of a tree, a forest or
    /// gradient-boosted trees, from the training weight stored at each node.
    case treeShap = "treeshap"
}

/// The attributions of one row: `Σ attributions ≈ value − baselineValue`.
public struct RowAttribution: Sendable, Equatable {
    /// The class explained (nil for regression).
    public var classId: Int?
    /// One per input feature, in the model's feature order.
    public var attributions: [Float]
    /// f(x): what is explained, at the row.
    public var value: Float
    /// f(baseline) (TreeSHAP: E[f], the training-weighted expectation over the trees' leaves).
    public var baselineValue: Float
    /// |Σ attributions − (value − baselineValue)|: the quadrature error of integrated gradients,
    /// float rounding for the exact methods.
    public var completenessError: Float
    /// The integrated-gradient steps the row took (nil for the exact methods).
    public var steps: Int?

    /// Creates a row's attributions; the completeness error is computed from them.
    public init(classId: Int?, attributions: [Float], value: Float, baselineValue: Float, steps: Int? = nil) {
        self.classId = classId
        self.attributions = attributions
        self.value = value
        self.baselineValue = baselineValue
        self.steps = steps
        let sum = attributions.reduce(0.0) { $0 + Double($1) }
        self.completenessError = Float(abs(sum - (Double(value) - Double(baselineValue))))
    }
}

/// Attributions of some rows, with what they explain.
public struct Explanation: Sendable, Equatable {
    /// The method used.
    public var method: ExplanationMethod
    /// What f is: "probability", "logit", "decision score", "value" or "raw score".
    public var output: String
    /// The baseline row in raw feature units (integrated gradients and linear), empty for TreeSHAP.
    public var baseline: [Float]
    /// Per explained row, in the order given.
    public var rows: [RowAttribution]
}

extension TrainedModel {
    /// Integrated gradients' default path steps.
    public static let defaultExplanationSteps = 64
    /// Most integrated-gradient steps one explanation may take.
    public static let maxExplanationSteps = 4096

    /// The method `explain` uses when none is asked for: the family's own, or nil for int8 models.
    public var defaultExplanationMethod: ExplanationMethod? {
        switch self.snapshot.parameters {
        case .dense: .integratedGradients
        case .linear: .linear
        case .tree, .forest, .gbdt: .treeShap
        case .quantizedDense, .quantizedLinear: nil
        }
    }

    /// Per-row feature attributions.
    ///
    /// The baseline of integrated gradients and of linear contributions is the training mean of each
    /// feature: `snapshot.featureMeans`, stored at training time; for snapshots without it (older
    /// files, imports) the standardisation's mean, which is the same training mean, else the zero
    /// row (reported in `Explanation.baseline`). Int8 models are refused: explain the float version
    /// they came from.
    /// - Parameters:
    ///   - rows: rows × featureCount raw features, row-major.
    ///   - method: The method, nil for the family's own.
    ///   - targetClass: The class to explain for every row, nil for each row's predicted class.
    ///   - steps: Integrated gradients' path steps (1...`maxExplanationSteps`); a row that misses the
    ///     completeness tolerance is integrated again with twice the steps, up to the maximum.
    /// - Throws: `TrainingError.invalidArgument` for a method the family does not have, a class or
    ///   a step count out of range, trees without node weights, or an int8 model.
    public func explain(
        _ rows: [Float],
        method: ExplanationMethod? = nil,
        targetClass: Int? = nil,
        steps: Int = TrainedModel.defaultExplanationSteps
    ) throws(TrainingError) -> Explanation {
        let columns = self.featureCount
        guard rows.count % columns == 0 else {
            throw TrainingError(.invalidArgument, "rows must hold \(columns) features each")
        }
        let classCount = self.snapshot.classNames.count
        if let targetClass, self.snapshot.task == .regression || !(0..<classCount).contains(targetClass) {
            throw TrainingError(.invalidArgument, "target class \(targetClass) is not a class of this model")
        }
        guard let own = self.defaultExplanationMethod else {
            throw TrainingError(
                .invalidArgument,
                "an int8 quantized model is not explained (its integer math has no gradients): "
                    + "explain the float version it was quantized from"
            )
        }
        let chosen = method ?? own
        guard chosen == own else {
            throw TrainingError(
                .invalidArgument,
                "method \(chosen.rawValue) does not apply to this model (a \(self.familyName)): use \(own.rawValue)"
            )
        }
        let count = rows.count / columns
        let classes: [Int?] =
            self.snapshot.task == .regression
            ? Array(repeating: nil, count: count)
            : targetClass.map { Array(repeating: $0, count: count) } ?? self.predictClasses(rows)
        let standardization = self.snapshot.standardization
        let network = standardization?.apply(rows) ?? rows
        let baseline =
            self.snapshot.featureMeans.count == columns
            ? self.snapshot.featureMeans : standardization?.mean ?? Array(repeating: 0, count: columns)
        // The baseline as the net sees it (the zero row when it is the standardisation's mean).
        let origin = standardization?.apply(baseline) ?? baseline
        switch self.snapshot.parameters {
        case .dense(let p):
            guard (1...Self.maxExplanationSteps).contains(steps) else {
                throw TrainingError(.invalidArgument, "steps must be in 1...\(Self.maxExplanationSteps), got \(steps)")
            }
            let ig = IntegratedGradients(parameters: p, steps: steps, maxSteps: Self.maxExplanationSteps)
            let explained = (0..<count).map { r in
                ig.explain(Array(network[r * columns..<(r + 1) * columns]), from: origin, classId: classes[r])
            }
            return Explanation(
                method: .integratedGradients,
                output: self.snapshot.task == .regression ? "value" : "probability",
                baseline: baseline,
                rows: explained
            )
        case .linear(let p):
            let explained = (0..<count).map { r in
                LinearAttribution.explain(
                    p,
                    Array(network[r * columns..<(r + 1) * columns]),
                    from: origin,
                    classId: classes[r]
                )
            }
            return Explanation(
                method: .linear,
                output: p.kind == .logistic ? "logit" : "decision score",
                baseline: baseline,
                rows: explained
            )
        case .tree(let p):
            return try TreeSHAP.explain(trees: [p], network, columns: columns, classes: classes, output: .mean)
        case .forest(let p):
            return try TreeSHAP.explain(trees: p.trees, network, columns: columns, classes: classes, output: .mean)
        case .gbdt(let p):
            return try TreeSHAP.explain(
                trees: p.trees,
                network,
                columns: columns,
                classes: classes,
                output: .boosted(p)
            )
        case .quantizedDense, .quantizedLinear:
            preconditionFailure("refused above")
        }
    }

    private var familyName: String {
        switch self.snapshot.parameters {
        case .dense: "dense net"
        case .linear(let p): p.kind == .logistic ? "logistic regression" : "linear SVM"
        case .tree: "decision tree"
        case .forest: "random forest"
        case .gbdt: "gradient-boosted trees"
        case .quantizedDense, .quantizedLinear: "int8 model"
        }
    }
}
