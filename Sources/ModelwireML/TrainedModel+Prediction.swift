/// Everything a predict call returns, from one forward pass.
public struct Prediction: Sendable, Equatable {
    /// Classification: the predicted class id per row.
    public var classIDs: [Int]
    /// Classification: rows × classes probabilities (or SVM decision scores, see `areProbabilities`).
    public var scores: Matrix?
    /// Whether `scores` are calibrated probabilities.
    public var areProbabilities: Bool
    /// Regression: the predicted value per row.
    public var values: [Float]
}

extension TrainedModel {
    /// Predicts rows with a single forward pass: class ids and scores, or regression values.
    /// - Parameters:
    ///   - rows: Raw features, row-major, `featureCount` per row.
    ///   - threads: Threads for large batches.
    public func predict(_ rows: [Float], threads: Int = 1) -> Prediction {
        let outputs = self.outputs(rows, threads: threads)
        switch self.snapshot.task {
        case .regression:
            return Prediction(classIDs: [], scores: nil, areProbabilities: false, values: outputs.values)
        case .classification:
            let probabilities = self.producesProbabilities
            return Prediction(
                classIDs: classes(fromOutputs: outputs, probabilities: probabilities),
                scores: probabilities ? expandBinary(outputs) : outputs,
                areProbabilities: probabilities,
                values: []
            )
        }
    }
}
