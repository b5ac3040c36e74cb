import ModelwireCodec
import ModelwireML

extension V1.TrainProgress {
    init(_ p: TrainingProgress) {
        self.init(
            epoch: UInt32(p.epoch),
            epochs: UInt32(p.epochs),
            batch: UInt32(p.batch),
            batches: UInt32(p.batchesPerEpoch),
            loss: p.loss,
            accuracy: p.accuracy ?? 0,
            validationLoss: p.validationLoss,
            validationAccuracy: p.validationAccuracy,
            samplesPerSecond: Float(p.samplesPerSecond),
            etaSeconds: Float(p.estimatedSecondsRemaining),
            epochEnd: p.kind == .epochEnd
        )
    }
}
