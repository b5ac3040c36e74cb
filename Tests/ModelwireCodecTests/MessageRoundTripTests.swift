import ModelwireCodec
import Testing

@Suite struct MessageRoundTripTests {
    static func roundTrip<M: ProtobufMessage>(_ message: M) throws -> M {
        try M(serializedBytes: try message.serializedBytes())
    }

    @Test func predictRequestWithOneofAndFlatTensor() throws {
        let request = V1.PredictRequest(
            model: V1.ModelRef(name: "digits", selector: .alias("production")),
            inputs: V1.Tensor(columns: 3, values: [1, -2.5, .pi, 0, 1e-30, -.infinity]),
            includeProbabilities: true
        )
        #expect(try Self.roundTrip(request) == request)
    }

    @Test func nestedRepeatedMessagesAndEnums() throws {
        let train = V1.TrainRequest(
            model: "net",
            data: .inlineData(
                V1.Dataset(
                    featureNames: ["a", "b"],
                    features: V1.Tensor(columns: 2, values: [1, 2, 3, 4]),
                    classNames: ["x", "y"],
                    classIds: [0, 1]
                )
            ),
            spec: V1.ModelSpec(
                task: .classification,
                family: .dense(
                    V1.DenseNetSpec(
                        hidden: [
                            V1.DenseLayerSpec(units: 64, activation: .relu),
                            V1.DenseLayerSpec(units: 8, activation: .tanh),
                        ],
                        outputActivation: .softmax
                    )
                )
            ),
            options: V1.TrainingOptions(
                optimizer: V1.Optimizer(kind: .nesterov, learningRate: 0.01, momentum: 0.9),
                epochs: 5,
                batchSize: 16,
                validationSplit: 0.2,
                earlyStopping: V1.EarlyStopping(monitor: .validationAccuracy, patience: 2),
                seed: 7,
                l2: 1e-4
            )
        )
        #expect(try Self.roundTrip(train) == train)
    }

    @Test func modelFileWithEveryParameterKind() throws {
        let dense = V1.ModelFile(
            formatVersion: 1,
            name: "m",
            version: 3,
            createdUnixMs: 1_700_000_000_000,
            task: .classification,
            featureNames: ["f0", "f1"],
            classNames: ["no", "yes"],
            standardization: V1.Standardization(mean: [0.5, 1.5], scale: [1, 2]),
            parameters: .dense(
                V1.DenseNetParameters(layers: [
                    V1.DenseLayer(
                        inputs: 2,
                        units: 2,
                        activation: .softmax,
                        weights: [1, 2, 3, 4],
                        biases: [0.5, -0.5]
                    )
                ])
            ),
            training: V1.TrainingSummary(
                epochsRun: 10,
                trainingSamples: 100,
                durationSeconds: 1.25,
                finalLoss: 0.1,
                validationLoss: nil,
                validationAccuracy: 0.9,
                earlyStopped: false,
                seed: 42
            )
        )
        #expect(try Self.roundTrip(dense) == dense)
        var tree = dense
        tree.parameters = .tree(
            V1.TreeParameters(
                criterion: .entropy,
                outputs: 2,
                feature: [0, -1, -1],
                threshold: [0.5, 0, 0],
                left: [1, -1, -1],
                right: [2, -1, -1],
                value: [0.5, 0.5, 1, 0, 0, 1]
            )
        )
        #expect(try Self.roundTrip(tree) == tree)
        var linear = dense
        linear.parameters = .linear(
            V1.LinearParameters(kind: .svm, inputs: 2, outputs: 1, weights: [1, -1], biases: [0.25])
        )
        #expect(try Self.roundTrip(linear) == linear)
    }

    @Test func presenceThroughOneFieldOneofKeepsAnExplicitZero() throws {
        let zero = V1.Status(code: .resourceExhausted, message: "full", retryAfterMs: 0)
        #expect(try Self.roundTrip(zero).retryAfterMs == 0)
        let absent = V1.Status(code: .resourceExhausted, message: "full")
        #expect(try Self.roundTrip(absent).retryAfterMs == nil)
    }

    @Test func unknownEnumNumbersAreKept() throws {
        let status = V1.Status(code: V1.StatusCode(rawValue: 99), message: "from the future")
        let decoded = try Self.roundTrip(status)
        #expect(decoded.code.rawValue == 99)
        #expect(decoded.code.description == "StatusCode(99)")
    }

    @Test func emptyMessageIsZeroBytes() throws {
        #expect(try V1.HealthRequest().serializedBytes().isEmpty)
        #expect(try V1.HealthRequest(serializedBytes: []) == V1.HealthRequest())
    }

    @Test func bytesFieldsAndUTF8() throws {
        let request = V1.ImportModelRequest(name: "modèle-✓", modelFile: [0, 1, 2, 255, 0])
        #expect(try Self.roundTrip(request) == request)
    }

    @Test func everyMessageTypeDecodesItsOwnEmptyEncoding() throws {
        #expect(V1.messageTypes.count > 50)
        for (name, type) in V1.messageTypes {
            let decoded = try type.init(serializedBytes: [UInt8](), maxSize: 16)
            #expect(try decoded.serializedBytes().isEmpty, "\(name)")
        }
    }
}
