import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireServer
import Testing

/// Every v1 call through the real client against the real server.
@Suite struct ServiceCallTests {
    @Test func trainPredictEvaluateAndManageModels() async throws {
        try await TestServer.with { server in
            try await server.client { client in
                let iris = try Fixtures.dataset("iris")
                let (result, events) = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris))
                #expect(result.model == "iris")
                #expect(result.version == 1)
                guard case .accepted? = events.first?.event else {
                    Issue.record("first event is not accepted")
                    return
                }
                let jobID = try #require(events.first?.jobId)
                #expect(!jobID.isEmpty)
                #expect(events.contains { if case .progress? = $0.event { true } else { false } })
                guard case .classification(let metrics)? = result.metrics?.kind else {
                    Issue.record("no metrics")
                    return
                }
                #expect(metrics.accuracy >= 0.9)

                // A second training of the same name is a new version.
                let second = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 5))
                    .result
                #expect(second.version == 2)

                // Predict: latest, exact version, alias.
                let rows = Fixtures.rows(iris, 3)
                let latest = try await client.predict(
                    V1.PredictRequest(
                        model: V1.ModelRef(name: "iris"),
                        inputs: rows,
                        includeProbabilities: true
                    )
                )
                #expect(latest.version == 2)
                #expect(latest.classIds.count == 3)
                #expect(latest.classNames == iris.classNames)
                let scores = try #require(latest.scores)
                #expect(scores.columns == 3 && scores.values.count == 9)
                for r in 0..<3 { #expect(abs(scores.values[(r * 3)..<(r * 3 + 3)].reduce(0, +) - 1) < 1e-4) }
                try await #expect(await client.setAlias(model: "iris", alias: "production", version: 1) == nil)
                let viaAlias = try await client.predict(
                    V1.PredictRequest(
                        model: V1.ModelRef(name: "iris", selector: .alias("production")),
                        inputs: rows
                    )
                )
                #expect(viaAlias.version == 1)
                // roll forward
                try await #expect(await client.setAlias(model: "iris", alias: "production", version: 2) == 1)
                // and back
                try await #expect(await client.setAlias(model: "iris", alias: "production", version: 1) == 2)

                // Evaluate, inline.
                let evaluation = try await client.evaluate(
                    V1.EvaluateRequest(
                        model: V1.ModelRef(name: "iris", selector: .version(1)),
                        data: .inlineData(iris)
                    )
                )
                guard case .classification(let m)? = evaluation.evaluation?.kind else {
                    Issue.record("no evaluation")
                    return
                }
                #expect(m.perClass.count == 3)
                #expect(m.confusion?.counts.reduce(0, +) == 150)
                #expect(m.logLoss != nil)
                // Rows of one class only (a subset of the model's classes) evaluate too, matched by name.
                let setosa = V1.Dataset(
                    featureNames: iris.featureNames,
                    features: Fixtures.rows(iris, 10),
                    classNames: [iris.classNames[Int(iris.classIds[0])]],
                    classIds: Array(repeating: 0, count: 10)
                )
                let subset = try await client.evaluate(
                    V1.EvaluateRequest(model: V1.ModelRef(name: "iris"), data: .inlineData(setosa))
                )
                #expect(subset.evaluation?.rows == 10)

                // Models: list, describe, export, import, delete.
                let models = try await client.listModels()
                #expect(models.map(\.name) == ["iris"])
                #expect(models[0].versions.map(\.version) == [1, 2])
                #expect(models[0].aliases == [V1.Alias(name: "production", version: 1)])
                let described = try await client.describeModel(V1.ModelRef(name: "iris", selector: .version(1)))
                #expect(described.inputColumns == 4)
                #expect(described.aliases == ["production"])
                let exported = try await client.exportModel(V1.ModelRef(name: "iris", selector: .version(1)))
                let file = try V1.ModelFile(serializedBytes: exported.modelFile)
                #expect(file.name == "iris" && file.version == 1)
                let imported = try await client.importModel(name: "iris-copy", modelFile: exported.modelFile)
                #expect(imported.name == "iris-copy" && imported.version == 1)
                let copyPrediction = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "iris-copy"), inputs: rows)
                )
                #expect(copyPrediction.classIds == viaAlias.classIds)
                // ONNX: the export converts back to a model that predicts the same.
                let onnx = try await client.exportOnnx(V1.ModelRef(name: "iris", selector: .version(1)))
                #expect(onnx.modelFile.isEmpty && !onnx.onnxModel.isEmpty)
                let fromOnnx = try await client.importOnnx(name: "iris-onnx", onnxModel: onnx.onnxModel)
                #expect(fromOnnx.classNames == imported.classNames && fromOnnx.inputColumns == 4)
                let onnxPrediction = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "iris-onnx"), inputs: rows)
                )
                #expect(onnxPrediction.classIds == viaAlias.classIds)
                try await #expect(await client.deleteModel(name: "iris-onnx") == [1])
                try await #expect(await client.deleteModel(name: "iris", version: 2) == [2])
                try await #expect(await client.listModels().first { $0.name == "iris" }?.versions.map(\.version) == [1])
                try await #expect(await client.deleteModel(name: "iris-copy") == [1])

                // Jobs.
                let job = try await client.getJob(id: jobID)
                #expect(job.state == .succeeded)
                #expect(job.result?.version == 1)
                try await #expect(await client.listJobs().count == 2)
                var watched: [V1.TrainEvent] = []
                for try await event in try await client.watchJob(id: jobID) { watched.append(event) }
                guard case .result(let final)? = watched.last?.event else {
                    Issue.record("watch of a finished job gave no result")
                    return
                }
                #expect(final.version == 1)
            }
        }
    }

    @Test func datasetsUploadTrainEvaluateDelete() async throws {
        try await TestServer.with { server in
            try await server.client(configure: { $0.uploadChunkBytes = 4096 }) { client in
                let digits = try Fixtures.dataset("digits")
                let info = try await client.uploadDataset(name: "digits-all", dataset: digits)
                #expect(info.rows == 1797 && info.columns == 64)
                #expect(Set(info.classNames) == Set(digits.classNames))
                try await #expect(await client.listDatasets().map(\.name) == ["digits-all"])
                await expectError(.alreadyExists) {
                    _ = try await client.uploadDataset(name: "digits-all", dataset: digits)
                }
                let request = V1.TrainRequest(
                    model: "digits",
                    data: .dataset("digits-all"),
                    spec: V1.ModelSpec(family: .tree(V1.DecisionTreeSpec(maxDepth: 8)))
                )
                let result = try await client.trainToResult(request).result
                let evaluation = try await client.evaluate(
                    V1.EvaluateRequest(
                        model: V1.ModelRef(name: "digits"),
                        data: .dataset("digits-all")
                    )
                )
                guard case .classification(let m)? = evaluation.evaluation?.kind else {
                    Issue.record("no metrics")
                    return
                }
                #expect(m.accuracy > 0.8)
                #expect(result.version == 1)
                try await client.deleteDataset(name: "digits-all")
                try await #expect(await client.listDatasets().isEmpty)
                await expectError(.notFound) { try await client.deleteDataset(name: "digits-all") }
            }
        }
    }

    @Test func healthAndServerInfo() async throws {
        try await TestServer.with { server in
            try await server.client { client in
                let health = try await client.health()
                #expect(health.live && health.ready && !health.draining)
                let info = try await client.serverInfo()
                #expect(info.protocolVersions == [1])
                #expect(info.schemaPackages == ["modelwire.v1"])
                #expect(info.fileDescriptorSet == V1.fileDescriptorSet)
                #expect(info.limits?.maxFrameBytes == 16 << 20)
            }
        }
    }
}
