import ModelwireCodec
import ModelwireML
import ModelwireProtocol

/// The mapping between the ML core's `ModelSnapshot` and the protobuf model file (one to one).
extension V1.ModelFile {
    /// The model file of a freshly trained (or imported) snapshot.
    init(
        snapshot s: ModelSnapshot,
        name: String,
        version: UInt32,
        createdUnixMs: UInt64,
        spec: V1.ModelSpec?,
        options: V1.TrainingOptions?,
        evaluation: V1.Evaluation?
    ) {
        let parameters: V1.ModelFile.Parameters =
            switch s.parameters {
            case .dense(let p):
                .dense(V1.DenseNetParameters(p))
            case .linear(let p):
                .linear(
                    V1.LinearParameters(
                        kind: p.kind == .svm ? .svm : .logistic,
                        inputs: UInt32(p.inputs),
                        outputs: UInt32(p.outputs),
                        weights: p.weights,
                        biases: p.biases
                    )
                )
            case .tree(let p):
                .tree(V1.TreeParameters(p))
            case .forest(let p):
                .forest(V1.ForestParameters(trees: p.trees.map(V1.TreeParameters.init)))
            case .gbdt(let p):
                .gbdt(
                    V1.GradientBoostingParameters(
                        loss: p.loss.wire,
                        outputs: UInt32(p.outputs),
                        baseline: p.baseline,
                        trees: p.trees.map(V1.TreeParameters.init)
                    )
                )
            case .quantizedDense(let p):
                .quantizedDense(
                    V1.QuantizedDenseParameters(layers: p.layers.map(V1.QuantizedLayer.init), loss: p.loss.wire)
                )
            case .quantizedLinear(let p):
                .quantizedLinear(
                    V1.QuantizedLinearParameters(
                        kind: p.kind == .svm ? .svm : .logistic,
                        layer: V1.QuantizedLayer(p.layer)
                    )
                )
            }
        let t = s.training
        self.init(
            formatVersion: 1,
            name: name,
            version: version,
            createdUnixMs: createdUnixMs,
            task: s.task == .regression ? .regression : .classification,
            spec: spec,
            featureNames: s.featureNames,
            classNames: s.classNames,
            standardization: s.standardization.map { V1.Standardization(mean: $0.mean, scale: $0.scale) },
            parameters: parameters,
            training: V1.TrainingSummary(
                epochsRun: UInt32(clamping: t.epochsRun),
                trainingSamples: UInt64(t.trainingSamples),
                durationSeconds: t.durationSeconds,
                finalLoss: t.finalLoss,
                validationLoss: t.validationLoss,
                validationAccuracy: t.validationAccuracy,
                earlyStopped: t.earlyStopped,
                options: options,
                evaluation: evaluation,
                history: t.history.map(V1.TrainingEpoch.init)
            ),
            featureMeans: s.featureMeans
        )
    }

    /// Refuses enum values this schema does not define (data_loss naming the field): read as the
    /// zero value they would silently change the model (an unknown loss would become squared error).
    private func checkEnumValues() throws(ModelwireError) {
        try task.requireKnown("task", code: .dataLoss)
        switch parameters {
        case .dense(let p)?: try p.loss.requireKnown("dense.loss", code: .dataLoss)
        case .linear(let p)?: try p.kind.requireKnown("linear.kind", code: .dataLoss)
        case .tree(let p)?: try p.criterion.requireKnown("tree.criterion", code: .dataLoss)
        case .forest(let p)?:
            for (i, tree) in p.trees.enumerated() {
                try tree.criterion.requireKnown("forest.trees[\(i)].criterion", code: .dataLoss)
            }
        case .gbdt(let p)?:
            try p.loss.requireKnown("gbdt.loss", code: .dataLoss)
            for (i, tree) in p.trees.enumerated() {
                try tree.criterion.requireKnown("gbdt.trees[\(i)].criterion", code: .dataLoss)
            }
        case .quantizedDense(let p)?: try p.loss.requireKnown("quantized_dense.loss", code: .dataLoss)
        case .quantizedLinear(let p)?: try p.kind.requireKnown("quantized_linear.kind", code: .dataLoss)
        case nil: break
        }
    }

    /// The snapshot stored in this file.
    /// - Throws: `ModelwireError` (data_loss) when the file lacks parameters or names impossible values.
    func snapshot() throws(ModelwireError) -> ModelSnapshot {
        try checkEnumValues()
        let parameters: ModelSnapshot.Parameters
        switch self.parameters {
        case .dense(let p)?:
            try p.checkSparseExpansion()
            var layers: [DenseNetParameters.DenseLayer] = []
            for (l, layer) in p.layers.enumerated() {
                guard let activation = Activation(wire: layer.activation) else {
                    throw ModelwireError(.dataLoss, "layer activation \(layer.activation) is unknown")
                }
                layers.append(
                    .init(
                        inputs: Int(layer.inputs),
                        units: Int(layer.units),
                        activation: activation,
                        weights: try layer.denseWeights(layer: l),
                        biases: layer.biases
                    )
                )
            }
            parameters = .dense(DenseNetParameters(layers: layers, loss: Loss(wire: p.loss)))
        case .linear(let p)?:
            parameters = .linear(
                LinearParameters(
                    kind: p.kind == .svm ? .svm : .logistic,
                    inputs: Int(p.inputs),
                    outputs: Int(p.outputs),
                    weights: p.weights,
                    biases: p.biases
                )
            )
        case .tree(let p)?:
            parameters = .tree(TreeParameters(wire: p))
        case .forest(let p)?:
            parameters = .forest(ForestParameters(trees: p.trees.map(TreeParameters.init(wire:))))
        case .gbdt(let p)?:
            parameters = .gbdt(
                GradientBoostingParameters(
                    loss: GradientBoostingParameters.Loss(wire: p.loss),
                    outputs: Int(p.outputs),
                    baseline: p.baseline,
                    trees: p.trees.map(TreeParameters.init(wire:))
                )
            )
        case .quantizedDense(let p)?:
            var layers: [QuantizedLayer] = []
            for layer in p.layers { layers.append(try QuantizedLayer(wire: layer)) }
            parameters = .quantizedDense(QuantizedDenseParameters(layers: layers, loss: Loss(wire: p.loss)))
        case .quantizedLinear(let p)?:
            parameters = .quantizedLinear(
                QuantizedLinearParameters(
                    kind: p.kind == .svm ? .svm : .logistic,
                    layer: try QuantizedLayer(wire: p.layer ?? V1.QuantizedLayer())
                )
            )
        case nil:
            throw ModelwireError(.dataLoss, "the model file has no parameters")
        }
        let t = self.training ?? V1.TrainingSummary()
        return ModelSnapshot(
            task: self.task == .regression ? .regression : .classification,
            featureNames: self.featureNames,
            classNames: self.classNames,
            standardization: self.standardization.map { Standardization(mean: $0.mean, scale: $0.scale) },
            parameters: parameters,
            training: TrainingSummary(
                epochsRun: Int(t.epochsRun),
                trainingSamples: Int(t.trainingSamples),
                durationSeconds: t.durationSeconds,
                finalLoss: t.finalLoss,
                validationLoss: t.validationLoss,
                validationAccuracy: t.validationAccuracy,
                earlyStopped: t.earlyStopped,
                history: t.history.map(TrainingEpoch.init(wire:))
            ),
            featureMeans: self.featureMeans
        )
    }

    /// Parameters stored (weights and biases, or tree nodes).
    var parameterCount: UInt64 {
        switch self.parameters {
        case .dense(let p)?: UInt64(p.layers.reduce(0) { $0 + $1.parameterCount })
        case .linear(let p)?: UInt64(p.weights.count + p.biases.count)
        case .tree(let p)?: UInt64(p.feature.count)
        case .forest(let p)?: UInt64(p.trees.reduce(0) { $0 + $1.feature.count })
        case .gbdt(let p)?: UInt64(p.trees.reduce(p.baseline.count) { $0 + $1.feature.count })
        case .quantizedDense(let p)?: UInt64(p.layers.reduce(0) { $0 + $1.weights.count + $1.biases.count })
        case .quantizedLinear(let p)?: UInt64((p.layer?.weights.count ?? 0) + (p.layer?.biases.count ?? 0))
        case nil: 0
        }
    }
}

extension Loss {
    init(wire: V1.Loss) {
        switch wire {
        case .binaryCrossEntropy: self = .binaryCrossEntropy
        case .meanSquaredError: self = .meanSquaredError
        default: self = .sparseCategoricalCrossEntropy
        }
    }

    var wire: V1.Loss {
        switch self {
        case .binaryCrossEntropy: .binaryCrossEntropy
        case .meanSquaredError: .meanSquaredError
        default: .sparseCategoricalCrossEntropy
        }
    }
}

extension V1.TreeParameters {
    init(_ p: TreeParameters) {
        self.init(
            criterion: p.criterion.wire,
            outputs: UInt32(p.outputs),
            feature: p.feature,
            threshold: p.threshold,
            left: p.left,
            right: p.right,
            value: p.value,
            weight: p.weight
        )
    }
}

extension TreeParameters {
    init(wire p: V1.TreeParameters) {
        self.init(
            criterion: TreeParameters.Criterion(wire: p.criterion),
            outputs: Int(p.outputs),
            feature: p.feature,
            threshold: p.threshold,
            left: p.left,
            right: p.right,
            value: p.value,
            weight: p.weight
        )
    }
}

extension GradientBoostingParameters.Loss {
    init(wire: V1.BoostingLoss) {
        switch wire {
        case .logLoss: self = .logLoss
        case .multinomial: self = .multinomial
        default: self = .squaredError
        }
    }

    var wire: V1.BoostingLoss {
        switch self {
        case .squaredError: .squaredError
        case .logLoss: .logLoss
        case .multinomial: .multinomial
        }
    }
}

extension TreeParameters.Criterion {
    init(wire: V1.TreeCriterion) {
        switch wire {
        case .entropy: self = .entropy
        case .mse: self = .mse
        default: self = .gini
        }
    }

    var wire: V1.TreeCriterion {
        switch self {
        case .gini: .gini
        case .entropy: .entropy
        case .mse: .mse
        }
    }
}
