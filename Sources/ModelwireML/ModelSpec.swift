/// Which model to train and its hyper-parameters (everything but the optimisation, which is
/// `TrainingOptions`).
public enum ModelSpec: Sendable, Hashable {
    /// A dense network: hidden layers, then an output layer sized by the task.
    case dense(DenseNetSpec)
    /// Multinomial logistic regression (softmax over one output per class).
    case logistic(LinearSpec)
    /// A linear SVM with hinge loss, one-vs-rest.
    case svm(LinearSpec)
    /// A CART decision tree.
    case tree(TreeSpec)

    /// The reference network: two hidden layers of 64 relu units.
    public static let referenceNetwork = ModelSpec.dense(DenseNetSpec())
}

/// A dense network's architecture.
public struct DenseNetSpec: Sendable, Hashable {
    /// One hidden layer.
    public struct Layer: Sendable, Hashable {
        /// Units.
        public var units: Int
        /// Activation.
        public var activation: Activation

        /// Creates a layer.
        public init(units: Int, activation: Activation) {
            self.units = units
            self.activation = activation
        }
    }

    /// Hidden layers, input side first (may be empty).
    public var hiddenLayers: [Layer]
    /// The output activation; `nil` picks from the task: softmax for classification (sigmoid
    /// when asked for with two classes), linear for regression.
    public var outputActivation: Activation?

    /// How the initial weights are drawn.
    public var initializer: WeightInitializer

    /// Creates a spec (default: 64 relu → 64 relu, Glorot uniform).
    /// - Parameters:
    ///   - hiddenLayers: The hidden layers.
    ///   - outputActivation: The output activation, or `nil` for the task's default.
    ///   - initializer: The weight initialisation (Glorot uniform, as Keras).
    public init(hiddenLayers: [Layer] = [Layer(units: 64, activation: .relu), Layer(units: 64, activation: .relu)],
                outputActivation: Activation? = nil, initializer: WeightInitializer = .glorotUniform) {
        self.hiddenLayers = hiddenLayers
        self.outputActivation = outputActivation
        self.initializer = initializer
    }
}

/// A linear model's regularisation.
public struct LinearSpec: Sendable, Hashable {
    /// L2 coefficient λ: the penalty λ·Σw² is added to the mean loss (overrides `TrainingOptions.l2`).
    public var l2: Float

    /// Creates a spec.
    /// - Parameter l2: λ (default 1e-4).
    public init(l2: Float = 1e-4) {
        self.l2 = l2
    }
}

/// A decision tree's growth limits.
public struct TreeSpec: Sendable, Hashable {
    /// The impurity; `nil` means gini for classification, mse for regression.
    public var criterion: TreeParameters.Criterion?
    /// The deepest a leaf may be (the root is depth 0); `nil` for no limit.
    public var maxDepth: Int?
    /// A node with fewer rows is not split (≥ 2).
    public var minSamplesSplit: Int
    /// Each child of a split keeps at least this many rows (≥ 1).
    public var minSamplesLeaf: Int

    /// Creates a spec (scikit-learn's defaults: unlimited depth, 2, 1).
    public init(criterion: TreeParameters.Criterion? = nil, maxDepth: Int? = nil, minSamplesSplit: Int = 2,
                minSamplesLeaf: Int = 1) {
        self.criterion = criterion
        self.maxDepth = maxDepth
        self.minSamplesSplit = minSamplesSplit
        self.minSamplesLeaf = minSamplesLeaf
    }
}

/// How a dense network's initial weights are drawn (biases start at zero).
public enum WeightInitializer: String, Sendable, Hashable, CaseIterable, Codable {
    /// U(−l, l) with l = √(6 / (fan_in + fan_out)) for every layer (Keras's default).
    case glorotUniform
    /// U(−l, l) with l = √(6 / fan_in) for relu layers, Glorot uniform for the others.
    case heUniform
}
