/// A progress report during training.
public struct TrainingProgress: Sendable, Equatable {
    /// When the report was made.
    public enum Kind: Sendable, Hashable {
        /// Every `progressEveryBatches` batches within an epoch.
        case batch
        /// At the end of an epoch (validation metrics filled in).
        case epochEnd
    }

    /// When the report was made.
    public var kind: Kind
    /// The epoch, 1-based.
    public var epoch: Int
    /// The total epochs planned.
    public var epochs: Int
    /// Batches done in this epoch.
    public var batch: Int
    /// Batches per epoch.
    public var batchesPerEpoch: Int
    /// The mean training loss over this epoch's batches so far.
    public var loss: Float
    /// The training accuracy over this epoch's rows so far (classification only).
    public var accuracy: Float?
    /// The validation loss at epoch end, when there is a validation split.
    public var validationLoss: Float?
    /// The validation accuracy at epoch end, for classification with a validation split.
    public var validationAccuracy: Float?
    /// Training rows per second since the run started.
    public var samplesPerSecond: Double
    /// The estimated seconds left at the current speed.
    public var estimatedSecondsRemaining: Double

    /// Creates a report.
    public init(
        kind: Kind,
        epoch: Int,
        epochs: Int,
        batch: Int,
        batchesPerEpoch: Int,
        loss: Float,
        accuracy: Float?,
        validationLoss: Float?,
        validationAccuracy: Float?,
        samplesPerSecond: Double,
        estimatedSecondsRemaining: Double
    ) {
        self.kind = kind
        self.epoch = epoch
        self.epochs = epochs
        self.batch = batch
        self.batchesPerEpoch = batchesPerEpoch
        self.loss = loss
        self.accuracy = accuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.samplesPerSecond = samplesPerSecond
        self.estimatedSecondsRemaining = estimatedSecondsRemaining
    }
}
