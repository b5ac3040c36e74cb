import ModelwireData

/// A dense neural network as a `Model`: classification (softmax + sparse categorical
/// cross-entropy, or one sigmoid output + binary cross-entropy for two classes) or regression
/// (linear outputs + mean squared error).
public struct DenseNetModel: Model {
    /// The network.
    public private(set) var network: DenseNetwork
    /// Flat parameter indices `fit` keeps at zero (fine-tuning a pruned net).
    var heldAtZero: [Int] = []
    /// A teacher's softened probabilities `fit` learns from too (distillation).
    var soft: SoftTargets?
    /// Per layer, its non-zero weights when the sparse kernel predicts it faster
    /// (`SparseWeights.isFaster`), else nil: chosen once in `init(parameters:)`, dropped by `fit`.
    private(set) var sparseWeights: [SparseWeights?] = []

    /// A network with seeded initial weights, sized for the data.
    /// - Parameters:
    ///   - spec: Hidden layers and output activation.
    ///   - inputs: Feature count.
    ///   - task: Classification or regression.
    ///   - classes: The class count (ignored for regression).
    ///   - generator: The seeded generator for the initial weights.
    /// - Throws: `TrainingError.invalidArgument` for an output activation that does not fit the task.
    public init(
        spec: DenseNetSpec,
        inputs: Int,
        task: ModelSnapshot.Task,
        classes: Int,
        generator: inout SeededGenerator
    ) throws(TrainingError) {
        let output: (units: Int, activation: Activation)
        let loss: Loss
        switch (task, spec.outputActivation ?? (task == .classification ? .softmax : .linear)) {
        case (.classification, .softmax):
            (output, loss) = ((classes, .softmax), .sparseCategoricalCrossEntropy)
        case (.classification, .sigmoid) where classes == 2:
            (output, loss) = ((1, .sigmoid), .binaryCrossEntropy)
        case (.regression, let activation) where activation != .softmax:
            (output, loss) = ((1, activation), .meanSquaredError)
        case (_, let activation):
            throw TrainingError(
                .invalidArgument,
                "output activation \(activation) does not fit \(task) with \(classes) classes"
            )
        }
        let layers = spec.hiddenLayers.map { (units: $0.units, activation: $0.activation) } + [output]
        self.network = DenseNetwork(inputs: inputs, layers: layers, loss: loss)
        self.network.initialize(spec.initializer, using: &generator)
    }

    /// Rebuilds a model from snapshot parameters. By default a pruned layer whose density and
    /// shape the sparse kernel is measured faster on (`SparseWeights.isFaster`) predicts through it.
    /// - Parameters:
    ///   - parameters: The layers and loss.
    ///   - kernels: Which layers use the sparse kernel.
    public init(parameters: DenseNetParameters, kernels: SparseKernelUse = .whereFaster) {
        var network = DenseNetwork(
            inputs: parameters.layers[0].inputs,
            layers: parameters.layers.map { ($0.units, $0.activation) },
            loss: parameters.loss
        )
        for (l, layer) in parameters.layers.enumerated() {
            network.setLayer(l, weights: layer.weights, biases: layer.biases)
        }
        self.network = network
        let sparse = parameters.layers.map { layer -> SparseWeights? in
            let nonzero = layer.weights.count { $0 != 0 }
            let density = Double(nonzero) / Double(max(1, layer.weights.count))
            let wanted =
                switch kernels {
                case .whereFaster: SparseWeights.isFaster(density: density, units: layer.units)
                case .always: true
                case .never: false
                }
            guard wanted, layer.weights.count <= Int(Int32.max) else { return nil }
            return SparseWeights(weights: layer.weights, inputs: layer.inputs, units: layer.units)
        }
        self.sparseWeights = sparse.contains { $0 != nil } ? sparse : []
    }

    /// The indices of the layers that predict through the sparse kernel.
    public var sparseKernelLayers: [Int] { self.sparseWeights.indices.filter { self.sparseWeights[$0] != nil } }

    /// Fits the model (see `Model.fit`).
    public mutating func fit(
        _ training: Dataset,
        validation: Dataset?,
        options: TrainingOptions,
        callbacks: TrainingCallbacks
    ) throws(TrainingError) -> TrainingSummary {
        var loop = GradientTraining(
            network: self.network,
            options: options,
            l2: options.l2,
            isClassifier: self.network.loss != .meanSquaredError,
            producesProbabilities: true
        )
        loop.heldAtZero = self.heldAtZero
        loop.soft = self.soft
        var generator = SeededGenerator(seed: options.seed &+ 1)
        let summary = try loop.run(training, validation: validation, callbacks: callbacks, generator: &generator)
        self.network = loop.network
        self.sparseWeights = []
        return summary
    }

    /// Raw outputs for standardised rows (see `Model.outputs`).
    public func outputs(_ rows: Matrix, threads: Int) -> Matrix {
        self.network.forward(rows, threads: threads, sparse: self.sparseWeights)
    }

    /// Whether `outputs` are class probabilities.
    public var producesProbabilities: Bool { self.network.loss != .meanSquaredError }

    /// The learned parameters, as stored in a snapshot.
    public var parameters: ModelSnapshot.Parameters {
        .dense(
            DenseNetParameters(
                layers: self.network.layers.indices.map { l in
                    let shape = self.network.layers[l]
                    return .init(
                        inputs: shape.inputs,
                        units: shape.units,
                        activation: shape.activation,
                        weights: self.network.weights(ofLayer: l),
                        biases: self.network.biases(ofLayer: l)
                    )
                },
                loss: self.network.loss
            )
        )
    }
}
