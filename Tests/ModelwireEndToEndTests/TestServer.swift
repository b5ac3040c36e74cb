import Foundation
import Logging
import ModelwireClient
import ModelwireCodec
import ModelwireData
import ModelwireProtocol
import ModelwireServer
import NIOCore
import Testing

/// A real `ModelServer` on 127.0.0.1 port 0 with a temporary repository, for one test.
struct TestServer {
    let endpoint: String
    let repository: String
    /// The TLS settings of its clients (a server configured with `tls`).
    var clientTLS: ModelwireClient.TLS? = nil

    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Starts a server (on `repository`, or a new temporary one), runs `body`, then stops the server.
    /// - Parameter clientTLS: What its clients connect with (for a server configured with `tls`).
    static func with<R>(
        repository: String? = nil,
        clientTLS: ModelwireClient.TLS? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: (TestServer) async throws -> R
    ) async throws -> R {
        let path = repository ?? Self.temporaryDirectory()
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0, repositoryPath: path)
        configuration.shutdownGracePeriodMilliseconds = 2_000
        configure(&configuration)
        let (addresses, continuation) = AsyncStream<SocketAddress>.makeStream()
        let server = ModelServer(configuration: configuration, logger: quiet) { continuation.yield($0) }
        let task = Task { try await server.run() }
        var iterator = addresses.makeAsyncIterator()
        guard let address = await iterator.next() else { throw ModelwireErrorForTests("server did not start") }
        let test = TestServer(endpoint: "127.0.0.1:\(address.port!)", repository: path, clientTLS: clientTLS)
        return try await Self.serving(task, ready: test) { try await body(test) }
    }

    /// Waits until `ready` answers, runs `body`, then stops the server `task` runs, whatever happens.
    static func serving<R>(
        _ task: Task<Void, any Error>,
        ready: TestServer,
        _ body: () async throws -> R
    ) async throws -> R {
        do {
            try await ready.waitUntilReady()
            let result = try await body()
            task.cancel()
            try await task.value
            return result
        } catch {
            task.cancel()
            _ = try? await task.value
            throw error
        }
    }

    /// A client of this server, shut down after `body`.
    func client<R>(
        configure: (inout ModelwireClient.Configuration) -> Void = { _ in },
        _ body: (ModelwireClient) async throws -> R
    ) async throws -> R {
        try await withModelwireClient(
            endpoints: [endpoint],
            configuration: .defaults {
                $0.tls = clientTLS
                configure(&$0)
            },
            logger: Self.quiet,
            body
        )
    }

    func waitUntilReady() async throws {
        try await client { client in
            for _ in 0..<500 {
                if try await client.health().ready { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw ModelwireErrorForTests("server never became ready")
        }
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "modelwire-test-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

struct ModelwireErrorForTests: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Bundled datasets (data/) in wire form.
enum Fixtures {
    static let dataDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data")

    static func dataset(_ name: String) throws -> V1.Dataset {
        let dataset = try Dataset(contentsOfCSV: dataDirectory.appendingPathComponent("\(name).csv").path)
        return V1.Dataset(
            featureNames: dataset.featureNames,
            features: V1.Tensor(columns: UInt32(dataset.columns), values: dataset.features),
            classNames: dataset.classNames,
            classIds: dataset.classIDs.map { UInt32($0) }
        )
    }

    /// The first `count` rows of a dataset's features.
    static func rows(_ dataset: V1.Dataset, _ count: Int) -> V1.Tensor {
        let columns = Int(dataset.features!.columns)
        return V1.Tensor(columns: UInt32(columns), values: Array(dataset.features!.values.prefix(count * columns)))
    }

    /// An UploadDatasetRequest chunk of two one-feature rows (classes a, b), encoded.
    static func twoRowUploadChunk(_ name: String) throws -> [UInt8] {
        try V1.UploadDatasetRequest(
            name: name,
            rows: V1.Dataset(
                features: V1.Tensor(columns: 1, values: [1, 2]),
                classNames: ["a", "b"],
                classIds: [0, 1]
            )
        ).serializedBytes()
    }

    static func trainRequest(
        model: String,
        data: V1.Dataset,
        spec: V1.ModelSpec.Family = .logistic(V1.LogisticRegressionSpec()),
        epochs: UInt32 = 20
    ) -> V1.TrainRequest {
        V1.TrainRequest(
            model: model,
            data: .inlineData(data),
            spec: V1.ModelSpec(family: spec),
            options: V1.TrainingOptions(
                optimizer: V1.Optimizer(kind: .adam, learningRate: 0.05),
                epochs: epochs,
                seed: 7
            )
        )
    }
}

extension ModelwireClient {
    /// Trains to the end and returns the result (the events in between are checked by the caller if needed).
    func trainToResult(_ request: V1.TrainRequest) async throws -> (result: V1.TrainResult, events: [V1.TrainEvent]) {
        var events: [V1.TrainEvent] = []
        for try await event in try await train(request) {
            events.append(event)
            if case .result(let result)? = event.event { return (result, events) }
        }
        throw ModelwireErrorForTests("the train stream ended without a result")
    }
}

/// Expects `body` to throw a `ModelwireError` with `code`; returns it.
@discardableResult
func expectError(
    _ code: V1.StatusCode,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> ModelwireError? {
    do {
        try await body()
        Issue.record("expected \(code), but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as ModelwireError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected ModelwireError \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
