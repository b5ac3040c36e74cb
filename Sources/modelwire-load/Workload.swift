import ModelwireCodec
import ModelwireData

/// What every call sends: a fixed set of prebuilt Predict requests, cycled through, so that
/// building a request costs nothing inside the measured loop.
struct Workload: Sendable {
    /// The requests, each `rows` × `columns`.
    let requests: [V1.PredictRequest]
    /// Rows per call.
    let rows: Int
    /// Feature columns per row.
    let columns: Int
    /// Where the features came from ("random (seed 1)", "file.csv").
    let source: String

    /// How many distinct requests to prebuild.
    static let distinctRequests = 64

    /// Random standard-normal features from a seeded generator.
    static func random(
        model: V1.ModelRef,
        rows: Int,
        columns: Int,
        seed: UInt64,
        includeProbabilities: Bool
    ) -> Workload {
        var rng = SeededGenerator(seed: seed)
        let requests = (0..<distinctRequests).map { _ in
            let values = (0..<(rows * columns)).map { _ in rng.nextGaussian() }
            return V1.PredictRequest(
                model: model,
                inputs: V1.Tensor(columns: UInt32(columns), values: values),
                includeProbabilities: includeProbabilities
            )
        }
        return Workload(requests: requests, rows: rows, columns: columns, source: "random (seed \(seed))")
    }

    /// Rows of a CSV file (its label column is ignored), taken in order and wrapped around.
    static func csv(path: String, model: V1.ModelRef, rows: Int, includeProbabilities: Bool) throws -> Workload {
        let dataset: Dataset
        do { dataset = try Dataset(contentsOfCSV: path) } catch { throw LoadError("--data \(path): \(error)") }
        guard dataset.rows > 0 else { throw LoadError("--data \(path): no rows") }
        let columns = dataset.columns
        let count = min(distinctRequests, max(1, (dataset.rows + rows - 1) / rows))
        var next = 0
        let requests = (0..<count).map { _ in
            var values = [Float]()
            values.reserveCapacity(rows * columns)
            for _ in 0..<rows {
                let start = next * columns
                values.append(contentsOf: dataset.features[start..<(start + columns)])
                next = (next + 1) % dataset.rows
            }
            return V1.PredictRequest(
                model: model,
                inputs: V1.Tensor(columns: UInt32(columns), values: values),
                includeProbabilities: includeProbabilities
            )
        }
        return Workload(requests: requests, rows: rows, columns: columns, source: path)
    }

    /// The request for call number `index`.
    @inline(__always) func request(_ index: Int) -> V1.PredictRequest { self.requests[index % self.requests.count] }

    /// The serialized size of one request (protobuf, before framing and compression).
    var requestBytes: Int { (try? self.requests[0].serializedBytes().count) ?? 0 }
}
