import ModelwireCodec
import ModelwireML

/// Builds PredictResponses from a (possibly batched) prediction.
enum PredictResponses {
    /// The response for `rowRange` of `prediction`.
    static func make(
        entry: ModelRepository.Entry,
        prediction: Prediction,
        rowRange: Range<Int>,
        includeScores: Bool,
        timings: V1.CallTimings
    ) -> V1.PredictResponse {
        var response = V1.PredictResponse(
            model: entry.name,
            version: entry.version,
            classNames: entry.model.snapshot.classNames,
            timings: timings
        )
        if prediction.values.isEmpty {
            response.classIds = prediction.classIDs[rowRange].map { UInt32($0) }
            if includeScores, let scores = prediction.scores {
                let columns = scores.columns
                response.scores = V1.Tensor(
                    columns: UInt32(columns),
                    values: Array(scores.values[(rowRange.lowerBound * columns)..<(rowRange.upperBound * columns)])
                )
                response.scoresAreProbabilities = prediction.areProbabilities
            }
        } else {
            response.values = Array(prediction.values[rowRange])
        }
        return response
    }
}
