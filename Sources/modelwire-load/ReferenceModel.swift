import ModelwireClient
import ModelwireCodec
import ModelwireData

/// The benchmark's reference model: a dense net 100 → 64 relu → 64 relu → 10 softmax, trained on
/// the server from a synthetic dataset generated in-process with a seeded RNG, so that the tool
/// works against an empty server.
enum ReferenceModel {
    static let features = 100
    static let classes = 10

    /// A synthetic classification dataset: each class has a random centre, and a row is its
    /// class's centre plus unit Gaussian noise.
    static func dataset(rows: Int, seed: UInt64) -> V1.Dataset {
        var rng = SeededGenerator(seed: seed)
        var centres = [Float]()
        centres.reserveCapacity(classes * features)
        for _ in 0..<(classes * features) { centres.append(rng.nextGaussian() * 0.5) }
        var values = [Float]()
        values.reserveCapacity(rows * features)
        var classIDs = [UInt32]()
        classIDs.reserveCapacity(rows)
        for row in 0..<rows {
            let label = row % classes
            classIDs.append(UInt32(label))
            for column in 0..<features { values.append(centres[label * features + column] + rng.nextGaussian()) }
        }
        return V1.Dataset(
            featureNames: (0..<features).map { "f\($0)" },
            features: V1.Tensor(columns: UInt32(features), values: values),
            classNames: (0..<classes).map { "class\($0)" },
            classIds: classIDs
        )
    }

    /// The train request for the reference net.
    static func trainRequest(model: String, rows: Int, epochs: Int, seed: UInt64) -> V1.TrainRequest {
        let relu = V1.Activation(rawValue: 1)
        let softmax = V1.Activation(rawValue: 4)
        let spec = V1.DenseNetSpec(
            hidden: [
                V1.DenseLayerSpec(units: 64, activation: relu),
                V1.DenseLayerSpec(units: 64, activation: relu),
            ],
            outputActivation: softmax
        )
        return V1.TrainRequest(
            model: model,
            data: .inlineData(dataset(rows: rows, seed: seed)),
            spec: V1.ModelSpec(family: .dense(spec)),
            options: V1.TrainingOptions(
                optimizer: V1.Optimizer(
                    kind: V1.OptimizerKind(rawValue: 0),
                    learningRate: 0.01
                ),
                epochs: UInt32(epochs),
                batchSize: 64,
                seed: seed
            )
        )
    }

    /// Trains the reference net as a new version of `model` and returns (version, final metrics text).
    static func train(
        client: ModelwireClient,
        model: String,
        rows: Int,
        epochs: Int,
        seed: UInt64
    ) async throws -> UInt32 {
        let request = trainRequest(model: model, rows: rows, epochs: epochs, seed: seed)
        for try await event in try await client.train(request, options: .init(timeout: .seconds(600))) {
            if case .result(let result)? = event.event { return result.version }
        }
        throw LoadError("the train stream ended without a result")
    }
}

/// A failure of the load tool itself (bad input, a model that does not fit), printed and exit 1.
struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
