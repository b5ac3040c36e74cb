import ModelwireCodec
import ModelwireML

extension V1.TrainingEpoch {
    /// The wire form of an epoch record (`TrainingSummary.history`).
    init(_ e: TrainingEpoch) {
        self.init(
            epoch: UInt32(clamping: e.epoch),
            loss: e.loss,
            accuracy: e.accuracy,
            validationLoss: e.validationLoss,
            validationAccuracy: e.validationAccuracy
        )
    }
}

extension TrainingEpoch {
    /// An epoch record read from a model file.
    init(wire e: V1.TrainingEpoch) {
        self.init(
            epoch: Int(e.epoch),
            loss: e.loss,
            accuracy: e.accuracy,
            validationLoss: e.validationLoss,
            validationAccuracy: e.validationAccuracy
        )
    }
}
