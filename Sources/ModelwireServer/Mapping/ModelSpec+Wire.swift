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
                return DenseNetSpec.Layer(
                    units: Int(layer.units),
                    activation: Activation(wire: layer.activation) ?? .relu
                )
            }
            self = .dense(
                DenseNetSpec(hiddenLayers: layers, outputActivation: Activation(wire: dense.outputActivation))
            )
        case .logistic(let linear)?:
            self = .logistic(
                LinearSpec(
                    c: linear.c,
                    tol: linear.tol,
                    maxIter: linear.maxIter,
                    solver: linear.solver,
                    hinge: false
                )
            )
        case .linearSvm(let linear)?:
            self = .svm(
                LinearSpec(
                    c: linear.c,
                    tol: linear.tol,
                    maxIter: linear.maxIter,
                    solver: linear.solver,
                    hinge: linear.hinge
                )
            )
        case .tree(let tree)?:
            self = .tree(TreeSpec(wire: tree))
        case .forest(let forest)?:
            // The ML core checks the ranges and names the parameter (trees 1...10000, threads 1...64).
            self = .forest(
                ForestSpec(
                    trees: forest.trees == 0 ? 100 : Int(forest.trees),
                    tree: TreeSpec(wire: forest.tree ?? V1.DecisionTreeSpec()),
                    maxFeatures: forest.maxFeatures == 0 ? nil : .fraction(Double(forest.maxFeatures)),
                    bootstrap: !forest.noBootstrap,
                    threads: forest.threads == 0 ? 1 : Int(forest.threads)
                )
            )
        case .gbdt(let g)?:
            let stopping: GradientBoostingSpec.EarlyStopping =
                switch g.earlyStopping {
                case .on: .on
                case .off: .off
                default: .auto
                }
            self = .gbdt(
                GradientBoostingSpec(
                    iterations: g.iterations == 0 ? 100 : Int(g.iterations),
                    learningRate: g.learningRate == 0 ? 0.1 : Double(g.learningRate),
                    maxLeafNodes: g.maxLeafNodes == 0 ? 31 : Int(g.maxLeafNodes),
                    maxDepth: g.maxDepth == 0 ? nil : Int(g.maxDepth),
                    minSamplesLeaf: g.minSamplesLeaf == 0 ? 20 : Int(g.minSamplesLeaf),
                    l2: Double(g.l2),
                    maxBins: g.maxBins == 0 ? 255 : Int(g.maxBins),
                    earlyStopping: stopping,
                    validationFraction: g.validationFraction == 0 ? 0.1 : Double(g.validationFraction),
                    iterationsWithoutChange: g.iterationsWithoutChange == 0 ? 10 : Int(g.iterationsWithoutChange)
                )
            )
        case nil:
            self = .referenceNetwork
        }
    }
}

extension LinearSpec {
    /// A linear spec from wire values (zero values: scikit-learn's defaults; ranges are checked by the ML core).
    init(c: Float, tol: Float, maxIter: UInt32, solver: V1.LinearSolver, hinge: Bool) {
        let chosen: Solver? =
            switch solver {
            case .lbfgs: .lbfgs
            case .dualCd: .dualCoordinateDescent
            case .sgd: .sgd
            default: nil
            }
        self.init(
            solver: chosen,
            c: c == 0 ? 1 : Double(c),
            tolerance: tol == 0 ? 1e-4 : Double(tol),
            maxIterations: maxIter == 0 ? nil : Int(maxIter),
            svmLoss: hinge ? .hinge : .squaredHinge
        )
    }
}

extension TreeSpec {
    /// A tree spec from wire values (zero values: scikit-learn's defaults, 256 bins).
    init(wire tree: V1.DecisionTreeSpec) {
        let criterion: TreeParameters.Criterion? =
            switch tree.criterion {
            case .gini: nil  // the zero value: the task's default (gini, or mse for regression)
            case .entropy: .entropy
            case .mse: .mse
            default: nil
            }
        self.init(
            criterion: criterion,
            maxDepth: tree.maxDepth == 0 ? nil : Int(tree.maxDepth),
            minSamplesSplit: max(2, Int(tree.minSamplesSplit)),
            minSamplesLeaf: max(1, Int(tree.minSamplesLeaf)),
            maxBins: tree.exact ? nil : tree.maxBins == 0 ? 256 : Int(tree.maxBins)
        )
    }
}

extension TrainingOptions {
    /// The ML options a TrainRequest asks for (zero values mean the documented defaults).
    /// - Parameter seed: The seed to use when the request sets none.
    /// - Throws: `ModelwireError` (invalid_argument) for out-of-range values.
    init(wire: V1.TrainingOptions?, defaultSeed: UInt64) throws(ModelwireError) {
        let w = wire ?? V1.TrainingOptions()
        let o = w.optimizer ?? V1.Optimizer()
        let kind: OptimizerKind =
            switch o.kind {
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
            kind: kind,
            learningRate: o.learningRate == 0 ? defaultRate : o.learningRate,
            momentum: o.momentum == 0 ? 0.9 : o.momentum,
            beta1: o.beta1 == 0 ? 0.9 : o.beta1,
            beta2: o.beta2 == 0 ? 0.999 : o.beta2,
            epsilon: o.epsilon == 0 ? 1e-7 : o.epsilon
        )
        var early: EarlyStopping?
        if let e = w.earlyStopping {
            let monitor: EarlyStopping.Metric =
                switch e.monitor {
                case .validationAccuracy: w.validationSplit > 0 ? .validationAccuracy : .accuracy
                case .trainingLoss: .loss
                default: w.validationSplit > 0 ? .validationLoss : .loss
                }
            early = EarlyStopping(
                monitor: monitor,
                patience: e.patience == 0 ? 5 : Int(e.patience),
                minDelta: e.minDelta,
                restoreBestWeights: e.restoreBestWeights
            )
        }
        self.init(
            optimizer: optimizer,
            epochs: w.epochs == 0 ? 10 : Int(w.epochs),
            batchSize: w.batchSize == 0 ? 32 : Int(w.batchSize),
            validationSplit: Double(w.validationSplit),
            earlyStopping: early,
            seed: w.seed ?? defaultSeed,
            l2: w.l2,
            progressEveryBatches: Int(w.progressEveryBatches),
            standardize: !w.disableStandardization
        )
    }
}
