import ModelwireData

/// What every model family does: fit on prepared data, produce outputs, become a snapshot.
///
/// Inputs here are already standardised; `TrainedModel` applies the snapshot's
/// standardisation and class names around a `Model`.
public protocol Model: Sendable {
    /// Fits the model to (standardised) training rows.
    /// - Parameters:
    ///   - training: The rows to fit.
    ///   - validation: Held-out rows for validation metrics and early stopping, if any.
    ///   - options: Optimisation settings.
    ///   - callbacks: Progress reporting and cancellation.
    /// - Returns: A summary of the run.
    /// - Throws: `TrainingError` (`.cancelled` when `callbacks.isCancelled` returned true).
    mutating func fit(
        _ training: Dataset,
        validation: Dataset?,
        options: TrainingOptions,
        callbacks: TrainingCallbacks
    ) throws(TrainingError) -> TrainingSummary

    /// The raw outputs for rows × inputs: class probabilities (a single column holds P(class 1)),
    /// SVM decision scores, or regression values.
    /// - Parameters:
    ///   - rows: Standardised inputs.
    ///   - threads: Threads for large batches.
    func outputs(_ rows: Matrix, threads: Int) -> Matrix

    /// Whether `outputs` are calibrated probabilities (false for SVM scores and regression).
    var producesProbabilities: Bool { get }

    /// The learned parameters, as stored in a snapshot.
    var parameters: ModelSnapshot.Parameters { get }
}

/// Progress reporting and cancellation for a training run (both called on the training thread).
public struct TrainingCallbacks {
    /// Called per epoch and every `progressEveryBatches` batches.
    public var progress: (TrainingProgress) -> Void
    /// Checked between batches; returning true ends training with `TrainingError.cancelled`.
    public var isCancelled: () -> Bool

    /// Creates callbacks.
    public init(
        progress: @escaping (TrainingProgress) -> Void = { _ in },
        isCancelled: @escaping () -> Bool = { false }
    ) {
        self.progress = progress
        self.isCancelled = isCancelled
    }
}

extension Model {
    /// Class probabilities, rows × classes, or `nil` when the model gives only scores (SVM).
    /// - Parameters:
    ///   - rows: Standardised inputs.
    ///   - threads: Threads for large batches.
    public func predictProbabilities(_ rows: Matrix, threads: Int = 1) -> Matrix? {
        guard self.producesProbabilities else { return nil }
        return expandBinary(self.outputs(rows, threads: threads))
    }

    /// The predicted class id per row (classification models).
    /// - Parameters:
    ///   - rows: Standardised inputs.
    ///   - threads: Threads for large batches.
    public func predictClasses(_ rows: Matrix, threads: Int = 1) -> [Int] {
        classes(fromOutputs: self.outputs(rows, threads: threads), probabilities: self.producesProbabilities)
    }
}

/// Turns a single P(class 1) column into two columns [1 − p, p]; other matrices pass through.
func expandBinary(_ outputs: Matrix) -> Matrix {
    guard outputs.columns == 1 else { return outputs }
    var m = Matrix(rows: outputs.rows, columns: 2)
    for r in 0..<outputs.rows {
        m[r, 0] = 1 - outputs.values[r]
        m[r, 1] = outputs.values[r]
    }
    return m
}

/// Decision scores of a binary model (one column, s > 0 = class 1) as two columns (−s, s), to rank
/// each class by; more columns are returned as they are.
func expandBinaryScores(_ outputs: Matrix) -> Matrix {
    guard outputs.columns == 1 else { return outputs }
    var m = Matrix(rows: outputs.rows, columns: 2)
    for r in 0..<outputs.rows {
        m[r, 0] = -outputs.values[r]
        m[r, 1] = outputs.values[r]
    }
    return m
}

/// Class ids from outputs: argmax per row, or for one column p ≥ 0.5 (probabilities) / s > 0 (scores).
func classes(fromOutputs outputs: Matrix, probabilities: Bool) -> [Int] {
    if outputs.columns == 1 {
        return outputs.values.map { probabilities ? ($0 >= 0.5 ? 1 : 0) : ($0 > 0 ? 1 : 0) }
    }
    return outputs.argmaxPerRow()
}
