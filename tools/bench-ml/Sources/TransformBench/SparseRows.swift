import Foundation
import ModelwireCodec
import ModelwireData
import ModelwireML

/// The sparse storage and kernel rows of the benchmark (issue 14's "stored sparsely when that is
/// smaller; served by a sparse kernel where it is faster"): a trained net pruned by global magnitude
/// to each sparsity, then
/// - the bytes of its parameters in the model file, dense and as written (each layer sparse where
///   that encodes smaller, the rule of the server's writer); names, options and the training summary
///   are the same on both sides and left out;
/// - predict at 1 row (median µs) and 1024 rows (rows/s) through the dense sgemm on every layer,
///   the sparse kernel on every layer, and what a loaded model uses (`SparseKernelUse.whereFaster`),
///   alternated over 5 rounds, best of each.
enum SparseRows {
    /// One JSON object per sparsity.
    static func measure(
        net: String,
        _ parameters: DenseNetParameters,
        rows: [Float],
        sparsities: [Double]
    ) throws -> [[String: Any]] {
        try sparsities.map { sparsity in
            let pruned = try Pruning.magnitude(parameters, sparsity: sparsity)
            let models: [(String, DenseNetModel)] = [
                ("dense", DenseNetModel(parameters: pruned, kernels: .never)),
                ("sparse", DenseNetModel(parameters: pruned, kernels: .always)),
                ("chosen", DenseNetModel(parameters: pruned)),
            ]
            var latency = [Double](repeating: .infinity, count: models.count)
            var throughput = [Double](repeating: 0, count: models.count)
            for _ in 0..<5 {
                for (i, (_, model)) in models.enumerated() {
                    latency[i] = min(latency[i], oneRowMicroseconds(model, rows))
                    throughput[i] = max(throughput[i], rowsPerSecond(model, rows))
                }
            }
            var row: [String: Any] = [
                "net": net, "sparsity": sparsity,
                "layer_density": pruned.layers.map { l in
                    (Double(l.weights.count { $0 != 0 }) / Double(l.weights.count) * 1000).rounded() / 1000
                },
                "chosen_sparse_layers": models[2].1.sparseKernelLayers,
                "parameter_bytes_dense": try bytes(pruned, sparse: false),
                "parameter_bytes_stored": try bytes(pruned, sparse: true),
            ]
            for (i, (name, _)) in models.enumerated() {
                row["\(name)_1row_us"] = (latency[i] * 100).rounded() / 100
                row["\(name)_1024_rows_per_s"] = throughput[i].rounded()
            }
            return row
        }
    }

    /// Bytes of the parameters' protobuf encoding, every layer dense, or each layer in its smaller form.
    static func bytes(_ p: DenseNetParameters, sparse: Bool) throws -> Int {
        let layers = try p.layers.map { layer in
            let dense = V1.DenseLayer(
                inputs: UInt32(layer.inputs),
                units: UInt32(layer.units),
                weights: layer.weights,
                biases: layer.biases
            )
            guard sparse else { return dense }
            var compact = dense
            compact.weights = []
            compact.sparseWeights = V1.SparseWeights(nonzeroOf: layer.weights)
            return try compact.serializedBytes().count < dense.serializedBytes().count ? compact : dense
        }
        return try V1.DenseNetParameters(layers: layers).serializedBytes().count
    }

    /// The median of 400 one-row predicts, µs.
    static func oneRowMicroseconds(_ model: DenseNetModel, _ rows: [Float]) -> Double {
        let columns = model.network.inputs
        let one = Matrix(rows: 1, columns: columns, values: Array(rows.prefix(columns)))
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<400 {
            let elapsed = clock.measure { _ = model.outputs(one, threads: 1) }
            times.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
        }
        return times.sorted()[times.count / 2]
    }

    /// Rows per second of 20 predicts of 1024 rows, one thread.
    static func rowsPerSecond(_ model: DenseNetModel, _ rows: [Float]) -> Double {
        let columns = model.network.inputs
        let batch = Matrix(rows: 1024, columns: columns, values: Array(rows.prefix(1024 * columns)))
        let elapsed = ContinuousClock().measure { for _ in 0..<20 { _ = model.outputs(batch, threads: 1) } }
        return 20 * 1024 / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
