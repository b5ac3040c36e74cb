import ModelwireCodec
import ModelwireML
import ModelwireProtocol

extension ModelSpec {
    /// The ML spec a TrainRequest asks for.
    /// - Throws: `ModelwireError` (invalid_argument) for missing or impossible hyper-parameters.
    init(wire: V1.ModelSpec?) throws(ModelwireError) {
        switch wire?.family {
        case .dense(let dense)?:
            guard dense.hidden.count <= 32 else { throw ModelwireError(.invalidArgument, "at most 32 hidden layers") }
            let layers = try dense.hidden.map { (layer) throws(ModelwireError) -> DenseNetSpec.Layer in
                guard layer.units > 0, layer.units <= 4096 else {
                    throw ModelwireError(.invalidArgument, "hidden layer units must be in 1...4096, got \(layer.units)")
                }
                return DenseNetSpec.Layer(units: Int(layer.units), activation: Activation(wire: layer.activation) ?? .relu)
            }
            self = .dense(DenseNetSpec(hiddenLayers: layers, outputActivation: Activation(wire: dense.outputActivation)))
        case .logistic?:
            self = .logistic(LinearSpec())
        case .linearSvm?:
            self = .svm(LinearSpec())
        case .tree(let tree)?:
            let criterion: TreeParameters.Criterion? = switch tree.criterion {
            case .gini: nil  // the zero value: the task's default (gini, or mse for regression)
            case .entropy: .entropy
            case .mse: .mse
            default: nil
            }
            self = .tree(TreeSpec(criterion: criterion, maxDepth: tree.maxDepth == 0 ? nil : Int(tree.maxDepth),
                                  minSamplesSplit: max(2, Int(tree.minSamplesSplit)),
                                  minSamplesLeaf: max(1, Int(tree.minSamplesLeaf))))
        case nil:
            self = .referenceNetwork
        }
    }
}

extension TrainingOptions {
    /// The ML options a TrainRequest asks for (zero values mean the documented defaults).
    /// - Parameter seed: The seed to use when the request sets none.
    /// - Throws: `ModelwireError` (invalid_argument) for out-of-range values.
    init(wire: V1.TrainingOptions?, defaultSeed: UInt64) throws(ModelwireError) {
        let w = wire ?? V1.TrainingOptions()
        let o = w.optimizer ?? V1.Optimizer()
        let kind: OptimizerKind = switch o.kind {
        case .sgd: .sgd
        case .momentum: .momentum
        case .nesterov: .nesterov
        case .gd: .gradientDescent
        default: .adam
        }
        let defaultRate: Float = kind == .adam ? 0.001 : 0.01
        guard o.learningRate >= 0, o.learningRate.isFinite, o.learningRate <= 10 else {
            throw ModelwireError(.invalidArgument, "learning_rate must be in [0, 10], got \(o.learningRate)")
        }
        guard w.validationSplit >= 0, w.validationSplit <= 0.5 else {
            throw ModelwireError(.invalidArgument, "validation_split must be in [0, 0.5], got \(w.validationSplit)")
        }
        guard w.epochs <= 100_000 else { throw ModelwireError(.invalidArgument, "epochs must be at most 100000") }
        guard w.l2 >= 0, w.l2.isFinite else { throw ModelwireError(.invalidArgument, "l2 must be >= 0") }
        let optimizer = OptimizerSettings(
            kind: kind, learningRate: o.learningRate == 0 ? defaultRate : o.learningRate,
            momentum: o.momentum == 0 ? 0.9 : o.momentum, beta1: o.beta1 == 0 ? 0.9 : o.beta1,
            beta2: o.beta2 == 0 ? 0.999 : o.beta2, epsilon: o.epsilon == 0 ? 1e-7 : o.epsilon)
        var early: EarlyStopping?
        if let e = w.earlyStopping {
            let monitor: EarlyStopping.Metric = switch e.monitor {
            case .validationAccuracy: w.validationSplit > 0 ? .validationAccuracy : .accuracy
            case .trainingLoss: .loss
            default: w.validationSplit > 0 ? .validationLoss : .loss
            }
            early = EarlyStopping(monitor: monitor, patience: e.patience == 0 ? 5 : Int(e.patience), minDelta: e.minDelta,
                                  restoreBestWeights: e.restoreBestWeights)
        }
        self.init(optimizer: optimizer, epochs: w.epochs == 0 ? 10 : Int(w.epochs),
                  batchSize: w.batchSize == 0 ? 32 : Int(w.batchSize), validationSplit: Double(w.validationSplit),
                  earlyStopping: early, seed: w.seed ?? defaultSeed, l2: w.l2,
                  progressEveryBatches: Int(w.progressEveryBatches), standardize: !w.disableStandardization)
    }
}
