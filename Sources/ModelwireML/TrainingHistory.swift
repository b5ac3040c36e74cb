import ModelwireData

/// One epoch of a training run, as its trainer reported it at the epoch's end (`TrainingProgress`
/// of kind `.epochEnd`): an epoch over the training rows for the mini-batch trainers (dense nets,
/// SGD linear models), one boosting iteration for gradient-boosted trees, and a single entry for a
/// decision tree (epoch 1), a forest (epoch = its trees) and the full-data linear solvers (epoch =
/// their iterations or passes).
public struct TrainingEpoch: Sendable, Equatable {
    /// The epoch (or boosting iteration), 1-based.
    public var epoch: Int
    /// The mean training loss; nil for families without one (a tree, a forest).
    public var loss: Float?
    /// The training accuracy over the epoch's rows (classification with a mini-batch trainer).
    public var accuracy: Float?
    /// The validation loss, when there is a validation split and the family reports one.
    public var validationLoss: Float?
    /// The validation accuracy, for classification with a validation split.
    public var validationAccuracy: Float?

    /// Creates an epoch record.
    public init(
        epoch: Int,
        loss: Float? = nil,
        accuracy: Float? = nil,
        validationLoss: Float? = nil,
        validationAccuracy: Float? = nil
    ) {
        self.epoch = epoch
        self.loss = loss
        self.accuracy = accuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
    }

    /// The same epoch with no training loss.
    var withoutLoss: TrainingEpoch {
        TrainingEpoch(
            epoch: epoch,
            accuracy: accuracy,
            validationLoss: validationLoss,
            validationAccuracy: validationAccuracy
        )
    }
}

/// A training run's per-epoch history, bounded so that a long run cannot grow a model file (or a
/// job's memory) without bound: at most `capacity` epochs are kept. When a record would pass it,
/// every second kept epoch is dropped and the stride doubles, so the kept epochs are always
/// `1, 1 + stride, 1 + 2·stride, …` (evenly spaced over the whole run) plus the latest one.
public struct TrainingHistory: Sendable, Equatable {
    /// The default cap: 10,000 epochs (about 40 bytes each in memory, 25 in a model file).
    public static let defaultCapacity = 10_000

    /// The most epochs kept.
    public let capacity: Int
    /// The kept epochs, in order; the last is the latest recorded.
    public private(set) var epochs: [TrainingEpoch] = []
    /// The spacing of the kept epochs (1 until the history first fills).
    public private(set) var stride = 1

    /// Creates an empty history.
    /// - Parameter capacity: The most epochs kept; at least 2 (the first and the latest).
    public init(capacity: Int = Self.defaultCapacity) {
        precondition(capacity >= 2, "a history keeps at least the first and the latest epoch")
        self.capacity = capacity
    }

    /// Records an epoch-end report; batch reports are ignored.
    public mutating func record(_ progress: TrainingProgress) {
        guard progress.kind == .epochEnd else { return }
        record(
            TrainingEpoch(
                epoch: progress.epoch,
                loss: progress.loss,
                accuracy: progress.accuracy,
                validationLoss: progress.validationLoss,
                validationAccuracy: progress.validationAccuracy
            )
        )
    }

    /// Records an epoch. A record for the epoch recorded last amends it: its values win, the earlier
    /// record's fill what it lacks (gradient boosting reports its last iteration again at the end,
    /// then with the validation metrics).
    public mutating func record(_ epoch: TrainingEpoch) {
        if let last = epochs.last, last.epoch == epoch.epoch {
            epochs[epochs.count - 1] = TrainingEpoch(
                epoch: epoch.epoch,
                loss: epoch.loss ?? last.loss,
                accuracy: epoch.accuracy ?? last.accuracy,
                validationLoss: epoch.validationLoss ?? last.validationLoss,
                validationAccuracy: epoch.validationAccuracy ?? last.validationAccuracy
            )
            return
        }
        if let last = epochs.last, !isKept(last.epoch) { epochs.removeLast() }  // it was only the latest
        epochs.append(epoch)
        guard epochs.count > capacity else { return }
        stride *= 2
        let latest = epochs.removeLast()
        let stride = self.stride
        epochs.removeAll { ($0.epoch - 1) % stride != 0 }
        epochs.append(latest)
    }

    /// Whether `epoch` lies on the grid of kept epochs.
    private func isKept(_ epoch: Int) -> Bool { (epoch - 1) % stride == 0 }
}

extension Model {
    /// `fit`, with its epoch-end reports kept in the summary's `history` (a `TrainingHistory`):
    /// what `Trainer.train` and `Trainer.fineTune` call.
    mutating func fitKeepingHistory(
        _ training: Dataset,
        validation: Dataset?,
        options: TrainingOptions,
        callbacks: TrainingCallbacks
    ) throws(TrainingError) -> TrainingSummary {
        var history = TrainingHistory()
        let progress = callbacks.progress
        var summary = try fit(
            training,
            validation: validation,
            options: options,
            callbacks: TrainingCallbacks(
                progress: {
                    history.record($0)
                    progress($0)
                },
                isCancelled: callbacks.isCancelled
            )
        )
        // A family without a training loss (a tree, a forest) reports 0 in `TrainingProgress.loss`.
        summary.history = summary.finalLoss == nil ? history.epochs.map { $0.withoutLoss } : history.epochs
        return summary
    }
}
