import ModelwireData

/// Multinomial logistic regression or a linear SVM (hinge loss, one-vs-rest), trained by
/// the same mini-batch loop as dense nets with the spec's L2 penalty.
public struct LinearModel: Model {
    /// Which linear model.
    public let kind: LinearParameters.Kind
    private var network: DenseNetwork
    private let l2: Float

    /// A zero-initialised linear model (the loss is convex, so no random start is needed).
    /// - Parameters:
    ///   - kind: Logistic or SVM.
    ///   - spec: The L2 coefficient.
    ///   - inputs: Feature count.
    ///   - classes: Class count (≥ 2). A binary SVM has one output.
    public init(kind: LinearParameters.Kind, spec: LinearSpec, inputs: Int, classes: Int) {
        self.kind = kind
        self.l2 = spec.l2
        switch kind {
        case .logistic:
            self.network = DenseNetwork(inputs: inputs, layers: [(classes, .softmax)], loss: .sparseCategoricalCrossEntropy)
        case .svm:
            self.network = DenseNetwork(inputs: inputs, layers: [(classes == 2 ? 1 : classes, .linear)], loss: .hinge)
        }
    }

    /// Rebuilds a model from snapshot parameters.
    /// - Parameter parameters: Kind, weights and biases.
    public init(parameters: LinearParameters) {
        self.init(kind: parameters.kind, spec: LinearSpec(l2: 0), inputs: parameters.inputs,
                  classes: parameters.kind == .svm && parameters.outputs == 1 ? 2 : parameters.outputs)
        self.network.setLayer(0, weights: parameters.weights, biases: parameters.biases)
    }

    /// Fits the model (see `Model.fit`).
    public mutating func fit(_ training: Dataset, validation: Dataset?, options: TrainingOptions,
                             callbacks: TrainingCallbacks) throws(TrainingError) -> TrainingSummary {
        var loop = GradientTraining(network: self.network, options: options, l2: self.l2, isClassifier: true,
                                    producesProbabilities: self.producesProbabilities)
        var generator = SeededGenerator(seed: options.seed &+ 1)
        let summary = try loop.run(training, validation: validation, callbacks: callbacks, generator: &generator)
        self.network = loop.network
        return summary
    }

    /// Raw outputs for standardised rows (see `Model.outputs`).
    public func outputs(_ rows: Matrix, threads: Int) -> Matrix {
        self.network.forward(rows, threads: threads)
    }

    /// Whether `outputs` are class probabilities.
    public var producesProbabilities: Bool { self.kind == .logistic }

    /// The learned parameters, as stored in a snapshot.
    public var parameters: ModelSnapshot.Parameters {
        .linear(LinearParameters(kind: self.kind, inputs: self.network.inputs, outputs: self.network.outputs,
                                 weights: self.network.weights(ofLayer: 0), biases: self.network.biases(ofLayer: 0)))
    }
}
