import ModelwireData

/// A trained model ready to predict: a snapshot plus the live model built from it.
///
/// Inputs are raw feature rows, flat and row-major with `featureNames.count` values per row.
/// For dense and linear models the snapshot's standardisation is folded into the first
/// layer once, here (`W'[i][j] = W[i][j] / scale[i]`, `b'[j] = b[j] − Σ_i mean[i]·W'[i][j]`),
/// so predicting costs no extra pass over the input; the snapshot keeps the unfolded values.
public struct TrainedModel: Sendable {
    /// Everything needed to rebuild this model.
    public let snapshot: ModelSnapshot
    private let model: any Model
    /// The standardisation still to apply before `model` (nil when folded in or absent).
    private let inputStandardization: Standardization?

    /// Rebuilds a model from a snapshot (bit-exact: `TrainedModel(snapshot: s).snapshot == s`).
    /// - Parameter snapshot: A snapshot, e.g. decoded from a model file.
    /// - Throws: `TrainingError.invalidSnapshot` when its sizes do not fit together.
    public init(snapshot: ModelSnapshot) throws(TrainingError) {
        try Self.validate(snapshot)
        self.snapshot = snapshot
        let st = snapshot.standardization
        switch snapshot.parameters {
        case .dense(var p):
            if let st {
                (p.layers[0].weights, p.layers[0].biases) = st.folded(
                    into: p.layers[0].weights,
                    biases: p.layers[0].biases
                )
            }
            self.model = DenseNetModel(parameters: p)
            self.inputStandardization = nil
        case .linear(var p):
            if let st { (p.weights, p.biases) = st.folded(into: p.weights, biases: p.biases) }
            self.model = LinearModel(parameters: p)
            self.inputStandardization = nil
        case .tree(let p):
            self.model = DecisionTree(parameters: p)
            self.inputStandardization = st
        case .forest(let p):
            self.model = RandomForest(parameters: p)
            self.inputStandardization = st
        case .gbdt(let p):
            self.model = GradientBoosting(parameters: p)
            self.inputStandardization = st
        // Int8 layers see standardised rows (standardised while the first layer's input is
        // quantized): folding the scales in would widen each weight column's range by the
        // features' spread and cost precision (Quantization).
        case .quantizedDense(let p):
            self.model = QuantizedNetwork(parameters: p, standardization: st)
            self.inputStandardization = nil
        case .quantizedLinear(let p):
            self.model = QuantizedNetwork(parameters: p, standardization: st)
            self.inputStandardization = nil
        }
    }

    /// The number of input features per row.
    public var featureCount: Int { self.snapshot.featureNames.count }

    /// The dense-net layers that predict through the sparse kernel (chosen when the model was
    /// built: `DenseNetModel.init(parameters:kernels:)`); empty for other families.
    public var sparseKernelLayers: [Int] { (self.model as? DenseNetModel)?.sparseKernelLayers ?? [] }

    /// Whether `predictProbabilities` returns values (false for SVMs and regression).
    public var producesProbabilities: Bool { self.model.producesProbabilities }

    /// The raw model outputs: probabilities, SVM decision scores, or regression values.
    /// - Parameters:
    ///   - rows: rows × featureCount raw features, row-major.
    ///   - threads: Threads for large batches (1 by default).
    /// - Returns: rows × outputs.
    public func outputs(_ rows: [Float], threads: Int = 1) -> Matrix {
        precondition(rows.count % self.featureCount == 0, "rows must hold featureCount values each")
        let prepared = self.inputStandardization?.apply(rows) ?? rows
        return self.model.outputs(
            Matrix(
                rows: rows.count / self.featureCount,
                columns: self.featureCount,
                values: prepared
            ),
            threads: threads
        )
    }

    /// Class probabilities, rows × classes, or `nil` for models without them (SVM, regression).
    /// - Parameters:
    ///   - rows: Raw features, row-major.
    ///   - threads: Threads for large batches.
    public func predictProbabilities(_ rows: [Float], threads: Int = 1) -> Matrix? {
        guard self.model.producesProbabilities else { return nil }
        return expandBinary(self.outputs(rows, threads: threads))
    }

    /// Decision scores, rows × outputs (for an SVM; other models return their outputs).
    /// - Parameter rows: Raw features, row-major.
    public func decisionScores(_ rows: [Float]) -> Matrix {
        self.outputs(rows)
    }

    /// The predicted class id per row (classification), indices into `snapshot.classNames`.
    /// - Parameters:
    ///   - rows: Raw features, row-major.
    ///   - threads: Threads for large batches.
    public func predictClasses(_ rows: [Float], threads: Int = 1) -> [Int] {
        classes(fromOutputs: self.outputs(rows, threads: threads), probabilities: self.model.producesProbabilities)
    }

    /// The predicted value per row (regression).
    /// - Parameter rows: Raw features, row-major.
    public func predictValues(_ rows: [Float]) -> [Float] {
        self.outputs(rows).values
    }

    /// Metrics of this model on a labelled dataset.
    /// - Parameter dataset: Raw features (in the model's feature order) with targets of this
    ///   model's task; class labels are matched to the model's classes by name.
    /// - Returns: Classification metrics (log-loss only with probabilities) or regression metrics.
    /// - Throws: `DatasetError.featureCountMismatch` when the feature count does not fit the model, `.unknownClass`
    ///   when the task or a label does not.
    public func evaluate(_ dataset: Dataset) throws(DatasetError) -> Evaluation {
        guard dataset.columns == self.featureCount else {
            throw DatasetError(
                .featureCountMismatch,
                message: "expects \(self.featureCount) features, got \(dataset.columns)"
            )
        }
        switch self.snapshot.task {
        case .classification:
            let matched = try dataset.reindexed(toClassNames: self.snapshot.classNames)
            let outputs = self.outputs(matched.features)
            let predicted = classes(fromOutputs: outputs, probabilities: self.model.producesProbabilities)
            let probabilities = self.model.producesProbabilities ? expandBinary(outputs) : nil
            return .classification(
                ClassificationMetrics(
                    trueClasses: matched.classIDs,
                    predictedClasses: predicted,
                    classCount: self.snapshot.classNames.count,
                    probabilities: probabilities,
                    rankingScores: probabilities ?? expandBinaryScores(outputs)
                )
            )
        case .regression:
            guard case .values(let values) = dataset.targets else {
                throw DatasetError(.unknownClass, message: "a regression model needs numeric targets")
            }
            return .regression(
                RegressionMetrics(trueValues: values, predictedValues: self.predictValues(dataset.features))
            )
        }
    }

    /// The metrics of an evaluation.
    public enum Evaluation: Sendable, Equatable {
        /// For a classifier.
        case classification(ClassificationMetrics)
        /// For a regressor.
        case regression(RegressionMetrics)
    }

    private static func validate(_ s: ModelSnapshot) throws(TrainingError) {
        func fail(_ message: String) -> TrainingError { TrainingError(.invalidSnapshot, message) }
        let inputs = s.featureNames.count
        guard inputs > 0 else { throw fail("no features") }
        if let st = s.standardization, st.mean.count != inputs || st.scale.count != inputs {
            throw fail("standardization has \(st.mean.count)/\(st.scale.count) values for \(inputs) features")
        }
        let classes = s.classNames.count
        guard (s.task == .classification) == (classes >= 2), s.task == .classification || classes == 0 else {
            throw fail("\(s.task) with \(classes) class names")
        }
        switch s.parameters {
        case .dense(let p):
            guard let first = p.layers.first, first.inputs == inputs else {
                throw fail("first layer's inputs differ from the features")
            }
            var width = inputs
            for (l, layer) in p.layers.enumerated() {
                guard layer.inputs == width, layer.units > 0, layer.weights.count == layer.inputs * layer.units,
                    layer.biases.count == layer.units
                else { throw fail("layer \(l) has inconsistent sizes") }
                width = layer.units
            }
            let expected = s.task == .regression ? 1 : (p.loss == .binaryCrossEntropy ? 1 : classes)
            guard width == expected else { throw fail("the output layer has \(width) units, expected \(expected)") }
        case .linear(let p):
            let expected = p.kind == .svm && classes == 2 ? 1 : classes
            guard s.task == .classification, p.inputs == inputs, p.outputs == expected,
                p.weights.count == p.inputs * p.outputs, p.biases.count == p.outputs
            else {
                throw fail("linear parameters have inconsistent sizes")
            }
        case .tree(let p):
            try Self.validate(p, inputs: inputs, outputs: s.task == .regression ? 1 : classes)
        case .forest(let p):
            guard !p.trees.isEmpty else { throw fail("a forest without trees") }
            let criterion = p.trees[0].criterion
            for tree in p.trees {
                guard tree.criterion == criterion else { throw fail("forest trees with different criteria") }
                try Self.validate(tree, inputs: inputs, outputs: s.task == .regression ? 1 : classes)
            }
        case .gbdt(let p):
            let expected =
                switch p.loss {
                case .squaredError: s.task == .regression ? 1 : -1
                case .logLoss: s.task == .classification && classes == 2 ? 1 : -1
                case .multinomial: s.task == .classification && classes > 2 ? classes : -1
                }
            guard p.outputs == expected, p.baseline.count == p.outputs, p.trees.count % p.outputs == 0 else {
                throw fail(
                    "gbdt loss \(p.loss) with \(p.outputs) outputs does not fit \(s.task) with \(classes) classes"
                )
            }
            for tree in p.trees { try Self.validate(tree, inputs: inputs, outputs: 1) }
        case .quantizedDense(let p):
            var width = inputs
            for (l, layer) in p.layers.enumerated() {
                guard layer.inputs == width else { throw fail("quantized layer \(l) has inconsistent sizes") }
                try Self.validate(layer, index: l)
                width = layer.units
            }
            let expected = s.task == .regression ? 1 : (p.loss == .binaryCrossEntropy ? 1 : classes)
            guard !p.layers.isEmpty, width == expected else {
                throw fail("the output layer has \(width) units, expected \(expected)")
            }
        case .quantizedLinear(let p):
            let expected = p.kind == .svm && classes == 2 ? 1 : classes
            guard s.task == .classification, p.layer.inputs == inputs, p.layer.units == expected,
                p.layer.activation == (p.kind == .logistic ? .softmax : .linear)
            else { throw fail("quantized linear parameters have inconsistent sizes") }
            try Self.validate(p.layer, index: 0)
        }
    }

    private static func validate(_ layer: QuantizedLayer, index l: Int) throws(TrainingError) {
        func fail(_ message: String) -> TrainingError { TrainingError(.invalidSnapshot, message) }
        guard layer.units > 0, layer.inputs <= QuantizedLayer.maxInputs,
            layer.weights.count == layer.inputs * layer.units, layer.weightScales.count == layer.units,
            layer.biases.count == layer.units
        else { throw fail("quantized layer \(l) has inconsistent sizes") }
        guard layer.weights.allSatisfy({ $0 != -128 }) else { throw fail("quantized layer \(l) has a weight of -128") }
        guard layer.weightScales.allSatisfy({ $0.isNormal && $0 > 0 }) else {
            throw fail("quantized layer \(l) has a weight scale that is not a positive normal number")
        }
        if let scale = layer.inputScale, !(scale.isNormal && scale > 0) {
            throw fail("quantized layer \(l) has an input scale that is not a positive normal number")
        }
    }

    private static func validate(_ p: TreeParameters, inputs: Int, outputs: Int) throws(TrainingError) {
        func fail(_ message: String) -> TrainingError { TrainingError(.invalidSnapshot, message) }
        let n = p.feature.count
        guard n > 0, p.threshold.count == n, p.left.count == n, p.right.count == n, p.value.count == n * p.outputs,
            p.weight.isEmpty || p.weight.count == n, p.outputs == outputs
        else {
            throw fail("tree arrays have inconsistent sizes")
        }
        for i in 0..<n where p.feature[i] >= 0 {
            guard Int(p.feature[i]) < inputs, p.left[i] > Int32(i), p.right[i] > Int32(i),
                Int(p.left[i]) < n, Int(p.right[i]) < n
            else { throw fail("node \(i) has a bad feature or child") }
        }
    }
}
