/// Which model to train and its hyper-parameters (everything but the optimisation, which is
/// `TrainingOptions`).
public enum ModelSpec: Sendable, Hashable {
    /// A dense network: hidden layers, then an output layer sized by the task.
    case dense(DenseNetSpec)
    /// Logistic regression: binomial for two classes, multinomial (softmax) for more.
    case logistic(LinearSpec)
    /// A linear SVM (squared hinge or hinge), one-vs-rest.
    case svm(LinearSpec)
    /// A CART decision tree.
    case tree(TreeSpec)
    /// A random forest of CART trees.
    case forest(ForestSpec)
    /// Histogram gradient-boosted trees.
    case gbdt(GradientBoostingSpec)

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
    public init(
        hiddenLayers: [Layer] = [Layer(units: 64, activation: .relu), Layer(units: 64, activation: .relu)],
        outputActivation: Activation? = nil,
        initializer: WeightInitializer = .glorotUniform
    ) {
        self.hiddenLayers = hiddenLayers
        self.outputActivation = outputActivation
        self.initializer = initializer
    }
}

/// A linear model's solver and regularisation.
///
/// Defaults are scikit-learn's: logistic regression is `LogisticRegression()` (L-BFGS on the
/// full data, `C = 1`, `tol = 1e-4`, `max_iter = 100`), the SVM is `LinearSVC()` (squared
/// hinge, `C = 1`, `tol = 1e-4`, `max_iter = 1000`, and like its `dual="auto"` the primal by
/// L-BFGS when there are more training rows than features, else dual coordinate descent). `C` is the
/// inverse regularisation strength of `½‖w‖² + C·Σᵢ lossᵢ`; on n training rows it is the
/// mini-batch path's `l2 = 1 / (2·C·n)` (and `l2 = λ` is `C = 1 / (2·λ·n)`).
public struct LinearSpec: Sendable, Hashable {
    /// How the weights are found.
    public enum Solver: String, Sendable, Hashable, Codable {
        /// L-BFGS on the full data to `tolerance`: logistic regression, or the squared-hinge
        /// SVM's primal (stopping when the largest gradient component has shrunk by `tolerance`).
        case lbfgs
        /// Dual coordinate descent with shrinking, one-vs-rest (linear SVM only).
        case dualCoordinateDescent
        /// The mini-batch loop of dense nets (`TrainingOptions` epochs, optimizer, batch size)
        /// with the penalty `l2`; for data that does not fit in memory.
        case sgd
    }

    /// The linear SVM's loss.
    public enum SVMLoss: String, Sendable, Hashable, Codable {
        /// max(0, 1 − y·s)² (LinearSVC's default).
        case squaredHinge
        /// max(0, 1 − y·s).
        case hinge
    }

    /// The solver; `nil` means L-BFGS for logistic regression and, for the SVM, L-BFGS on the
    /// primal with the squared hinge and more rows than features, else dual coordinate descent.
    public var solver: Solver?
    /// Inverse regularisation strength (> 0, finite), for `.lbfgs` and `.dualCoordinateDescent`.
    public var c: Double
    /// Stopping tolerance (> 0): the largest gradient component for L-BFGS, the projected
    /// gradient spread for dual coordinate descent.
    public var tolerance: Double
    /// Iteration limit (≥ 1); `nil` means 100 for L-BFGS and 1000 for dual coordinate descent.
    public var maxIterations: Int?
    /// The SVM's loss for dual coordinate descent (the `.sgd` SVM uses the hinge).
    public var svmLoss: SVMLoss
    /// Whether dual coordinate descent shrinks the active set.
    public var shrinking: Bool
    /// L2 coefficient λ for `.sgd` only: the penalty λ·Σw² is added to the mean loss
    /// (overrides `TrainingOptions.l2`).
    public var l2: Float

    /// Creates a spec (scikit-learn's defaults, see the type's documentation).
    public init(
        solver: Solver? = nil,
        c: Double = 1,
        tolerance: Double = 1e-4,
        maxIterations: Int? = nil,
        svmLoss: SVMLoss = .squaredHinge,
        shrinking: Bool = true,
        l2: Float = 1e-4
    ) {
        self.solver = solver
        self.c = c
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.svmLoss = svmLoss
        self.shrinking = shrinking
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
    /// Histogram split finding on at most this many bins per feature (2...65535), or `nil`
    /// for the exact sort-based search. A feature with at most `maxBins` distinct training
    /// values gets one bin per value, where both searches grow the same tree.
    public var maxBins: Int?

    /// Creates a spec (scikit-learn's defaults: unlimited depth, 2, 1; 256 bins).
    public init(
        criterion: TreeParameters.Criterion? = nil,
        maxDepth: Int? = nil,
        minSamplesSplit: Int = 2,
        minSamplesLeaf: Int = 1,
        maxBins: Int? = 256
    ) {
        self.criterion = criterion
        self.maxDepth = maxDepth
        self.minSamplesSplit = minSamplesSplit
        self.minSamplesLeaf = minSamplesLeaf
        self.maxBins = maxBins
    }

    /// Checks the limits.
    /// - Throws: `TrainingError.invalidArgument` naming the first bad one.
    func validate() throws(TrainingError) {
        guard self.minSamplesSplit >= 2 else {
            throw TrainingError(.invalidArgument, "minSamplesSplit must be ≥ 2, got \(self.minSamplesSplit)")
        }
        guard self.minSamplesLeaf >= 1 else {
            throw TrainingError(.invalidArgument, "minSamplesLeaf must be ≥ 1, got \(self.minSamplesLeaf)")
        }
        if let maxDepth = self.maxDepth, maxDepth < 0 {
            throw TrainingError(.invalidArgument, "maxDepth must be ≥ 0, got \(maxDepth)")
        }
        if let maxBins = self.maxBins, maxBins < 2 || maxBins > 65535 {
            throw TrainingError(.invalidArgument, "maxBins must be in 2...65535, got \(maxBins)")
        }
    }
}

/// A random forest (scikit-learn's `RandomForestClassifier/Regressor` defaults): each tree
/// is grown on a bootstrap sample of the rows, trying `maxFeatures` random features per split;
/// predictions average the trees' class fractions (or values).
public struct ForestSpec: Sendable, Hashable {
    /// How many features each split tries.
    public enum MaxFeatures: Sendable, Hashable {
        /// ⌊√features⌋ (at least 1).
        case sqrt
        /// ⌊log₂ features⌋ (at least 1).
        case log2
        /// All features.
        case all
        /// This share of the features, in (0, 1] (at least 1 feature).
        case fraction(Double)
        /// This many features (1 ... features).
        case count(Int)
    }

    /// Trees (1...10000).
    public var trees: Int
    /// Each tree's criterion and growth limits (unlimited depth by default) and histogram bins.
    public var tree: TreeSpec
    /// Features tried per split; `nil` means `.sqrt` for classification, `.all` for regression.
    public var maxFeatures: MaxFeatures?
    /// Grow each tree on a bootstrap sample (n rows drawn with replacement); else on all rows.
    public var bootstrap: Bool
    /// Threads growing trees at once (1...64). Each tree's randomness comes from the seed and
    /// its index only, so the forest is the same for every thread count.
    public var threads: Int

    /// Creates a spec (scikit-learn's defaults: 100 trees, bootstrap, sqrt or all features).
    public init(
        trees: Int = 100,
        tree: TreeSpec = TreeSpec(),
        maxFeatures: MaxFeatures? = nil,
        bootstrap: Bool = true,
        threads: Int = 1
    ) {
        self.trees = trees
        self.tree = tree
        self.maxFeatures = maxFeatures
        self.bootstrap = bootstrap
        self.threads = threads
    }
}

/// Histogram gradient-boosted trees (scikit-learn's `HistGradientBoostingClassifier/Regressor`
/// defaults): each iteration fits one tree per output to the loss's gradients, leaf-wise up to
/// `maxLeafNodes` leaves, with leaf values −G/(H + l2) shrunk by `learningRate`.
public struct GradientBoostingSpec: Sendable, Hashable {
    /// When to stop early on a held-out share of the training rows.
    public enum EarlyStopping: Sendable, Hashable {
        /// On when the training set has more than 10 000 rows (scikit-learn's "auto").
        case auto
        /// Always.
        case on
        /// Never: all `iterations` are run.
        case off
    }

    /// Boosting iterations (1...100000).
    public var iterations: Int
    /// Shrinkage of every leaf value, in (0, 1].
    public var learningRate: Double
    /// The most leaves per tree (≥ 2), or `nil` for no limit.
    public var maxLeafNodes: Int?
    /// The deepest a leaf may be, or `nil` for no limit.
    public var maxDepth: Int?
    /// Each leaf keeps at least this many rows (≥ 1).
    public var minSamplesLeaf: Int
    /// L2 penalty on leaf values (≥ 0).
    public var l2: Double
    /// Bins per feature (2...65535; scikit-learn's 255).
    public var maxBins: Int
    /// Early stopping.
    public var earlyStopping: EarlyStopping
    /// The share of training rows held out for early stopping, in (0, 1).
    public var validationFraction: Double
    /// Stop when none of the last this many iterations improved the held-out loss by more than `tolerance`.
    public var iterationsWithoutChange: Int
    /// The improvement that counts.
    public var tolerance: Double

    /// Creates a spec (scikit-learn's defaults).
    public init(
        iterations: Int = 100,
        learningRate: Double = 0.1,
        maxLeafNodes: Int? = 31,
        maxDepth: Int? = nil,
        minSamplesLeaf: Int = 20,
        l2: Double = 0,
        maxBins: Int = 255,
        earlyStopping: EarlyStopping = .auto,
        validationFraction: Double = 0.1,
        iterationsWithoutChange: Int = 10,
        tolerance: Double = 1e-7
    ) {
        self.iterations = iterations
        self.learningRate = learningRate
        self.maxLeafNodes = maxLeafNodes
        self.maxDepth = maxDepth
        self.minSamplesLeaf = minSamplesLeaf
        self.l2 = l2
        self.maxBins = maxBins
        self.earlyStopping = earlyStopping
        self.validationFraction = validationFraction
        self.iterationsWithoutChange = iterationsWithoutChange
        self.tolerance = tolerance
    }
}

/// How a dense network's initial weights are drawn (biases start at zero).
public enum WeightInitializer: String, Sendable, Hashable, CaseIterable, Codable {
    /// U(−l, l) with l = √(6 / (fan_in + fan_out)) for every layer (Keras's default).
    case glorotUniform
    /// U(−l, l) with l = √(6 / fan_in) for relu layers, Glorot uniform for the others.
    case heUniform
}
