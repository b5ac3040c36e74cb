import ModelwireML
import Testing

@testable import ModelwireOnnx

/// Export then import: the imported model predicts what the original does, for every family.
@Suite struct OnnxRoundTripTests {
    static let rows: [Float] = (0..<40).map { Float(($0 * 37) % 23) / 7 - 1.5 }  // 10 rows × 4 features

    static func tree(outputs: Int, leafValues: [[Float]]) -> TreeParameters {
        // x0 <= 0 ? (x2 <= 0.5 ? leaf0 : leaf1) : leaf2
        TreeParameters(
            criterion: outputs == 1 ? .mse : .gini,
            outputs: outputs,
            feature: [0, 2, -1, -1, -1],
            threshold: [0, 0.5, 0, 0, 0],
            left: [1, 3, -1, -1, -1],
            right: [2, 4, -1, -1, -1],
            value: [Float](repeating: 0, count: 2 * outputs) + leafValues[2] + leafValues[0] + leafValues[1]
        )
    }

    /// A dense layer with deterministic weights.
    static func layer(
        _ inputs: Int,
        _ units: Int,
        _ activation: Activation,
        _ biases: [Float]
    ) -> DenseNetParameters.DenseLayer {
        .init(
            inputs: inputs,
            units: units,
            activation: activation,
            weights: (0..<inputs * units).map { Float(($0 * 7) % 5) / 4 - 0.4 },
            biases: biases
        )
    }

    static let standardization = Standardization(mean: [0.1, -0.2, 0.3, 0], scale: [1.5, 0.5, 2, 1])

    static func snapshot(
        _ parameters: ModelSnapshot.Parameters,
        classes: Int,
        st: Standardization? = nil
    ) -> ModelSnapshot {
        ModelSnapshot(
            task: classes == 0 ? .regression : .classification,
            featureNames: ["a", "b", "c", "d"],
            classNames: (0..<classes).map { "c\($0)" },
            standardization: st,
            parameters: parameters,
            training: TrainingSummary(epochsRun: 1, trainingSamples: 10, durationSeconds: 0)
        )
    }

    static let cases: [(String, ModelSnapshot)] = [
        (
            "dense softmax",
            snapshot(
                .dense(
                    DenseNetParameters(
                        layers: [layer(4, 3, .tanh, [0.1, -0.1, 0]), layer(3, 3, .softmax, [0, 0.2, -0.2])],
                        loss: .sparseCategoricalCrossEntropy
                    )
                ),
                classes: 3,
                st: standardization
            )
        ),
        (
            "dense sigmoid",
            snapshot(
                .dense(
                    DenseNetParameters(
                        layers: [layer(4, 1, .sigmoid, [0.1])],
                        loss: .binaryCrossEntropy
                    )
                ),
                classes: 2
            )
        ),
        (
            "logistic",
            snapshot(
                .linear(
                    LinearParameters(
                        kind: .logistic,
                        inputs: 4,
                        outputs: 3,
                        weights: (0..<12).map { Float($0 % 7) / 3 - 1 },
                        biases: [0, 1, -1]
                    )
                ),
                classes: 3,
                st: standardization
            )
        ),
        ("tree", snapshot(.tree(tree(outputs: 2, leafValues: [[1, 0], [0.25, 0.75], [0.5, 0.5]])), classes: 2)),
        (
            "regression tree",
            snapshot(.tree(tree(outputs: 1, leafValues: [[3.5], [-1], [10]])), classes: 0, st: standardization)
        ),
        (
            "forest",
            snapshot(
                .forest(
                    ForestParameters(trees: [
                        tree(outputs: 2, leafValues: [[1, 0], [0, 1], [0.5, 0.5]]),
                        tree(outputs: 2, leafValues: [[0.2, 0.8], [1, 0], [0, 1]]),
                    ])
                ),
                classes: 2
            )
        ),
        (
            "gbdt regression",
            snapshot(
                .gbdt(
                    GradientBoostingParameters(
                        loss: .squaredError,
                        outputs: 1,
                        baseline: [2],
                        trees: [
                            tree(outputs: 1, leafValues: [[1], [2], [3]]),
                            tree(outputs: 1, leafValues: [[-0.5], [0.5], [0]]),
                        ]
                    )
                ),
                classes: 0
            )
        ),
    ]

    @Test(arguments: cases.map(\.0))
    func importedExportPredictsTheSame(_ name: String) throws {
        let original = try #require(Self.cases.first { $0.0 == name }).1
        let bytes = OnnxExporter.export(original, modelName: name, producerVersion: "test")
        let imported = try OnnxImporter.convert(bytes, limits: .forFile(bytes: bytes.count))
        #expect(imported.inputName == "input")
        #expect(imported.producerName == "modelwire")
        let a = try TrainedModel(snapshot: original).predict(Self.rows)
        let b = try TrainedModel(snapshot: imported.snapshot).predict(Self.rows)
        #expect(a.classIDs == b.classIDs)
        #expect(imported.snapshot.classNames == original.classNames)  // from the export's metadata
        let (x, y) = (a.scores?.values ?? a.values, b.scores?.values ?? b.values)
        #expect(x.count == y.count && !x.isEmpty)
        for (u, v) in zip(x, y) { #expect(abs(u - v) <= 1e-5 * max(1, abs(u)), "\(name): \(u) vs \(v)") }
    }
}
