import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import Testing

/// Prune and Distill (issue 14) through the real client against the real server: each makes a new
/// version with its record and before/after report, leaves the source alone, and refuses bad
/// requests up front.
@Suite struct TransformCallTests {
    static let net = V1.ModelSpec.Family.dense(
        V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 32), V1.DenseLayerSpec(units: 32)])
    )

    /// Trains the source net on digits as version 1 of `name`.
    static func source(_ client: ModelwireClient, _ name: String, _ digits: V1.Dataset) async throws {
        _ = try await client.trainToResult(Fixtures.trainRequest(model: name, data: digits, spec: net, epochs: 5))
    }

    static func accuracy(_ evaluation: V1.Evaluation?) -> Float {
        if case .classification(let metrics)? = evaluation?.kind { return metrics.accuracy }
        return -1
    }

    static func result(_ events: TrainEvents) async throws -> V1.TrainResult {
        for try await event in events { if case .result(let result)? = event.event { return result } }
        throw ModelwireErrorForTests("the job's stream ended without a result")
    }

    @Test("structured pruning with fine-tuning: a smaller new version, its record and report")
    func structuredPrune() async throws {
        let digits = try Fixtures.dataset("digits")
        try await TestServer.with { server in
            try await server.client { client in
                try await Self.source(client, "digits", digits)
                let before = try await client.describeModel(V1.ModelRef(name: "digits"))
                let request = V1.PruneRequest(
                    model: V1.ModelRef(name: "digits", selector: .version(1)),
                    targetModel: "digits-small",
                    sparsity: 0.5,
                    structured: true,
                    fineTuneEpochs: 2,
                    fineTuneData: V1.TransformData(source: .inlineData(digits)),
                    evalData: V1.TransformData(source: .inlineData(digits))
                )
                let result = try await Self.result(try await client.prune(request))
                #expect(result.model == "digits-small" && result.version == 1)
                let report = try #require(result.report)
                #expect(report.source?.version == 1 && report.result?.version == 1)
                #expect(try #require(report.result?.parameters) < (report.source?.parameters ?? 0))
                #expect(
                    Self.accuracy(report.result?.evaluation) > 0.6 && Self.accuracy(report.source?.evaluation) > 0.6
                )
                #expect((report.source?.latency1RowUs ?? 0) > 0 && (report.result?.rowsPerSecond1024 ?? 0) > 0)
                // Narrower layers, no zeros: stored and served dense.
                #expect(
                    report.notes.contains("layers stored sparsely: none of 3; predicted by the sparse kernel: none")
                )
                let info = try await client.describeModel(V1.ModelRef(name: "digits-small"))
                guard case .dense(let dense)? = info.spec?.family else {
                    Issue.record("the pruned version's spec is not dense")
                    return
                }
                #expect(dense.hidden.map(\.units) == [16, 16])
                #expect(info.transform?.kind == "prune" && info.transform?.sourceModel == "digits")
                #expect(info.transform?.report?.result?.fileBytes == info.fileBytes)
                #expect(info.transform?.settings.contains { $0.name == "sparsity" && $0.value == "0.5" } == true)
                // The source is untouched.
                let after = try await client.describeModel(V1.ModelRef(name: "digits"))
                #expect(after.version == 1 && after.parameterCount == before.parameterCount && after.transform == nil)
            }
        }
    }

    @Test("unstructured pruning sets the asked share of weights to zero, as a next version")
    func magnitudePrune() async throws {
        let digits = try Fixtures.dataset("digits")
        try await TestServer.with { server in
            try await server.client { client in
                try await Self.source(client, "digits", digits)
                let request = V1.PruneRequest(model: V1.ModelRef(name: "digits"), sparsity: 0.9)
                let result = try await Self.result(try await client.prune(request))
                #expect(result.model == "digits" && result.version == 2)
                let report = try #require(result.report)
                let weights = 64 * 32 + 32 * 32 + 32 * 10
                let zeroed = Int((Double(weights) * 0.9).rounded(.down))
                #expect(report.result?.parameters == report.source?.parameters)
                #expect(
                    report.result?.nonzeroParameters ?? 0 <= (report.source?.nonzeroParameters ?? 0) - UInt64(zeroed)
                )
                // Stored sparsely: the new version's file is well under its source's, and it still serves.
                let (source, pruned) = (try #require(report.source), try #require(report.result))
                #expect(pruned.fileBytes > 0 && pruned.fileBytes * 2 < source.fileBytes, "\(pruned) vs \(source)")
                let info = try await client.describeModel(V1.ModelRef(name: "digits"))
                #expect(info.version == 2 && info.fileBytes == pruned.fileBytes)
                #expect(
                    report.notes.contains { $0.hasPrefix("layers stored sparsely: 0, 1, 2 of 3;") },
                    "\(report.notes)"
                )
                let rows = Array((digits.features?.values ?? []).prefix(3 * 64))
                let predicted = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "digits"), inputs: V1.Tensor(columns: 64, values: rows))
                )
                #expect(predicted.classIds.count == 3)
            }
        }
    }

    @Test("a student distilled from a teacher: the teacher's classes, a record naming it")
    func distill() async throws {
        let digits = try Fixtures.dataset("digits")
        try await TestServer.with { server in
            try await server.client { client in
                try await Self.source(client, "teacher", digits)
                let request = V1.DistillRequest(
                    teacher: V1.ModelRef(name: "teacher"),
                    model: "student",
                    student: V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 16)]),
                    temperature: 2,
                    alpha: 0.7,
                    data: V1.TransformData(source: .inlineData(digits)),
                    options: V1.TrainingOptions(epochs: 3, seed: 4),
                    evalData: V1.TransformData(source: .inlineData(digits))
                )
                let result = try await Self.result(try await client.distill(request))
                #expect(result.model == "student" && result.version == 1 && result.epochsRun == 3)
                #expect(Self.accuracy(result.metrics) > 0.6)
                let info = try await client.describeModel(V1.ModelRef(name: "student"))
                #expect(info.classNames == digits.classNames)
                #expect(info.transform?.kind == "distill" && info.transform?.sourceModel == "teacher")
                #expect(info.transform?.settings.contains { $0.name == "alpha" && $0.value == "0.7" } == true)
            }
        }
    }

    @Test("transforms that cannot work on their source: no hidden layer, an SVM teacher")
    func sourcesThatCannotWork() async throws {
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await server.client { client in
                _ = try await client.trainToResult(
                    Fixtures.trainRequest(model: "flat", data: iris, spec: .dense(V1.DenseNetSpec(hidden: [])))
                )
                _ = try await client.trainToResult(
                    Fixtures.trainRequest(model: "svm", data: iris, spec: .linearSvm(V1.LinearSvmSpec()))
                )
                let flat = await expectError(.invalidArgument) {
                    let request = V1.PruneRequest(model: V1.ModelRef(name: "flat"), sparsity: 0.5, structured: true)
                    _ = try await client.prune(request).first { _ in true }
                }
                #expect(flat?.message.contains("hidden layer") == true, "\(flat?.message ?? "no error")")
                // An SVM gives scores, not probabilities: the job fails, naming why.
                let svm = await expectError(.invalidArgument) {
                    let request = V1.DistillRequest(
                        teacher: V1.ModelRef(name: "svm"),
                        model: "student",
                        data: V1.TransformData(source: .inlineData(iris))
                    )
                    _ = try await Self.result(try await client.distill(request))
                }
                #expect(svm?.message.contains("probabilities") == true, "\(svm?.message ?? "no error")")
                #expect(try await client.listModels().contains { $0.name == "student" } == false)
            }
        }
    }

    @Test("bad transform requests are refused before any job, naming what is wrong")
    func badRequests() async throws {
        let digits = try Fixtures.dataset("digits")
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await server.client { client in
                try await Self.source(client, "digits", digits)
                _ = try await client.trainToResult(
                    Fixtures.trainRequest(model: "tree", data: iris, spec: .tree(V1.DecisionTreeSpec()))
                )
                let cases: [(V1.PruneRequest, String)] = [
                    (V1.PruneRequest(model: V1.ModelRef(name: "digits"), sparsity: 1.5), "sparsity"),
                    (V1.PruneRequest(model: V1.ModelRef(name: "digits"), sparsity: .nan), "sparsity"),
                    (
                        V1.PruneRequest(model: V1.ModelRef(name: "digits"), sparsity: 0.5, fineTuneEpochs: 3),
                        "fine_tune_data"
                    ),
                    (V1.PruneRequest(model: V1.ModelRef(name: "tree"), sparsity: 0.5), "dense"),
                    (
                        V1.PruneRequest(model: V1.ModelRef(name: "digits"), targetModel: "../x", sparsity: 0.5),
                        "target_model"
                    ),
                    (
                        V1.PruneRequest(
                            model: V1.ModelRef(name: "digits"),
                            sparsity: 0.5,
                            evalData: V1.TransformData(source: .inlineData(iris))
                        ), "feature"
                    ),
                ]
                for (request, word) in cases {
                    let error = await expectError(.invalidArgument) {
                        _ = try await client.prune(request).first { _ in true }
                    }
                    #expect(
                        error?.message.contains(word) == true,
                        "\(error?.message ?? "no error") should name \(word)"
                    )
                }
                let badDistill: [(V1.DistillRequest, String)] = [
                    (
                        V1.DistillRequest(
                            teacher: V1.ModelRef(name: "digits"),
                            model: "s",
                            alpha: 2,
                            data: .init(source: .inlineData(digits))
                        ), "alpha"
                    ),
                    (
                        V1.DistillRequest(
                            teacher: V1.ModelRef(name: "digits"),
                            model: "s",
                            temperature: -1,
                            data: .init(source: .inlineData(digits))
                        ), "temperature"
                    ),
                    (V1.DistillRequest(teacher: V1.ModelRef(name: "digits"), model: "s"), "data"),
                ]
                for (request, word) in badDistill {
                    let error = await expectError(.invalidArgument) {
                        _ = try await client.distill(request).first { _ in true }
                    }
                    #expect(
                        error?.message.contains(word) == true,
                        "\(error?.message ?? "no error") should name \(word)"
                    )
                }
                let jobs = try await client.listJobs()
                #expect(jobs.count == 2)  // the two trainings; no refused transform became a job
            }
        }
    }
}
