import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import Testing

/// Models trained from typed tables (issue 15 item 1) through the real client against the real
/// server: preprocessing fitted on raw columns with text categories and gaps, stored in the
/// model, and applied to raw rows by Predict, Evaluate and Explain.
@Suite struct TableCallTests {
    /// A seeded table: `color` (text, 10 % missing), `size` (floats, 10 % missing), `member`
    /// (booleans) and the label `buy` ("yes" when red, or size above 5).
    static func table(rows: Int, seed: UInt64 = 1) -> V1.LabelledTable {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let colors = ["red", "green", "blue"]
        var color = [String]()
        var colorMissing = [Bool]()
        var size = [Float]()
        var member = [Bool]()
        var label = [String]()
        for _ in 0..<rows {
            let c = colors[Int(next() % 3)]
            let s = Float(next() % 1000) / 100
            let gapColor = next() % 10 == 0
            let gapSize = next() % 10 == 0
            color.append(gapColor ? "" : c)
            colorMissing.append(gapColor)
            size.append(gapSize ? .nan : s)
            member.append(next() % 2 == 0)
            label.append(c == "red" || s > 5 ? "yes" : "no")
        }
        return V1.LabelledTable(
            table: V1.Table(columns: [
                V1.TableColumn(name: "color", values: .strings(V1.StringColumn(values: color)), missing: colorMissing),
                V1.TableColumn(name: "size", values: .floats(V1.FloatColumn(values: size))),
                V1.TableColumn(name: "member", values: .bools(V1.BoolColumn(values: member))),
                V1.TableColumn(name: "buy", values: .strings(V1.StringColumn(values: label))),
            ]),
            labelColumn: "buy"
        )
    }

    static func train(
        _ client: ModelwireClient,
        _ model: String,
        _ data: V1.TrainRequest.Data,
        spec: V1.ModelSpec.Family = .tree(V1.DecisionTreeSpec(maxDepth: 6)),
        preprocessing: V1.PreprocessingSpec? = nil
    ) async throws -> V1.TrainResult {
        var request = Fixtures.trainRequest(model: model, data: V1.Dataset(), spec: spec)
        request.data = data
        request.preprocessing = preprocessing
        return try await client.trainToResult(request).result
    }

    static func accuracy(_ e: V1.Evaluation?) -> Float {
        if case .classification(let c)? = e?.kind { return c.accuracy }
        return -1
    }

    @Test("a table with text categories and gaps trains, predicts, evaluates and explains from raw rows")
    func lifecycle() async throws {
        let training = Self.table(rows: 400)
        try await TestServer.with { server in
            try await server.client { client in
                let result = try await Self.train(client, "shop", .table(training))
                #expect(Self.accuracy(result.metrics) > 0.9, "\(Self.accuracy(result.metrics))")
                let info = try await client.describeModel(V1.ModelRef(name: "shop"))
                let preprocessing = try #require(info.preprocessing)
                #expect(preprocessing.columns.map(\.name) == ["color", "size", "member"])
                guard case .categorical(let color)? = preprocessing.columns[0].kind else {
                    Issue.record("color is not categorical: \(preprocessing.columns[0])")
                    return
                }
                #expect(color.categories == ["blue", "green", "red"])
                #expect(info.featureNames == ["color=blue", "color=green", "color=red", "size", "member"])

                // Predict from raw rows: an unseen category and missing values are served.
                var test = Self.table(rows: 200, seed: 9)
                let truth = test.table!.columns[3]
                test.table!.columns.remove(at: 3)
                if case .strings(var colors)? = test.table!.columns[0].values {
                    colors.values[0] = "purple"
                    test.table!.columns[0].values = .strings(colors)
                }
                let predicted = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "shop"), table: test.table)
                )
                #expect(predicted.classIds.count == 200)
                guard case .strings(let labels)? = truth.values else { return }
                let right = zip(predicted.classIds, labels.values).count { predicted.classNames[Int($0)] == $1 }
                #expect(right >= 170, "\(right) of 200 right")

                // Evaluate and Explain take the labelled table.
                let evaluation = try await client.evaluate(
                    V1.EvaluateRequest(model: V1.ModelRef(name: "shop"), data: .table(Self.table(rows: 200, seed: 9)))
                )
                #expect(Self.accuracy(evaluation.evaluation) > 0.85)
                let importance = try await client.evaluate(
                    V1.EvaluateRequest(
                        model: V1.ModelRef(name: "shop"),
                        data: .table(Self.table(rows: 200, seed: 9)),
                        permutationRepeats: 3
                    )
                )
                // Per raw column, its one-hot features shuffled together; member plays no part in the label.
                #expect(importance.permutationImportance.map(\.feature) == ["color", "size", "member"])
                let drops = importance.permutationImportance.map(\.mean)
                #expect(drops[0] > 0.05 && drops[1] > 0.05 && abs(drops[2]) < 0.05, "\(drops)")
                let explained = try await client.explain(
                    V1.ExplainRequest(model: V1.ModelRef(name: "shop"), data: .table(training), rows: [0, 1, 2])
                )
                #expect(explained.featureNames == ["color", "size", "member"])
                #expect(explained.encodedFeatureNames == info.featureNames)
                for row in explained.explanations {
                    #expect(row.attributions.count == 3)
                    let sum = row.attributions.reduce(0, +)
                    #expect(
                        abs(sum - (row.value - row.baselineValue)) < 1e-3,
                        "\(sum) vs \(row.value - row.baselineValue)"
                    )
                }

                // Float rows cannot carry the categories; ONNX cannot carry the preprocessing.
                let floats = await expectError(.invalidArgument) {
                    _ = try await client.predict(
                        V1.PredictRequest(
                            model: V1.ModelRef(name: "shop"),
                            inputs: V1.Tensor(columns: 3, values: [1, 2, 3])
                        )
                    )
                }
                #expect(floats?.message.contains("color") == true && floats?.message.contains("table") == true)
                await expectError(.failedPrecondition) { _ = try await client.exportOnnx(V1.ModelRef(name: "shop")) }
            }
        }
    }

    @Test("a table uploaded in chunks trains by name, with imputation options and indicators")
    func uploadedTable() async throws {
        try await TestServer.with { server in
            try await server.client(configure: { $0.uploadChunkBytes = 4096 }) { client in
                let info = try await client.uploadDataset(name: "shop-rows", table: Self.table(rows: 1500))
                #expect(info.rows == 1500 && info.labelColumn == "buy")
                #expect(info.featureNames == ["color", "size", "member"] && info.classNames == ["no", "yes"])
                let spec = V1.PreprocessingSpec(
                    numericImputation: .median,
                    categoricalImputation: .constant,
                    missingIndicators: true
                )
                let result = try await Self.train(client, "shop", .dataset("shop-rows"), preprocessing: spec)
                #expect(Self.accuracy(result.metrics) > 0.9)
                let model = try await client.describeModel(V1.ModelRef(name: "shop"))
                #expect(
                    model.featureNames == [
                        "color=blue", "color=green", "color=missing", "color=red", "color (missing)", "size",
                        "size (missing)", "member",
                    ],
                    "\(model.featureNames)"
                )
                // A numeric dataset takes no preprocessing options.
                let numeric = await expectError(.invalidArgument) {
                    _ = try await Self.train(
                        client,
                        "iris",
                        .inlineData(try Fixtures.dataset("iris")),
                        preprocessing: spec
                    )
                }
                #expect(numeric?.message.contains("table") == true)
            }
        }
    }

    @Test("bad tables are refused naming the column: unknown categories, text for numbers, options, gaps")
    func badTables() async throws {
        try await TestServer.with { server in
            try await server.client { client in
                _ = try await Self.train(
                    client,
                    "strict",
                    .table(Self.table(rows: 300)),
                    preprocessing: V1.PreprocessingSpec(unknownCategories: .error)
                )
                let unseen = V1.Table(columns: [
                    V1.TableColumn(name: "color", values: .strings(V1.StringColumn(values: ["red", "purple"]))),
                    V1.TableColumn(name: "size", values: .floats(V1.FloatColumn(values: [1, 2]))),
                    V1.TableColumn(name: "member", values: .bools(V1.BoolColumn(values: [true, false]))),
                ])
                let unknown = await expectError(.invalidArgument) {
                    _ = try await client.predict(V1.PredictRequest(model: V1.ModelRef(name: "strict"), table: unseen))
                }
                #expect(unknown?.message.contains("color") == true && unknown?.message.contains("purple") == true)

                var text = unseen
                text.columns[0].values = .strings(V1.StringColumn(values: ["red", "red"]))
                text.columns[1].values = .strings(V1.StringColumn(values: ["big", "1"]))
                let wrongType = await expectError(.invalidArgument) {
                    _ = try await client.predict(V1.PredictRequest(model: V1.ModelRef(name: "strict"), table: text))
                }
                #expect(wrongType?.message.contains("size") == true, "\(wrongType?.message ?? "")")

                var missingColumn = unseen
                missingColumn.columns[0].values = .strings(V1.StringColumn(values: ["red", "blue"]))
                missingColumn.columns.remove(at: 2)
                let absent = await expectError(.invalidArgument) {
                    _ = try await client.predict(
                        V1.PredictRequest(model: V1.ModelRef(name: "strict"), table: missingColumn)
                    )
                }
                #expect(absent?.message.contains("member") == true, "\(absent?.message ?? "")")

                let option = await expectError(.invalidArgument) {
                    _ = try await Self.train(
                        client,
                        "x",
                        .table(Self.table(rows: 50)),
                        preprocessing: V1.PreprocessingSpec(categorical: ["colour"])
                    )
                }
                #expect(option?.message.contains("colour") == true)

                var empty = Self.table(rows: 50)
                empty.table!.columns[1] = V1.TableColumn(
                    name: "size",
                    values: .floats(V1.FloatColumn(values: [Float](repeating: .nan, count: 50)))
                )
                let allMissing = await expectError(.invalidArgument) {
                    _ = try await Self.train(client, "x", .table(empty))
                }
                #expect(allMissing?.message.contains("size") == true)

                var unlabelled = Self.table(rows: 50)
                unlabelled.labelColumn = ""
                let noLabel = await expectError(.invalidArgument) {
                    _ = try await Self.train(client, "x", .table(unlabelled))
                }
                #expect(noLabel?.message.contains("label_column") == true, "\(noLabel?.message ?? "")")

                let unknownEnum = await expectError(.invalidArgument) {
                    _ = try await Self.train(
                        client,
                        "x",
                        .table(Self.table(rows: 50)),
                        preprocessing: V1.PreprocessingSpec(numericImputation: V1.Imputation(rawValue: 99))
                    )
                }
                #expect(unknownEnum?.message.contains("numeric_imputation") == true, "\(unknownEnum?.message ?? "")")

                let numericModel = await expectError(.invalidArgument) {
                    _ = try await Self.train(client, "iris", .inlineData(try Fixtures.dataset("iris")))
                    _ = try await client.predict(V1.PredictRequest(model: V1.ModelRef(name: "iris"), table: unseen))
                }
                #expect(numericModel?.message.contains("numeric rows") == true)
            }
        }
    }

    @Test("the V2 HTTP endpoint serves a numeric-only table model by raw columns and refuses a categorical one")
    func inferenceProtocol() async throws {
        try await HTTPTests.withServer { server in
            try await server.binary.client { client in
                var numeric = Self.table(rows: 300)
                numeric.table!.columns.removeAll { $0.name == "color" }
                _ = try await Self.train(
                    client,
                    "sizes",
                    .table(numeric),
                    spec: .tree(V1.DecisionTreeSpec(maxDepth: 2))
                )
                _ = try await Self.train(client, "shop", .table(Self.table(rows: 300)))
            }
            let connection = try RawConnection(server.http)
            // size, member: two raw columns (member a 0/1 number); size 9 buys, size 1 does not.
            let served = try HTTPTests.request(
                connection,
                "POST",
                "/v2/models/sizes/infer",
                body: HTTPTests.infer([[9, 0], [1, 1]])
            )
            #expect(served.status == 200, "\(served.text)")
            #expect(served.text.contains("\"yes\"") && served.text.contains("\"no\""), "\(served.text)")
            let refused = try HTTPTests.request(
                connection,
                "POST",
                "/v2/models/shop/infer",
                body: HTTPTests.infer([[1, 2, 3]])
            )
            #expect(refused.status == 400 && refused.text.contains("color"), "\(refused.text)")
        }
    }

    @Test("the preprocessing survives a restart, and an imported file with inconsistent preprocessing is refused")
    func storedPreprocessing() async throws {
        let repository = TestServer.temporaryDirectory()
        let rows = Self.table(rows: 100, seed: 4).table!.rows(0..<5)
        let before = try await TestServer.with(repository: repository) { server in
            try await server.client { client in
                _ = try await Self.train(client, "shop", .table(Self.table(rows: 300)))
                return try await client.predict(V1.PredictRequest(model: V1.ModelRef(name: "shop"), table: rows))
            }
        }
        try await TestServer.with(repository: repository) { server in
            try await server.client { client in
                let after = try await client.predict(V1.PredictRequest(model: V1.ModelRef(name: "shop"), table: rows))
                #expect(after.classIds == before.classIds && after.classIds.count == 5)
                var file = try V1.ModelFile(
                    serializedBytes: try await client.exportModel(V1.ModelRef(name: "shop")).modelFile
                )
                guard case .categorical(var color)? = file.preprocessing?.columns[0].kind else {
                    Issue.record("color is not categorical")
                    return
                }
                color.categories.removeLast()  // one feature fewer than the model takes
                file.preprocessing!.columns[0].kind = .categorical(color)
                let refused = await expectError(.invalidArgument) {
                    _ = try await client.importModel(name: "broken", modelFile: try file.serializedBytes())
                }
                #expect(refused?.message.contains("preprocessing") == true, "\(refused?.message ?? "")")
            }
        }
    }

    @Test("tune on a table: folds of the encoded rows, the refit version keeps the preprocessing")
    func tuneOnATable() async throws {
        try await TestServer.with { server in
            try await server.client { client in
                let request = V1.TuneRequest(
                    model: "shop",
                    data: .table(Self.table(rows: 300)),
                    spec: V1.ModelSpec(family: .tree(V1.DecisionTreeSpec())),
                    grid: [V1.TuneParameter(name: "max-depth", values: ["1", "4"])],
                    seed: 3,
                    folds: 3,
                    preprocessing: V1.PreprocessingSpec(missingIndicators: true)
                )
                var result: V1.TrainResult?
                for try await event in try await client.tune(request) {
                    if case .result(let r)? = event.event { result = r }
                }
                let tune = try #require(result?.tune)
                #expect(tune.trials.count == 2 && tune.trials[Int(tune.best)].settings.first?.value == "4")
                let info = try await client.describeModel(V1.ModelRef(name: "shop"))
                #expect(info.preprocessing?.columns.map(\.name) == ["color", "size", "member"])
                #expect(info.featureNames.contains("size (missing)"))
                let predicted = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "shop"), table: Self.table(rows: 10).table!.rows(0..<10))
                )
                #expect(predicted.classIds.count == 10)
            }
        }
    }

    @Test("a table model quantizes with raw calibration and evaluation rows; the int8 version takes tables")
    func transformsTakeTables() async throws {
        try await TestServer.with { server in
            try await server.client { client in
                let dense = V1.ModelSpec.Family.dense(V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 16)]))
                _ = try await Self.train(client, "shop", .table(Self.table(rows: 400)), spec: dense)
                var calibration = Self.table(rows: 100, seed: 2)
                calibration.labelColumn = ""
                let request = V1.QuantizeRequest(
                    model: V1.ModelRef(name: "shop"),
                    targetModel: "shop-int8",
                    calibrationData: V1.TransformData(source: .table(calibration)),
                    evalData: V1.TransformData(source: .table(Self.table(rows: 200, seed: 3)))
                )
                let result = try await TransformCallTests.result(try await client.quantize(request))
                #expect(result.model == "shop-int8")
                let info = try await client.describeModel(V1.ModelRef(name: "shop-int8"))
                #expect(info.preprocessing?.columns.map(\.name) == ["color", "size", "member"])
                let predicted = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "shop-int8"), table: Self.table(rows: 20).table)
                )
                #expect(predicted.classIds.count == 20)
                var unlabelled = Self.table(rows: 50, seed: 4)
                unlabelled.labelColumn = ""
                let refused = await expectError(.invalidArgument) {
                    let events = try await client.quantize(
                        V1.QuantizeRequest(
                            model: V1.ModelRef(name: "shop"),
                            evalData: V1.TransformData(source: .table(unlabelled))
                        )
                    )
                    _ = try await TransformCallTests.result(events)
                }
                #expect(refused?.message.contains("label_column") == true, "\(refused?.message ?? "")")
            }
        }
    }

    @Test("a regression table: numeric targets, an ordinal category, predictions per raw row")
    func regressionTable() async throws {
        var labelled = Self.table(rows: 300)
        // The target: 2 × size (10 for a missing size), plus 5 for red.
        let columns = labelled.table!.columns
        guard case .floats(let sizes)? = columns[1].values, case .strings(let colors)? = columns[0].values else {
            Issue.record("unexpected column types")
            return
        }
        let targets = zip(sizes.values, colors.values).map { size, color in
            (size.isNaN ? 10 : 2 * size) + (color == "red" ? 5 : 0)
        }
        labelled.table!.columns[3] = V1.TableColumn(name: "price", values: .floats(V1.FloatColumn(values: targets)))
        labelled.labelColumn = "price"
        try await TestServer.with { server in
            try await server.client { client in
                var request = Fixtures.trainRequest(model: "price", data: V1.Dataset())
                request.data = .table(labelled)
                request.spec = V1.ModelSpec(task: .regression, family: .tree(V1.DecisionTreeSpec(maxDepth: 8)))
                request.preprocessing = V1.PreprocessingSpec(
                    encoding: .ordinal,
                    numericImputation: .constant,
                    numericFill: 5
                )
                let result = try await client.trainToResult(request).result
                guard case .regression(let metrics)? = result.metrics?.kind else {
                    Issue.record("not a regression result: \(String(describing: result.metrics))")
                    return
                }
                #expect(metrics.r2 > 0.9, "\(metrics.r2)")
                let info = try await client.describeModel(V1.ModelRef(name: "price"))
                #expect(info.featureNames == ["color", "size", "member"])
                let predicted = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "price"), table: labelled.table!.rows(0..<4))
                )
                #expect(predicted.values.count == 4 && predicted.classIds.isEmpty)
            }
        }
    }
}
