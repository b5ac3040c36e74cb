/// How to train: optimizer, epochs, batches, validation, early stopping, seed.
///
/// Tree families (tree, forest, gbdt) and the full-data linear solvers read only
/// `validationSplit` (for their validation metrics), `seed` and `threads`; every other field
/// is for mini-batch training.
public struct TrainingOptions: Sendable, Hashable {
    /// Early stopping: end training when the monitored metric stops improving.
    public struct EarlyStopping: Sendable, Hashable {
        /// A metric to watch.
        public enum Metric: String, Sendable, Hashable, Codable {
            /// Validation loss (lower is better).
            case validationLoss
            /// Validation accuracy (higher is better).
            case validationAccuracy
            /// Training loss (lower is better).
            case loss
            /// Training accuracy (higher is better).
            case accuracy

            var higherIsBetter: Bool { self == .validationAccuracy || self == .accuracy }
        }

        /// The watched metric (needs a validation split for the validation ones).
        public var monitor: Metric
        /// Epochs without improvement before stopping.
        public var patience: Int
        /// The least change that counts as an improvement.
        public var minDelta: Float
        /// Put back the best epoch's weights when training ends.
        public var restoreBestWeights: Bool

        /// Creates settings.
        public init(
            monitor: Metric = .validationLoss,
            patience: Int = 5,
            minDelta: Float = 0,
            restoreBestWeights: Bool = true
        ) {
            self.monitor = monitor
            self.patience = patience
            self.minDelta = minDelta
            self.restoreBestWeights = restoreBestWeights
        }
    }

    /// The optimizer.
    public var optimizer: OptimizerSettings
    /// Passes over the training rows.
    public var epochs: Int
    /// Rows per step (ignored by `.gradientDescent`, which uses every row).
    public var batchSize: Int
    /// The share of rows held out for validation (0 for none), taken after a seeded shuffle.
    public var validationSplit: Double
    /// Early stopping, or `nil`.
    public var earlyStopping: EarlyStopping?
    /// Seed for initialisation, shuffling and the validation split.
    public var seed: UInt64
    /// L2 coefficient λ on weights (penalty λ·Σw²); linear models use their spec's instead.
    public var l2: Float
    /// Report progress every this many batches (0: only at the end of each epoch).
    public var progressEveryBatches: Int
    /// Standardise features (fitted on the training rows). Trees ignore it.
    public var standardize: Bool
    /// Threads a large batch's matrix products may be split over (small batches such as the
    /// reference 32 rows stay on one thread: the hand-off would cost more than it saves).
    public var threads: Int

    /// Creates options; the defaults are the reference run (Adam, 10 epochs, batch 32).
    public init(
        optimizer: OptimizerSettings = .adam,
        epochs: Int = 10,
        batchSize: Int = 32,
        validationSplit: Double = 0,
        earlyStopping: EarlyStopping? = nil,
        seed: UInt64 = 0,
        l2: Float = 0,
        progressEveryBatches: Int = 0,
        standardize: Bool = true,
        threads: Int = 1
    ) {
        self.optimizer = optimizer
        self.epochs = epochs
        self.batchSize = batchSize
        self.validationSplit = validationSplit
        self.earlyStopping = earlyStopping
        self.seed = seed
        self.l2 = l2
        self.progressEveryBatches = progressEveryBatches
        self.standardize = standardize
        self.threads = max(1, threads)
    }

    /// The reference run's options.
    public static let defaults = TrainingOptions()

    /// The defaults, changed by `configure`.
    public static func defaults(_ configure: (inout TrainingOptions) -> Void) -> TrainingOptions {
        var options = TrainingOptions()
        configure(&options)
        return options
    }
}
