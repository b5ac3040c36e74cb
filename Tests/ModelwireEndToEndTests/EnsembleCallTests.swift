import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import Testing

/// Random forests and gradient-boosted trees (issue 16) through the real client against the real
/// server: train, predict, evaluate, describe, export, import back, and the imported version
/// answers bit for bit as the trained one. Few trees and iterations, so each test stays short.
@Suite struct EnsembleCallTests {
    static let forest = V1.ModelSpec.Family.forest(V1.ForestSpec(trees: 8, threads: 2))
    static let gbdt = V1.ModelSpec.Family.gbdt(V1.GradientBoostingSpec(iterations: 15, minSamplesLeaf: 5))

    @Test func forestClassifiesIris() async throws {
        try await classifyIris(family: Self.forest, parameters: "forest")
    }

    @Test func gbdtClassifiesIris() async throws {
        try await classifyIris(family: Self.gbdt, parameters: "gbdt")
    }

    @Test func forestRegression() async throws {
        try await regressPetalWidth(family: Self.forest, parameters: "forest")
    }

    @Test func gbdtRegression() async throws {
        try await regressPetalWidth(family: Self.gbdt, parameters: "gbdt")
    }

    /// Binary classification (gbdt's logistic loss: one raw score, not a softmax) on two iris classes.
    @Test func gbdtBinaryClassification() async throws {
        let iris = try Fixtures.dataset("iris")
        let columns = Int(iris.features!.columns)
        var values: [Float] = []
        var ids: [UInt32] = []
        for (row, id) in iris.classIds.enumerated() where id != 0 {
            values += iris.features!.values[(row * columns)..<((row + 1) * columns)]
            ids.append(id - 1)
        }
        let binary = V1.Dataset(
            featureNames: iris.featureNames,
            features: V1.Tensor(columns: UInt32(columns), values: values),
            classNames: Array(iris.classNames[1...]),
            classIds: ids
        )
        try await TestServer.with { server in
            try await server.client { client in
                let rows = V1.Tensor(columns: UInt32(columns), values: values)
                try await roundTrip(client, name: "binary", data: binary, family: Self.gbdt, parameters: "gbdt") {
                    file in
                    guard case .gbdt(let p)? = file.parameters else { return }
                    #expect(p.loss == .logLoss && p.outputs == 1 && p.trees.count == 15)
                } check: { original, copy in
                    try await comparePredictions(client, original: original, copy: copy, rows: rows, classes: 2)
                }
            }
        }
    }

    // MARK: - The two tasks

    func classifyIris(family: V1.ModelSpec.Family, parameters: String) async throws {
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await server.client { client in
                let rows = iris.features!  // all 150 rows
                try await roundTrip(client, name: "iris", data: iris, family: family, parameters: parameters) {
                    file in
                    switch file.parameters {
                    case .forest(let f)?: #expect(f.trees.count == 8 && f.trees.allSatisfy { $0.outputs == 3 })
                    case .gbdt(let g)?: #expect(g.loss == .multinomial && g.outputs == 3 && g.trees.count == 45)
                    default: break
                    }
                } check: { original, copy in
                    try await comparePredictions(client, original: original, copy: copy, rows: rows, classes: 3)
                }
            }
        }
    }

    func regressPetalWidth(family: V1.ModelSpec.Family, parameters: String) async throws {
        let data = try Self.petalWidth()
        try await TestServer.with { server in
            try await server.client { client in
                let rows = data.features!
                try await roundTrip(
                    client,
                    name: "petal",
                    data: data,
                    family: family,
                    task: .regression,
                    parameters: parameters
                ) { file in
                    switch file.parameters {
                    case .forest(let f)?: #expect(f.trees.count == 8 && f.trees.allSatisfy { $0.outputs == 1 })
                    case .gbdt(let g)?: #expect(g.loss == .squaredError && g.outputs == 1 && g.trees.count == 15)
                    default: break
                    }
                } check: { original, copy in
                    let request = { (name: String) in
                        V1.PredictRequest(model: V1.ModelRef(name: name), inputs: rows, includeProbabilities: true)
                    }
                    let a = try await client.predict(request(original))
                    let b = try await client.predict(request(copy))
                    #expect(a.values.count == data.targets.count && a.classIds.isEmpty && a.classNames.isEmpty)
                    #expect(firstBitDifference(a.values, b.values) == nil)
                    // Near the targets on the rows it was trained on (petal width is 0.1-2.5 cm).
                    let worst = zip(a.values, data.targets).map { abs($0 - $1) }.max() ?? .infinity
                    #expect(worst < 1.0, "largest error \(worst)")
                }
            }
        }
    }

    // MARK: - Shared steps

    /// Trains `name`, checks the training metrics, evaluate and describe, exports it, imports the file as
    /// `name-copy`, checks the file (`inspect`) and that the copy describes and evaluates the same, then `check`
    /// compares the two versions' predictions.
    func roundTrip(
        _ client: ModelwireClient,
        name: String,
        data: V1.Dataset,
        family: V1.ModelSpec.Family,
        task: V1.Task = .classification,
        parameters: String,
        inspect: (V1.ModelFile) throws -> Void,
        check: (String, String) async throws -> Void
    ) async throws {
        let request = V1.TrainRequest(
            model: name,
            data: .inlineData(data),
            spec: V1.ModelSpec(task: task, family: family),
            options: V1.TrainingOptions(seed: 11)
        )
        let result = try await client.trainToResult(request).result
        #expect(result.model == name && result.version == 1 && result.seed == 11)

        let evaluation = try await client.evaluate(
            V1.EvaluateRequest(model: V1.ModelRef(name: name), data: .inlineData(data))
        )
        #expect(evaluation.version == 1 && Int(evaluation.evaluation?.rows ?? 0) == rowCount(data))
        switch (task, evaluation.evaluation?.kind) {
        case (.classification, .classification(let m)?):
            #expect(m.accuracy >= 0.9, "training accuracy \(m.accuracy)")
            // Trees give probabilities, so evaluate reports a log loss.
            let logLoss = try #require(m.logLoss)
            #expect(logLoss.isFinite && logLoss > 0 && logLoss < 0.7)
        case (.regression, .regression(let m)?):
            #expect(m.r2 > 0.85, "training R² \(m.r2)")
            #expect(m.mse >= 0 && m.mae >= 0)
        default:
            Issue.record("evaluation of the wrong kind: \(String(describing: evaluation.evaluation?.kind))")
        }

        let described = try await client.describeModel(V1.ModelRef(name: name))
        #expect(described.task == task)
        #expect(described.inputColumns == data.features?.columns)
        #expect(described.parameterCount > 0)
        #expect(familyName(described.spec) == parameters)

        let exported = try await client.exportModel(V1.ModelRef(name: name))
        let file = try V1.ModelFile(serializedBytes: exported.modelFile)
        #expect(file.name == name && file.version == 1 && file.task == task)
        #expect(familyName(file.spec) == parameters)
        #expect(parameterName(file.parameters) == parameters)
        try inspect(file)

        let copy = "\(name)-copy"
        let imported = try await client.importModel(name: copy, modelFile: exported.modelFile)
        #expect(imported.name == copy && imported.version == 1)
        #expect(imported.task == task && familyName(imported.spec) == parameters)
        #expect(imported.parameterCount == described.parameterCount)
        // The copy's file is the same model: exporting it gives the same parameters.
        let reexported = try V1.ModelFile(
            serializedBytes: try await client.exportModel(V1.ModelRef(name: copy)).modelFile
        )
        #expect(reexported.parameters == file.parameters)
        #expect(reexported.standardization == file.standardization)

        let copyEvaluation = try await client.evaluate(
            V1.EvaluateRequest(model: V1.ModelRef(name: copy), data: .inlineData(data))
        )
        #expect(copyEvaluation.evaluation == evaluation.evaluation)
        try await check(name, copy)
    }

    /// Classes and probabilities of both versions on `rows`: equal bit for bit, probabilities summing to 1.
    func comparePredictions(
        _ client: ModelwireClient,
        original: String,
        copy: String,
        rows: V1.Tensor,
        classes: Int
    ) async throws {
        let request = { (name: String) in
            V1.PredictRequest(model: V1.ModelRef(name: name), inputs: rows, includeProbabilities: true)
        }
        let a = try await client.predict(request(original))
        let b = try await client.predict(request(copy))
        let count = rows.values.count / Int(rows.columns)
        #expect(a.classIds.count == count && a.classNames.count == classes)
        #expect(a.classIds == b.classIds && a.classNames == b.classNames)
        #expect(a.scoresAreProbabilities && b.scoresAreProbabilities)
        let scores = try #require(a.scores)
        let copyScores = try #require(b.scores)
        #expect(scores.columns == UInt32(classes) && scores.values.count == count * classes)
        #expect(firstBitDifference(scores.values, copyScores.values) == nil)
        for r in 0..<count {
            let row = scores.values[(r * classes)..<((r + 1) * classes)]
            #expect(abs(row.reduce(0, +) - 1) < 1e-4)
            // The class is the most probable one.
            #expect(row.firstIndex(of: row.max()!)! - r * classes == Int(a.classIds[r]))
        }
        // Without probabilities: the same classes.
        let plain = try await client.predict(V1.PredictRequest(model: V1.ModelRef(name: copy), inputs: rows))
        #expect(plain.classIds == a.classIds && plain.scores == nil)
    }

    // MARK: - Helpers

    /// Iris as a tiny regression set: petal width from the other three measurements.
    static func petalWidth() throws -> V1.Dataset {
        let iris = try Fixtures.dataset("iris")
        let v = iris.features!.values
        var features: [Float] = []
        var targets: [Float] = []
        for start in stride(from: 0, to: v.count, by: 4) {
            features += v[start..<(start + 3)]
            targets.append(v[start + 3])
        }
        return V1.Dataset(
            featureNames: Array(iris.featureNames.prefix(3)),
            features: V1.Tensor(columns: 3, values: features),
            targets: targets
        )
    }
}

private func rowCount(_ data: V1.Dataset) -> Int {
    guard let f = data.features, f.columns > 0 else { return 0 }
    return f.values.count / Int(f.columns)
}

/// Where two float arrays first differ bit for bit (or differ in length), as a readable string; nil when identical.
private func firstBitDifference(_ a: [Float], _ b: [Float]) -> String? {
    guard a.count == b.count else { return "\(a.count) values against \(b.count)" }
    guard let i = a.indices.first(where: { a[$0].bitPattern != b[$0].bitPattern }) else { return nil }
    return "value \(i): \(a[i]) (bits \(a[i].bitPattern)) against \(b[i]) (bits \(b[i].bitPattern))"
}

private func familyName(_ spec: V1.ModelSpec?) -> String {
    switch spec?.family {
    case .forest?: "forest"
    case .gbdt?: "gbdt"
    case let other: "\(String(describing: other))"
    }
}

private func parameterName(_ parameters: V1.ModelFile.Parameters?) -> String {
    switch parameters {
    case .forest?: "forest"
    case .gbdt?: "gbdt"
    case let other: "\(String(describing: other))"
    }
}
