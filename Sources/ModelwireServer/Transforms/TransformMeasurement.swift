import Foundation
import ModelwireCodec
import ModelwireData
import ModelwireML

extension V1.TransformReport {
    /// Measures a transform's source and result side by side on this server: predict latency at
    /// one row and throughput at 1024 rows (in process, one thread, the two models alternated over
    /// three rounds, each keeping its best), sizes, and the evaluation on `rows` when given.
    /// `result.version` and `result.file_bytes` are filled in once the result is stored.
    /// - Throws: `TrainingError.cancelled` when `isCancelled` says so between rounds; the
    ///   evaluation's errors.
    init(
        source: ModelRepository.Entry,
        result: TrainedModel,
        resultParameters: UInt64,
        evaluationRows rows: Dataset?,
        notes: [String],
        isCancelled: () -> Bool
    ) throws {
        let probe = rows.map { Array($0.features.prefix(1024 * $0.columns)) } ?? []
        let width = source.model.snapshot.featureNames.count
        var best = [(latency: Double.infinity, throughput: 0.0), (latency: Double.infinity, throughput: 0.0)]
        for _ in 0..<3 {
            for (side, model) in [source.model, result].enumerated() {
                if isCancelled() { throw TrainingError(.cancelled, "cancelled while measuring") }
                let (latency, throughput) = Self.speed(model, features: width, probe: probe)
                best[side] = (min(best[side].latency, latency), max(best[side].throughput, throughput))
            }
        }
        func evaluation(_ model: TrainedModel) throws -> V1.Evaluation? {
            guard let rows else { return nil }
            return try model.evaluate(rows).wire(rows: rows.rows, classNames: model.snapshot.classNames)
        }
        self.init(
            source: V1.TransformMeasurement(
                version: source.version,
                fileBytes: source.fileBytes,
                parameters: source.parameterCount,
                nonzeroParameters: source.model.snapshot.nonzeroParameterCount ?? source.parameterCount,
                latency1RowUs: best[0].latency,
                rowsPerSecond1024: best[0].throughput,
                evaluation: try evaluation(source.model)
            ),
            result: V1.TransformMeasurement(
                parameters: resultParameters,
                nonzeroParameters: result.snapshot.nonzeroParameterCount ?? resultParameters,
                latency1RowUs: best[1].latency,
                rowsPerSecond1024: best[1].throughput,
                evaluation: try evaluation(result)
            ),
            notes: notes
        )
    }

    /// (median µs of a one-row predict, rows per second of 1024-row predicts) of one round.
    private static func speed(_ model: TrainedModel, features: Int, probe: [Float]) -> (Double, Double) {
        let one = probe.isEmpty ? [Float](repeating: 0.5, count: features) : Array(probe.prefix(features))
        var batch = probe.isEmpty ? one : probe
        while batch.count < 1024 * features { batch += batch.prefix(1024 * features - batch.count) }
        let clock = ContinuousClock()
        var times: [Double] = []
        for i in 0..<220 {
            let elapsed = clock.measure { _ = model.outputs(one) }
            if i >= 20 {
                times.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
            }
        }
        times.sort()
        var fastest = Double.infinity
        for _ in 0..<5 {
            let elapsed = clock.measure { _ = model.outputs(batch) }
            fastest = min(fastest, Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
        }
        return (times[times.count / 2], 1024 / fastest)
    }
}

extension ModelSnapshot {
    /// Learned values that are not zero, for the families whose parameters are plain weights
    /// (dense nets, linear models); nil for trees.
    var nonzeroParameterCount: UInt64? {
        switch self.parameters {
        case .dense(let p):
            UInt64(p.layers.reduce(0) { $0 + $1.weights.count { $0 != 0 } + $1.biases.count { $0 != 0 } })
        case .linear(let p): UInt64(p.weights.count { $0 != 0 } + p.biases.count { $0 != 0 })
        case .quantizedDense(let p):
            UInt64(p.layers.reduce(0) { $0 + $1.weights.count { $0 != 0 } + $1.biases.count { $0 != 0 } })
        case .quantizedLinear(let p): UInt64(p.layer.weights.count { $0 != 0 } + p.layer.biases.count { $0 != 0 })
        default: nil
        }
    }
}
