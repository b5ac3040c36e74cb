import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import Testing

/// Quantize (issue 14) through the real client against the real server: an int8 new version with
/// its record and report, served by Predict, and bad requests refused before any job.
@Suite struct QuantizeCallTests {
    @Test("a dense net quantized with calibration rows: a smaller version that predicts like its source")
    func denseNet() async throws {
        let digits = try Fixtures.dataset("digits")
        try await TestServer.with { server in
            try await server.client { client in
                try await TransformCallTests.source(client, "digits", digits)
                let request = V1.QuantizeRequest(
                    model: V1.ModelRef(name: "digits"),
                    targetModel: "digits-int8",
                    calibrationData: V1.TransformData(source: .inlineData(digits)),
                    evalData: V1.TransformData(source: .inlineData(digits))
                )
                let result = try await TransformCallTests.result(try await client.quantize(request))
                #expect(result.model == "digits-int8" && result.version == 1)
                let report = try #require(result.report)
                let (source, int8) = (try #require(report.source), try #require(report.result))
                #expect(int8.parameters == source.parameters)
                #expect(
                    Double(int8.fileBytes) < 0.6 * Double(source.fileBytes),
                    "\(int8.fileBytes) vs \(source.fileBytes)"
                )
                let (a, b) = (
                    TransformCallTests.accuracy(source.evaluation), TransformCallTests.accuracy(int8.evaluation)
                )
                #expect(a > 0.6 && abs(a - b) < 0.03, "source \(a), int8 \(b)")
                #expect(int8.latency1RowUs > 0 && int8.rowsPerSecond1024 > 0)
                #expect(report.notes.contains { $0.contains("activations: ") && $0.contains("evaluation rows") })
                let info = try await client.describeModel(V1.ModelRef(name: "digits-int8"))
                #expect(info.transform?.kind == "quantize" && info.transform?.sourceModel == "digits")
                #expect(info.transform?.report?.result?.fileBytes == info.fileBytes)
                // Served by the same Predict path, with the source's classes nearly always.
                let rows = V1.Tensor(
                    columns: digits.features!.columns,
                    values: Array(digits.features!.values.prefix(64 * 200))
                )
                let float = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "digits"), inputs: rows)
                )
                let quantized = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "digits-int8"), inputs: rows)
                )
                let same = zip(float.classIds, quantized.classIds).count { $0 == $1 }
                #expect(quantized.classIds.count == 200 && same >= 190, "\(same) of 200 classes kept")
            }
        }
    }

    @Test("logistic regression quantizes with dynamic scales, as the next version of its model")
    func logisticRegression() async throws {
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await server.client { client in
                _ = try await client.trainToResult(
                    Fixtures.trainRequest(model: "iris", data: iris, spec: .logistic(V1.LogisticRegressionSpec()))
                )
                let request = V1.QuantizeRequest(model: V1.ModelRef(name: "iris"), activationScaling: .dynamic)
                let result = try await TransformCallTests.result(try await client.quantize(request))
                #expect(result.model == "iris" && result.version == 2)
                #expect(result.report?.notes.contains { $0.contains("dynamic") } == true)
                let info = try await client.describeModel(V1.ModelRef(name: "iris"))
                #expect(info.version == 2 && info.transform?.settings.contains { $0.value == "dynamic" } == true)
            }
        }
    }

    @Test("bad quantize requests are refused before any job, naming what is wrong")
    func badRequests() async throws {
        let digits = try Fixtures.dataset("digits")
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await server.client { client in
                try await TransformCallTests.source(client, "digits", digits)
                _ = try await client.trainToResult(
                    Fixtures.trainRequest(model: "tree", data: iris, spec: .tree(V1.DecisionTreeSpec()))
                )
                let calibration = V1.TransformData(source: .inlineData(digits))
                let cases: [(V1.QuantizeRequest, String)] = [
                    (V1.QuantizeRequest(model: V1.ModelRef(name: "tree")), "only dense nets and linear models"),
                    (
                        V1.QuantizeRequest(model: V1.ModelRef(name: "digits"), activationScaling: .static),
                        "calibration_data"
                    ),
                    (
                        V1.QuantizeRequest(
                            model: V1.ModelRef(name: "digits"),
                            calibrationData: calibration,
                            activationScaling: .dynamic
                        ), "calibration_data"
                    ),
                    (
                        V1.QuantizeRequest(model: V1.ModelRef(name: "digits"), activationScaling: .init(rawValue: 9)),
                        "activation_scaling"
                    ),
                    (
                        V1.QuantizeRequest(
                            model: V1.ModelRef(name: "digits"),
                            calibrationData: V1.TransformData(source: .inlineData(iris))
                        ), "feature"
                    ),
                    (V1.QuantizeRequest(model: V1.ModelRef(name: "digits"), targetModel: "../x"), "target_model"),
                ]
                for (request, word) in cases {
                    let error = await expectError(.invalidArgument) {
                        _ = try await client.quantize(request).first { _ in true }
                    }
                    #expect(
                        error?.message.contains(word) == true,
                        "\(error?.message ?? "no error") should name \(word)"
                    )
                }
                // An int8 version cannot be quantized again or pruned.
                _ = try await TransformCallTests.result(
                    try await client.quantize(V1.QuantizeRequest(model: V1.ModelRef(name: "digits")))
                )
                for word in ["already quantized"] {
                    let error = await expectError(.invalidArgument) {
                        _ = try await client.quantize(V1.QuantizeRequest(model: V1.ModelRef(name: "digits"))).first {
                            _ in true
                        }
                    }
                    #expect(error?.message.contains(word) == true, "\(error?.message ?? "no error")")
                }
                let prune = await expectError(.invalidArgument) {
                    _ = try await client.prune(V1.PruneRequest(model: V1.ModelRef(name: "digits"), sparsity: 0.5)).first
                    { _ in true }
                }
                #expect(prune?.message.contains("not a dense net") == true)
                #expect(try await client.listJobs().count == 3)  // two trainings and the one quantize
            }
        }
    }
}
