import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireTestSupport
import Testing

/// Explain (issue 15) through the real client, the real server and the CLI: attributions per row
/// for a dense net, a logistic regression and a tree, and every bad request refused by name.
@Suite("Explain", .blockingThreads)
struct ExplainCallTests {
    @Test("a digits net, a logistic regression and a tree explained; completeness holds per row")
    func explainEachFamily() async throws {
        let digits = try Fixtures.dataset("digits")
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await server.client { client in
                _ = try await client.trainToResult(
                    Fixtures.trainRequest(model: "net", data: digits, spec: TransformCallTests.net, epochs: 5)
                )
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "lr", data: iris))
                _ = try await client.trainToResult(
                    Fixtures.trainRequest(model: "tree", data: iris, spec: .tree(V1.DecisionTreeSpec(maxDepth: 4)))
                )
                let net = try await client.explain(
                    V1.ExplainRequest(model: V1.ModelRef(name: "net"), data: .inlineData(digits), rows: [0, 5, 9])
                )
                #expect(net.method == .integratedGradients && net.output == "probability")
                #expect(net.featureNames == digits.featureNames && net.baseline.count == digits.featureNames.count)
                #expect(net.explanations.map(\.row) == [0, 5, 9])
                let predicted = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "net"), inputs: Fixtures.rows(digits, 10))
                )
                for e in net.explanations {
                    #expect(e.explainedClass == predicted.classNames[Int(predicted.classIds[Int(e.row)])])
                    #expect(e.attributions.count == digits.featureNames.count)
                    #expect(e.completenessError <= 0.01 * max(abs(e.value - e.baselineValue), 1e-3))
                    #expect(e.steps >= 64 && e.steps <= 4096 && e.steps.nonzeroBitCount == 1)
                }
                let chosen = try await client.explain(
                    V1.ExplainRequest(
                        model: V1.ModelRef(name: "net"),
                        data: .inlineData(digits),
                        rows: [1],
                        targetClass: digits.classNames[4],
                        steps: 128
                    )
                )
                #expect(chosen.explanations.first?.explainedClass == digits.classNames[4])

                let lr = try await client.explain(
                    V1.ExplainRequest(model: V1.ModelRef(name: "lr"), data: .inlineData(iris), rows: [0, 120])
                )
                #expect(lr.method == .linear && lr.output == "logit")
                #expect(lr.explanations.allSatisfy { $0.completenessError < 1e-4 && $0.steps == 0 })

                let tree = try await client.explain(
                    V1.ExplainRequest(model: V1.ModelRef(name: "tree"), data: .inlineData(iris), method: .treeShap)
                )
                #expect(tree.method == .treeShap && tree.baseline.isEmpty)
                #expect(tree.explanations.count == iris.classIds.count)
                #expect(tree.explanations.allSatisfy { $0.completenessError < 1e-5 })
            }
        }
    }

    @Test("an uploaded dataset by name; without standardisation the stored training mean is the baseline")
    func uploadedDatasetAndStoredMean() async throws {
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await server.client { client in
                var request = Fixtures.trainRequest(model: "raw", data: iris)
                request.options?.disableStandardization = true
                _ = try await client.trainToResult(request)
                _ = try await client.uploadDataset(name: "iris", dataset: iris)
                let response = try await client.explain(
                    V1.ExplainRequest(model: V1.ModelRef(name: "raw"), data: .dataset("iris"), rows: [7, 70])
                )
                let columns = iris.featureNames.count
                let values = iris.features!.values
                let means = (0..<columns).map { c in
                    stride(from: c, to: values.count, by: columns).reduce(0.0) { $0 + Double(values[$1]) }
                        / Double(values.count / columns)
                }
                #expect(response.baseline.count == columns)
                #expect(
                    zip(response.baseline, means).allSatisfy { abs(Double($0) - $1) < 1e-4 },
                    "\(response.baseline)"
                )
                #expect(response.explanations.map(\.row) == [7, 70])
                #expect(response.explanations.allSatisfy { $0.completenessError < 1e-4 })
                await expectError(.notFound) {
                    _ = try await client.explain(
                        V1.ExplainRequest(model: V1.ModelRef(name: "raw"), data: .dataset("none"))
                    )
                }
            }
        }
    }

    @Test("bad rows, methods, classes, row counts and columns are invalid_argument naming the field")
    func badRequests() async throws {
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await server.client { client in
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "lr", data: iris))
                let model = V1.ModelRef(name: "lr")
                func explain(_ change: (inout V1.ExplainRequest) -> Void) async -> String {
                    var request = V1.ExplainRequest(model: model, data: .inlineData(iris))
                    change(&request)
                    let error = await expectError(.invalidArgument) { _ = try await client.explain(request) }
                    return error?.message ?? ""
                }
                #expect(await explain { $0.rows = [150] }.contains("rows: row index 150 is out of range"))
                #expect(await explain { $0.method = .integratedGradients }.contains("method ig does not apply"))
                #expect(await explain { $0.method = V1.ExplainMethod(rawValue: 9) }.contains("method: unknown value 9"))
                #expect(await explain { $0.targetClass = "tulip" }.contains("target_class: \"tulip\""))
                #expect(await explain { $0.rows = Array(repeating: 0, count: 1025) }.contains("limit of 1024"))
                #expect(
                    await explain {
                        $0.data = .inlineData(V1.Dataset(featureNames: ["a", "b", "c", "d"], features: iris.features))
                    }.contains("lack")
                )
                #expect(await explain { $0.data = nil }.contains("no rows"))
            }
        }
    }

    @Test("modelwire explain: a sorted bar table per row, and --json")
    func cli() async throws {
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            _ = try await server.client { client in
                try await client.trainToResult(Fixtures.trainRequest(model: "lr", data: iris))
            }
            let path = TestServer.temporaryDirectory() + ".csv"
            try FileManager.default.copyItem(
                atPath: Fixtures.dataDirectory.appendingPathComponent("iris.csv").path,
                toPath: path
            )
            let common = ["explain", "--server", server.endpoint, "--model", "lr", "--data", path, "--rows", "0,120"]
            let json = try CLIPredictTests.modelwire(common + ["--json"])
            #expect(json.status == 0)
            let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect(object?["method"] as? String == "linear")
            let rows = try #require(object?["rows"] as? [[String: Any]])
            #expect(rows.compactMap { $0["row"] as? Int } == [0, 120])
            #expect(rows.allSatisfy { ($0["attributions"] as? [Double])?.count == iris.featureNames.count })

            let table = try CLIPredictTests.modelwire(common)
            #expect(table.status == 0)
            let lines = table.stdout.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("row 120 class ") })
            // Largest magnitude first within a row.
            let first = lines.drop { !$0.hasPrefix("row 0 ") }.dropFirst().prefix(iris.featureNames.count)
            let magnitudes = first.compactMap { line in
                line.split(separator: " ").first { $0.first == "+" || $0.first == "-" }.flatMap { Double($0) }
            }
            #expect(magnitudes.count == iris.featureNames.count)
            #expect(zip(magnitudes, magnitudes.dropFirst()).allSatisfy { abs($0) >= abs($1) })
        }
    }
}
