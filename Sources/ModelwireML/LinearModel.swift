import ModelwireData

/// Logistic regression or a linear SVM (one-vs-rest), solved to convergence by L-BFGS or
/// dual coordinate descent (see `LinearSpec`), or trained by the mini-batch loop of dense nets.
public struct LinearModel: Model {
    /// Which linear model.
    public let kind: LinearParameters.Kind
    private var network: DenseNetwork
    private let spec: LinearSpec
    private let solver: LinearSpec.Solver

    /// A zero-initialised linear model (the loss is convex, so no random start is needed).
    /// - Parameters:
    ///   - kind: Logistic or SVM.
    ///   - spec: Solver and regularisation.
    ///   - inputs: Feature count.
    ///   - classes: Class count (≥ 2). A binary SVM has one output.
    ///   - rows: Training rows (the SVM's default solver depends on rows vs features).
    /// - Throws: `TrainingError.invalidArgument` naming a bad parameter (`C`, `tolerance`,
    ///   `maxIterations`, a solver of the other family).
    public init(
        kind: LinearParameters.Kind,
        spec: LinearSpec,
        inputs: Int,
        classes: Int,
        rows: Int
    ) throws(TrainingError) {
        let primal = kind == .logistic || (spec.svmLoss == .squaredHinge && rows > inputs)
        let solver = spec.solver ?? (primal ? .lbfgs : .dualCoordinateDescent)
        guard spec.c > 0, spec.c.isFinite else {
            throw TrainingError(.invalidArgument, "C must be > 0 and finite, got \(spec.c)")
        }
        guard spec.tolerance > 0, spec.tolerance.isFinite else {
            throw TrainingError(.invalidArgument, "tolerance must be > 0 and finite, got \(spec.tolerance)")
        }
        if let maxIterations = spec.maxIterations, maxIterations < 1 || maxIterations > 1_000_000 {
            throw TrainingError(.invalidArgument, "maxIterations must be in 1...1000000, got \(maxIterations)")
        }
        guard spec.l2 >= 0, spec.l2.isFinite else {
            throw TrainingError(.invalidArgument, "l2 must be ≥ 0, got \(spec.l2)")
        }
        switch (kind, solver) {
        case (.logistic, .dualCoordinateDescent):
            throw TrainingError(.invalidArgument, "solver dualCoordinateDescent is for SVMs")
        case (.svm, .lbfgs) where spec.svmLoss == .hinge:
            throw TrainingError(
                .invalidArgument,
                "solver lbfgs needs the squared hinge (the hinge is not differentiable)"
            )
        default: break
        }
        self.init(kind: kind, spec: spec, solver: solver, inputs: inputs, classes: classes)
    }

    private init(kind: LinearParameters.Kind, spec: LinearSpec, solver: LinearSpec.Solver, inputs: Int, classes: Int) {
        self.kind = kind
        self.spec = spec
        self.solver = solver
        switch kind {
        case .logistic:
            self.network = DenseNetwork(
                inputs: inputs,
                layers: [(classes, .softmax)],
                loss: .sparseCategoricalCrossEntropy
            )
        case .svm:
            self.network = DenseNetwork(inputs: inputs, layers: [(classes == 2 ? 1 : classes, .linear)], loss: .hinge)
        }
    }

    /// Rebuilds a model from snapshot parameters.
    /// - Parameter parameters: Kind, weights and biases.
    public init(parameters: LinearParameters) {
        self.init(
            kind: parameters.kind,
            spec: LinearSpec(),
            solver: .sgd,
            inputs: parameters.inputs,
            classes: parameters.kind == .svm && parameters.outputs == 1 ? 2 : parameters.outputs
        )
        self.network.setLayer(0, weights: parameters.weights, biases: parameters.biases)
    }

    /// Fits the model (see `Model.fit`). The full-data solvers report one progress event at the
    /// end, with `epoch` = iterations (L-BFGS) or passes (coordinate descent, the most of any class).
    public mutating func fit(
        _ training: Dataset,
        validation: Dataset?,
        options: TrainingOptions,
        callbacks: TrainingCallbacks
    ) throws(TrainingError) -> TrainingSummary {
        guard self.solver != .sgd else {
            var loop = GradientTraining(
                network: self.network,
                options: options,
                l2: self.spec.l2,
                isClassifier: true,
                producesProbabilities: self.producesProbabilities
            )
            var generator = SeededGenerator(seed: options.seed &+ 1)
            let summary = try loop.run(training, validation: validation, callbacks: callbacks, generator: &generator)
            self.network = loop.network
            return summary
        }
        let start = ContinuousClock.now
        let classes = training.classNames.count
        let (iterations, objective) =
            switch self.kind {
            case .logistic: try self.fitLogistic(training, classes: classes, options: options, callbacks: callbacks)
            case .svm: try self.fitSVM(training, classes: classes, options: options, callbacks: callbacks)
            }
        let evaluator = GradientTraining(
            network: self.network,
            options: options,
            l2: 0,
            isClassifier: true,
            producesProbabilities: self.producesProbabilities
        )
        let held = validation.map { evaluator.evaluate($0) }
        let duration = seconds(since: start)
        callbacks.progress(
            TrainingProgress(
                kind: .epochEnd,
                epoch: iterations,
                epochs: iterations,
                batch: 1,
                batchesPerEpoch: 1,
                loss: Float(objective),
                accuracy: nil,
                validationLoss: held?.loss,
                validationAccuracy: held?.accuracy,
                samplesPerSecond: duration > 0 ? Double(training.rows) / duration : 0,
                estimatedSecondsRemaining: 0
            )
        )
        return TrainingSummary(
            epochsRun: iterations,
            trainingSamples: training.rows,
            durationSeconds: duration,
            finalLoss: Float(objective),
            validationLoss: held?.loss,
            validationAccuracy: held?.accuracy
        )
    }

    /// L-BFGS on `LogisticObjective`; returns iterations and the final objective.
    private mutating func fitLogistic(
        _ training: Dataset,
        classes: Int,
        options: TrainingOptions,
        callbacks: TrainingCallbacks
    ) throws(TrainingError) -> (Int, Double) {
        let objective = LogisticObjective(
            x: Matrix(rows: training.rows, columns: training.columns, values: training.features),
            classIDs: training.classIDs,
            classes: classes,
            c: self.spec.c,
            threads: options.threads
        )
        let lbfgs = LBFGS(tolerance: self.spec.tolerance, maxIterations: self.spec.maxIterations ?? 100)
        let result = try lbfgs.minimize(
            from: Array(repeating: 0, count: objective.parameterCount),
            objective: objective.evaluate,
            isCancelled: callbacks.isCancelled
        )
        let (weights, biases) = objective.linearLayout(result.x)
        self.network.setLayer(0, weights: weights, biases: biases)
        return (result.iterations, result.value)
    }

    /// Dual coordinate descent per class (one problem for two classes), or L-BFGS on the
    /// primal of all classes; returns the most passes any class took (or the L-BFGS iterations)
    /// and the summed primal objective ½‖w‖² + C·Σ loss over the classes.
    private mutating func fitSVM(
        _ training: Dataset,
        classes: Int,
        options: TrainingOptions,
        callbacks: TrainingCallbacks
    ) throws(TrainingError) -> (Int, Double) {
        if self.solver == .lbfgs {
            let objective = SquaredHingeObjective(
                x: Matrix(
                    rows: training.rows,
                    columns: training.columns,
                    values: training.features
                ),
                classIDs: training.classIDs,
                classes: classes,
                c: self.spec.c,
                threads: options.threads
            )
            let start = [Double](repeating: 0, count: objective.parameterCount)
            let initial = objective.evaluate(start).1.reduce(0) { max($0, abs($1)) }
            let lbfgs = LBFGS(tolerance: self.spec.tolerance * initial, maxIterations: self.spec.maxIterations ?? 1000)
            let result = try lbfgs.minimize(
                from: start,
                objective: objective.evaluate,
                isCancelled: callbacks.isCancelled
            )
            let d = training.columns
            let k = objective.outputs
            self.network.setLayer(
                0,
                weights: result.x[0..<d * k].map { Float($0) },
                biases: result.x[d * k..<d * k + k].map { Float($0) }
            )
            return (result.iterations, result.value)
        }
        let problem = DualCoordinateDescent.Problem(training)
        let solver = DualCoordinateDescent(
            c: self.spec.c,
            loss: self.spec.svmLoss,
            tolerance: self.spec.tolerance,
            maxIterations: self.spec.maxIterations ?? 1000,
            shrinking: self.spec.shrinking
        )
        let outputs = classes == 2 ? 1 : classes
        let d = training.columns
        var weights = [Float](repeating: 0, count: d * outputs)
        var biases = [Float](repeating: 0, count: outputs)
        var iterations = 0
        var objective = 0.0
        let ids = training.classIDs
        for k in 0..<outputs {
            let positive = outputs == 1 ? 1 : k
            let labels = ids.map { $0 == positive ? 1.0 : -1.0 }
            var generator = SeededGenerator(seed: options.seed &+ 3 &+ UInt64(k))
            let solution = try solver.solve(
                problem,
                labels: labels,
                generator: &generator,
                isCancelled: callbacks.isCancelled
            )
            for j in 0..<d { weights[j * outputs + k] = Float(solution.w[j]) }
            biases[k] = Float(solution.w[d])
            iterations = max(iterations, solution.iterations)
            objective += solver.primalObjective(problem, labels: labels, w: solution.w)
        }
        self.network.setLayer(0, weights: weights, biases: biases)
        return (iterations, objective)
    }

    /// Raw outputs for standardised rows (see `Model.outputs`).
    public func outputs(_ rows: Matrix, threads: Int) -> Matrix {
        self.network.forward(rows, threads: threads)
    }

    /// Whether `outputs` are class probabilities.
    public var producesProbabilities: Bool { self.kind == .logistic }

    /// The learned parameters, as stored in a snapshot.
    public var parameters: ModelSnapshot.Parameters {
        .linear(
            LinearParameters(
                kind: self.kind,
                inputs: self.network.inputs,
                outputs: self.network.outputs,
                weights: self.network.weights(ofLayer: 0),
                biases: self.network.biases(ofLayer: 0)
            )
        )
    }
}
