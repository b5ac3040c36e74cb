import ModelwireData

/// What tree-based families (tree, forest, gbdt) share around their growers.
enum TreeFitting {
    /// Validation metrics of a fitted model: mean squared error for regression, accuracy for
    /// classification (either nil without validation rows).
    static func validationMetrics(
        _ model: some Model,
        on validation: Dataset?,
        regression: Bool
    ) -> (loss: Float?, accuracy: Float?) {
        guard let validation, validation.rows > 0 else { return (nil, nil) }
        let out = model.outputs(
            Matrix(rows: validation.rows, columns: validation.columns, values: validation.features),
            threads: 1
        )
        if regression {
            let sse = zip(out.values, validation.targetValues).reduce(0.0) {
                $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1))
            }
            return (Float(sse / Double(validation.rows)), nil)
        }
        let predicted = classes(fromOutputs: out, probabilities: model.producesProbabilities)
        let correct = zip(predicted, validation.classIDs).filter { $0.0 == $0.1 }.count
        return (nil, Float(correct) / Float(validation.rows))
    }

    /// Reports the end of a fit as one progress event and returns its summary.
    static func finish(
        _ model: some Model,
        training: Dataset,
        validation: Dataset?,
        regression: Bool,
        rounds: Int,
        finalLoss: Float? = nil,
        earlyStopped: Bool = false,
        start: ContinuousClock.Instant,
        callbacks: TrainingCallbacks
    ) -> TrainingSummary {
        let (loss, accuracy) = Self.validationMetrics(model, on: validation, regression: regression)
        let duration = seconds(since: start)
        callbacks.progress(
            TrainingProgress(
                kind: .epochEnd,
                epoch: rounds,
                epochs: rounds,
                batch: 1,
                batchesPerEpoch: 1,
                loss: finalLoss ?? 0,
                accuracy: nil,
                validationLoss: loss,
                validationAccuracy: accuracy,
                samplesPerSecond: duration > 0 ? Double(training.rows) / duration : 0,
                estimatedSecondsRemaining: 0
            )
        )
        return TrainingSummary(
            epochsRun: rounds,
            trainingSamples: training.rows,
            durationSeconds: duration,
            finalLoss: finalLoss,
            validationLoss: loss,
            validationAccuracy: accuracy,
            earlyStopped: earlyStopped
        )
    }
}
