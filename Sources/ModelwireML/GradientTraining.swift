import Foundation
import ModelwireData

/// The mini-batch loop shared by every gradient-trained model (dense nets, logistic
/// regression, linear SVM): seeded shuffling, optimizer steps, progress, cancellation,
/// validation and early stopping.
struct GradientTraining {
    var network: DenseNetwork
    let options: TrainingOptions
    let l2: Float
    let isClassifier: Bool
    let producesProbabilities: Bool
    /// Flat parameter indices kept at zero after every step (fine-tuning a pruned net).
    var heldAtZero: [Int] = []
    /// A teacher's softened probabilities to learn from too (distillation); rows × outputs.
    var soft: SoftTargets?

    /// Targets as the loss wants them: class ids as Float, or regression values.
    static func targets(of dataset: Dataset) -> [Float] {
        switch dataset.targets {
        case .classes(_, let ids): ids.map { Float($0) }
        case .values(let values): values
        }
    }

    /// Mean loss and (classification) accuracy on a whole dataset.
    func evaluate(_ dataset: Dataset) -> (loss: Float, accuracy: Float?) {
        let input = Matrix(rows: dataset.rows, columns: dataset.columns, values: dataset.features)
        let outputs = self.network.forward(input, threads: self.options.threads)
        let targets = Self.targets(of: dataset)
        let loss = outputs.values.withUnsafeBufferPointer { o in
            targets.withUnsafeBufferPointer { t in
                self.network.loss.lossAndGradient(
                    outputs: o.baseAddress!,
                    targets: t.baseAddress!,
                    rows: dataset.rows,
                    columns: outputs.columns,
                    gradient: nil
                )
            }
        }
        guard self.isClassifier else { return (loss, nil) }
        let predicted = classes(fromOutputs: outputs, probabilities: self.producesProbabilities)
        let correct = zip(predicted, dataset.classIDs).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
        return (loss, Float(correct) / Float(max(dataset.rows, 1)))
    }

    /// Trains `network` in place and returns the run's summary.
    mutating func run(
        _ training: Dataset,
        validation: Dataset?,
        callbacks: TrainingCallbacks,
        generator: inout SeededGenerator
    ) throws(TrainingError) -> TrainingSummary {
        let start = ContinuousClock.now
        let rows = training.rows
        let columns = training.columns
        guard rows > 0 else { throw TrainingError(.invalidArgument, "no training rows") }
        let batchSize =
            self.options.optimizer.kind == .gradientDescent ? rows : max(1, min(self.options.batchSize, rows))
        let batches = (rows + batchSize - 1) / batchSize
        let epochs = max(self.options.epochs, 0)
        let targets = Self.targets(of: training)
        let workspace = BackpropagationWorkspace(network: self.network, capacity: batchSize)
        var optimizer = Optimizer(settings: self.options.optimizer, parameterCount: self.network.parameters.count)
        var batchX = [Float](repeating: 0, count: batchSize * columns)
        var batchY = [Float](repeating: 0, count: batchSize)
        var batchSoft = [Float](repeating: 0, count: self.soft == nil ? 0 : batchSize * self.network.outputs)
        var order = Array(0..<rows)
        let stopping = self.options.earlyStopping
        if let stopping, stopping.monitor == .validationLoss || stopping.monitor == .validationAccuracy,
            validation == nil
        {
            throw TrainingError(.invalidArgument, "early stopping on \(stopping.monitor) needs a validation split")
        }
        var best: (value: Float, parameters: [Float], validation: (loss: Float, accuracy: Float?)?)?
        var epochsWithoutImprovement = 0
        var epochsRun = 0
        var earlyStopped = false
        var lastLoss: Float?
        var lastValidation: (loss: Float, accuracy: Float?)?
        var samplesDone = 0
        let outputs = self.network.outputs

        for epoch in stride(from: 1, through: epochs, by: 1) {
            order.shuffle(using: &generator)
            var lossSum: Double = 0
            var correct = 0
            var seen = 0
            for batch in 0..<batches {
                if callbacks.isCancelled() {
                    throw TrainingError(.cancelled, "training cancelled in epoch \(epoch), before batch \(batch + 1)")
                }
                let lower = batch * batchSize
                let count = min(batchSize, rows - lower)
                training.features.withUnsafeBufferPointer { src in
                    batchX.withUnsafeMutableBufferPointer { dst in
                        for i in 0..<count {
                            let row = order[lower + i]
                            (dst.baseAddress! + i * columns).update(
                                from: src.baseAddress! + row * columns,
                                count: columns
                            )
                            batchY[i] = targets[row]
                        }
                    }
                }
                if let soft = self.soft {
                    let width = self.network.outputs
                    for i in 0..<count {
                        let row = order[lower + i]
                        for k in 0..<width { batchSoft[i * width + k] = soft.probabilities[row * width + k] }
                    }
                }
                let loss = batchX.withUnsafeBufferPointer { x in
                    batchY.withUnsafeBufferPointer { y in
                        batchSoft.withUnsafeBufferPointer { q in
                            self.network.backpropagate(
                                x.baseAddress!,
                                targets: y.baseAddress!,
                                rows: count,
                                l2: self.l2,
                                workspace: workspace,
                                threads: self.options.threads,
                                soft: self.soft.map { ($0.temperature, $0.alpha, q.baseAddress!) }
                            )
                        }
                    }
                }
                guard loss.isFinite else {
                    throw TrainingError(.diverged, "the loss became \(loss) in epoch \(epoch), batch \(batch + 1)")
                }
                if self.isClassifier {
                    correct += batchAccuracyCount(
                        workspace.activations[self.network.layers.count - 1],
                        rows: count,
                        columns: outputs,
                        targets: batchY
                    )
                }
                optimizer.update(&self.network.parameters, gradient: workspace.gradient)
                for i in self.heldAtZero { self.network.parameters[i] = 0 }
                lossSum += Double(loss) * Double(count)
                seen += count
                samplesDone += count
                let every = self.options.progressEveryBatches
                if every > 0, (batch + 1) % every == 0, batch + 1 < batches {
                    callbacks.progress(
                        self.report(
                            .batch,
                            epoch: epoch,
                            epochs: epochs,
                            batch: batch + 1,
                            batches: batches,
                            loss: Float(lossSum / Double(seen)),
                            correct: correct,
                            seen: seen,
                            validation: nil,
                            samplesDone: samplesDone,
                            start: start,
                            totalSamples: epochs * rows
                        )
                    )
                }
            }
            epochsRun = epoch
            let epochLoss = Float(lossSum / Double(max(seen, 1)))
            lastLoss = epochLoss
            let epochAccuracy: Float? = self.isClassifier ? Float(correct) / Float(max(seen, 1)) : nil
            lastValidation = validation.map { self.evaluate($0) }
            callbacks.progress(
                self.report(
                    .epochEnd,
                    epoch: epoch,
                    epochs: epochs,
                    batch: batches,
                    batches: batches,
                    loss: epochLoss,
                    correct: correct,
                    seen: seen,
                    validation: lastValidation,
                    samplesDone: samplesDone,
                    start: start,
                    totalSamples: epochs * rows
                )
            )
            guard let stopping else { continue }
            let value: Float? =
                switch stopping.monitor {
                case .loss: epochLoss
                case .accuracy: epochAccuracy
                case .validationLoss: lastValidation?.loss
                case .validationAccuracy: lastValidation?.accuracy
                }
            guard let value else {
                throw TrainingError(
                    .invalidArgument,
                    "early stopping monitors \(stopping.monitor), which this model does not report"
                )
            }
            let improved: Bool
            if let current = best {
                improved =
                    stopping.monitor.higherIsBetter
                    ? value - current.value > stopping.minDelta
                    : current.value - value > stopping.minDelta
            } else {
                improved = true
            }
            if improved {
                best = (value, stopping.restoreBestWeights ? self.network.parameters : [], lastValidation)
                epochsWithoutImprovement = 0
            } else {
                epochsWithoutImprovement += 1
                if epochsWithoutImprovement >= stopping.patience {
                    earlyStopped = epoch < epochs
                    break
                }
            }
        }
        if let stopping, stopping.restoreBestWeights, let best, !best.parameters.isEmpty {
            self.network.parameters = best.parameters
            lastValidation = best.validation
        }
        return TrainingSummary(
            epochsRun: epochsRun,
            trainingSamples: rows,
            durationSeconds: seconds(since: start),
            finalLoss: lastLoss,
            validationLoss: lastValidation?.loss,
            validationAccuracy: lastValidation?.accuracy,
            earlyStopped: earlyStopped
        )
    }

    private func report(
        _ kind: TrainingProgress.Kind,
        epoch: Int,
        epochs: Int,
        batch: Int,
        batches: Int,
        loss: Float,
        correct: Int,
        seen: Int,
        validation: (loss: Float, accuracy: Float?)?,
        samplesDone: Int,
        start: ContinuousClock.Instant,
        totalSamples: Int
    ) -> TrainingProgress {
        let elapsed = seconds(since: start)
        let speed = elapsed > 0 ? Double(samplesDone) / elapsed : 0
        return TrainingProgress(
            kind: kind,
            epoch: epoch,
            epochs: epochs,
            batch: batch,
            batchesPerEpoch: batches,
            loss: loss,
            accuracy: self.isClassifier ? Float(correct) / Float(max(seen, 1)) : nil,
            validationLoss: validation?.loss,
            validationAccuracy: validation?.accuracy,
            samplesPerSecond: speed,
            estimatedSecondsRemaining: speed > 0 ? Double(totalSamples - samplesDone) / speed : 0
        )
    }

    /// Correct predictions in a batch's outputs.
    private func batchAccuracyCount(
        _ out: UnsafeMutablePointer<Float>,
        rows: Int,
        columns: Int,
        targets: [Float]
    ) -> Int {
        var correct = 0
        for r in 0..<rows {
            let predicted: Int
            if columns == 1 {
                predicted = self.producesProbabilities ? (out[r] >= 0.5 ? 1 : 0) : (out[r] > 0 ? 1 : 0)
            } else {
                var bestColumn = 0
                for c in 1..<columns where out[r * columns + c] > out[r * columns + bestColumn] { bestColumn = c }
                predicted = bestColumn
            }
            if predicted == Int(targets[r]) { correct += 1 }
        }
        return correct
    }
}

/// Seconds elapsed since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
