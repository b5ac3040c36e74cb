/// A trained model as a plain value: everything needed to predict again, and a summary of
/// the training. It mirrors `proto/modelwire/v1/model_file.proto` field for field; the
/// server maps one to the other. Round trips through `TrainedModel(snapshot:)` are bit-exact.
public struct ModelSnapshot: Sendable, Equatable {
    /// What the model predicts.
    public enum Task: String, Sendable, Hashable, Codable {
        /// A class per row.
        case classification
        /// A real value per row.
        case regression
    }

    /// The model family and its learned parameters.
    public enum Parameters: Sendable, Equatable {
        /// A dense neural network.
        case dense(DenseNetParameters)
        /// Logistic regression or a linear SVM.
        case linear(LinearParameters)
        /// A CART decision tree.
        case tree(TreeParameters)
        /// A random forest.
        case forest(ForestParameters)
        /// Gradient-boosted trees.
        case gbdt(GradientBoostingParameters)
        /// An int8 dense network (made by `Quantization` from a dense one).
        case quantizedDense(QuantizedDenseParameters)
        /// An int8 linear model (made by `Quantization` from a linear one).
        case quantizedLinear(QuantizedLinearParameters)
    }

    /// The task.
    public var task: Task
    /// The input feature names, in input order.
    public var featureNames: [String]
    /// Class names; class id `i` is `classNames[i]`. Empty for regression.
    public var classNames: [String]
    /// The standardisation applied to inputs before the model, if any.
    public var standardization: Standardization?
    /// The training mean of each input feature (Explain's baseline); empty when not recorded
    /// (snapshots from before it, imported models).
    public var featureMeans: [Float]
    /// The learned parameters.
    public var parameters: Parameters
    /// How the training went.
    public var training: TrainingSummary

    /// Creates a snapshot.
    public init(
        task: Task,
        featureNames: [String],
        classNames: [String],
        standardization: Standardization?,
        parameters: Parameters,
        training: TrainingSummary,
        featureMeans: [Float] = []
    ) {
        self.task = task
        self.featureNames = featureNames
        self.classNames = classNames
        self.standardization = standardization
        self.featureMeans = featureMeans
        self.parameters = parameters
        self.training = training
    }
}

/// A dense network's layers and loss.
public struct DenseNetParameters: Sendable, Equatable {
    /// One fully connected layer.
    public struct DenseLayer: Sendable, Equatable {
        /// Inputs to the layer.
        public var inputs: Int
        /// Units of the layer.
        public var units: Int
        /// The activation.
        public var activation: Activation
        /// inputs × units, row-major: the weight from input i to unit j is at `i * units + j`.
        public var weights: [Float]
        /// One bias per unit.
        public var biases: [Float]

        /// Creates a layer.
        public init(inputs: Int, units: Int, activation: Activation, weights: [Float], biases: [Float]) {
            self.inputs = inputs
            self.units = units
            self.activation = activation
            self.weights = weights
            self.biases = biases
        }
    }

    /// The layers, input to output.
    public var layers: [DenseLayer]
    /// The loss the network was trained with.
    public var loss: Loss

    /// Creates parameters.
    public init(layers: [DenseLayer], loss: Loss) {
        self.layers = layers
        self.loss = loss
    }
}

/// A linear model: `scores = x · W + b`.
///
/// Logistic regression is multinomial and always has one output per class (softmax over them).
/// A linear SVM has one output per class (one-vs-rest) when there are three or more classes,
/// and a single output for two classes (positive score → class 1), as scikit-learn's LinearSVC.
public struct LinearParameters: Sendable, Equatable {
    /// Which linear model.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Multinomial logistic regression (probabilities).
        case logistic
        /// Linear SVM, hinge loss (decision scores only).
        case svm
    }

    /// Which linear model.
    public var kind: Kind
    /// Input width.
    public var inputs: Int
    /// Output width.
    public var outputs: Int
    /// inputs × outputs, row-major.
    public var weights: [Float]
    /// One bias per output.
    public var biases: [Float]

    /// Creates parameters.
    public init(kind: Kind, inputs: Int, outputs: Int, weights: [Float], biases: [Float]) {
        self.kind = kind
        self.inputs = inputs
        self.outputs = outputs
        self.weights = weights
        self.biases = biases
    }
}

/// A binary decision tree stored as parallel arrays, one entry per node; node 0 is the root.
public struct TreeParameters: Sendable, Equatable {
    /// The impurity the tree was grown with.
    public enum Criterion: String, Sendable, Hashable, Codable {
        /// Gini impurity (classification).
        case gini
        /// Shannon entropy (classification).
        case entropy
        /// Mean squared error (regression).
        case mse
    }

    /// The split criterion.
    public var criterion: Criterion
    /// Values per node: the class count, or 1 for regression.
    public var outputs: Int
    /// The feature a node tests, or -1 for a leaf.
    public var feature: [Int32]
    /// Go left when `x[feature] <= threshold`.
    public var threshold: [Float]
    /// The left child's index (-1 for a leaf).
    public var left: [Int32]
    /// The right child's index (-1 for a leaf).
    public var right: [Int32]
    /// nodes × outputs, row-major: class probabilities at the node, or the regression value.
    public var value: [Float]
    /// The training weight that reached each node (rows, counted with their bootstrap
    /// multiplicity in a forest), or empty when not recorded.
    public var weight: [Float]

    /// Creates parameters.
    public init(
        criterion: Criterion,
        outputs: Int,
        feature: [Int32],
        threshold: [Float],
        left: [Int32],
        right: [Int32],
        value: [Float],
        weight: [Float] = []
    ) {
        self.criterion = criterion
        self.outputs = outputs
        self.feature = feature
        self.threshold = threshold
        self.left = left
        self.right = right
        self.value = value
        self.weight = weight
    }
}

/// A random forest: its outputs are the mean of the trees' (class fractions or values).
public struct ForestParameters: Sendable, Equatable {
    /// The trees, all with the same criterion and outputs.
    public var trees: [TreeParameters]

    /// Creates parameters.
    public init(trees: [TreeParameters]) {
        self.trees = trees
    }
}

/// Gradient-boosted trees: raw score k = `baseline[k]` + Σ over iterations of tree
/// `iteration * outputs + k`'s leaf value (leaf values include the learning rate), then the
/// loss's link: identity, the logistic function (one output: P(class 1)) or a softmax.
public struct GradientBoostingParameters: Sendable, Equatable {
    /// The loss the trees were fitted to.
    public enum Loss: String, Sendable, Hashable, Codable {
        /// ½(y − ŷ)² (regression).
        case squaredError
        /// Binary log loss on one raw score.
        case logLoss
        /// Multinomial log loss on one raw score per class.
        case multinomial
    }

    /// The loss.
    public var loss: Loss
    /// Raw scores per row: 1, or the class count for `.multinomial`.
    public var outputs: Int
    /// The initial raw score per output.
    public var baseline: [Float]
    /// Iteration-major trees, `outputs` per iteration, each with one value per node (criterion mse).
    public var trees: [TreeParameters]

    /// Creates parameters.
    public init(loss: Loss, outputs: Int, baseline: [Float], trees: [TreeParameters]) {
        self.loss = loss
        self.outputs = outputs
        self.baseline = baseline
        self.trees = trees
    }
}

/// Per-feature standardisation `(x − mean) / scale`, fitted on the training rows only.
public struct Standardization: Sendable, Equatable {
    /// The training mean of each feature.
    public var mean: [Float]
    /// The training population standard deviation (ddof 0) of each feature, 1 where it is 0.
    public var scale: [Float]

    /// Creates a standardisation.
    public init(mean: [Float], scale: [Float]) {
        precondition(mean.count == scale.count, "one mean and one scale per feature")
        self.mean = mean
        self.scale = scale
    }
}

/// How a training run went.
public struct TrainingSummary: Sendable, Equatable {
    /// Epochs completed: 1 for a decision tree, the trees of a forest, the boosting iterations of
    /// gbdt, the L-BFGS iterations or coordinate descent passes of the full-data linear solvers.
    public var epochsRun: Int
    /// Rows the model was fitted on (validation rows excluded).
    public var trainingSamples: Int
    /// Wall-clock seconds the fit took.
    public var durationSeconds: Double
    /// The last epoch's mean training loss (the final objective of the full-data linear solvers,
    /// gbdt's mean training loss); absent for a tree or forest.
    public var finalLoss: Float?
    /// The validation loss of the kept weights, when there was a validation split and the model has one.
    public var validationLoss: Float?
    /// The validation accuracy of the kept weights, for classification with a validation split.
    public var validationAccuracy: Float?
    /// Whether early stopping ended the run before the last epoch.
    public var earlyStopped: Bool
    /// The run's epochs as `TrainingHistory` kept them (at most `TrainingHistory.defaultCapacity`);
    /// `Trainer.train` and `Trainer.fineTune` fill it in; the families' `fit` leaves it empty.
    public var history: [TrainingEpoch]

    /// Creates a summary.
    public init(
        epochsRun: Int,
        trainingSamples: Int,
        durationSeconds: Double,
        finalLoss: Float? = nil,
        validationLoss: Float? = nil,
        validationAccuracy: Float? = nil,
        earlyStopped: Bool = false,
        history: [TrainingEpoch] = []
    ) {
        self.epochsRun = epochsRun
        self.trainingSamples = trainingSamples
        self.durationSeconds = durationSeconds
        self.finalLoss = finalLoss
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.earlyStopped = earlyStopped
        self.history = history
    }
}
