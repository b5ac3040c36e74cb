import Foundation
import Logging
import ModelwireCodec
import ModelwireData
import ModelwireML
import ModelwireProtocol

@testable import ModelwireServer

/// Small models and services for the server's unit tests: no sockets, a temporary repository.
enum Fixtures {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Two features, two classes ("low" when x + y < 1), 40 rows.
    static func dataset() -> Dataset {
        var features: [Float] = []
        var ids: [Int] = []
        for i in 0..<40 {
            let x = Float(i % 10) / 10
            let y = Float(i / 10) / 4
            features += [x, y]
            ids.append(x + y < 1 ? 0 : 1)
        }
        return Dataset(
            featureNames: ["x", "y"],
            features: features,
            targets: .classes(names: ["low", "high"], ids: ids)
        )
    }

    /// The model file of a logistic regression trained on `dataset()`.
    static func modelFile(name: String = "m") throws -> V1.ModelFile {
        let model = try Trainer.train(
            spec: .logistic(LinearSpec()),
            options: TrainingOptions(epochs: 30, batchSize: 8, seed: 1),
            dataset: dataset()
        )
        return V1.ModelFile(
            snapshot: model.snapshot,
            name: name,
            version: 1,
            createdUnixMs: 0,
            spec: nil,
            options: nil,
            evaluation: nil
        )
    }

    /// A repository entry of `modelFile()`, for the batcher.
    static func entry(name: String = "m") throws -> ModelRepository.Entry {
        try ModelRepository.entry(bytes: try modelFile(name: name).serializedBytes(), name: name, version: 1)
    }

    /// A service on a new temporary repository, loaded, with one model "m" stored when `withModel`.
    static func service(
        withModel: Bool = true,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) throws
        -> ModelService
    {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mw-server-\(UUID().uuidString)").path
        var configuration = ServerConfiguration(repositoryPath: path)
        configure(&configuration)
        let service = ModelService(configuration: configuration, logger: quiet)
        try service.jobs.load()
        try service.datasets.load()
        try service.repository.load()
        if withModel { _ = try service.repository.store(try modelFile(), name: "m") }
        return service
    }

    /// A predict request for model "m".
    static func predictRequest(columns: UInt32 = 2, values: [Float]) -> V1.PredictRequest {
        V1.PredictRequest(model: V1.ModelRef(name: "m"), inputs: V1.Tensor(columns: columns, values: values))
    }
}

/// What a throwing call threw, as a `ModelwireError` (nil when it did not throw).
func thrownError(_ body: () throws -> Void) -> ModelwireError? {
    do {
        try body()
        return nil
    } catch let error as ModelwireError {
        return error
    } catch {
        return ModelwireError(.unknown, "not a ModelwireError: \(error)")
    }
}
