import ModelwireCodec
import ModelwireData
import ModelwireML
import ModelwireProtocol
import Testing

@testable import ModelwireServer

/// The model file's sparse form of a dense layer (`DenseLayer.sparse_weights`): chosen when smaller,
/// read back exactly, and refused with data_loss when it breaks an invariant.
@Suite("Sparse model file")
struct SparseModelFileTests {
    /// A 20→64→3 classifier's snapshot, its weights pruned by magnitude to `sparsity` (none at 0).
    static func snapshot(sparsity: Double) throws -> ModelSnapshot {
        var g = SeededGenerator(seed: 9)
        let shapes: [(Int, Int, Activation)] = [(20, 64, .relu), (64, 3, .softmax)]
        var parameters = DenseNetParameters(
            layers: shapes.map { inputs, units, activation in
                .init(
                    inputs: inputs,
                    units: units,
                    activation: activation,
                    weights: (0..<inputs * units).map { _ in g.nextUnitFloat() * 2 - 1 },
                    biases: (0..<units).map { _ in g.nextUnitFloat() }
                )
            },
            loss: .sparseCategoricalCrossEntropy
        )
        if sparsity > 0 { parameters = try Pruning.magnitude(parameters, sparsity: sparsity) }
        return ModelSnapshot(
            task: .classification,
            featureNames: (0..<20).map { "f\($0)" },
            classNames: ["a", "b", "c"],
            standardization: nil,
            parameters: .dense(parameters),
            training: TrainingSummary(epochsRun: 1, trainingSamples: 10, durationSeconds: 0)
        )
    }

    static func file(_ snapshot: ModelSnapshot) -> V1.ModelFile {
        V1.ModelFile(
            snapshot: snapshot,
            name: "m",
            version: 1,
            createdUnixMs: 0,
            spec: nil,
            options: nil,
            evaluation: nil
        )
    }

    static func layers(_ file: V1.ModelFile) -> [V1.DenseLayer] {
        guard case .dense(let p)? = file.parameters else { return [] }
        return p.layers
    }

    @Test("a 90% pruned net is stored sparsely, smaller, and reads back to the same snapshot")
    func prunedRoundTrip() throws {
        let pruned = try Self.snapshot(sparsity: 0.9)
        let file = Self.file(pruned)
        #expect(Self.layers(file).allSatisfy { $0.sparseWeights != nil && $0.weights.isEmpty })
        let bytes = try file.serializedBytes()
        let decoded = try V1.ModelFile(serializedBytes: bytes).snapshot()
        #expect(decoded == pruned)
        #expect(file.parameterCount == UInt64(20 * 64 + 64 + 64 * 3 + 3))

        var denseLayers: [V1.DenseLayer] = []
        for (l, layer) in Self.layers(file).enumerated() {
            var copy = layer
            copy.weights = try layer.denseWeights(layer: l)
            copy.sparseWeights = nil
            denseLayers.append(copy)
        }
        var dense = file
        dense.parameters = .dense(V1.DenseNetParameters(layers: denseLayers))
        let denseBytes = try dense.serializedBytes().count
        #expect(bytes.count * 3 < denseBytes, "sparse \(bytes.count) bytes, dense \(denseBytes)")
    }

    @Test("an unpruned net stays dense; a layer is sparse only where that encodes smaller")
    func denseWhenNotSmaller() throws {
        #expect(Self.layers(Self.file(try Self.snapshot(sparsity: 0))).allSatisfy { $0.sparseWeights == nil })
        // 10% zeros: 90% of the entries at 5 or more bytes each cost more than 4 bytes per weight.
        #expect(Self.layers(Self.file(try Self.snapshot(sparsity: 0.1))).allSatisfy { $0.sparseWeights == nil })
        for layer in Self.layers(Self.file(try Self.snapshot(sparsity: 0.7))) where layer.sparseWeights != nil {
            var dense = layer
            dense.weights = try layer.denseWeights(layer: 0)
            dense.sparseWeights = nil
            let (sparseBytes, denseBytes) = (try layer.serializedBytes().count, try dense.serializedBytes().count)
            #expect(sparseBytes < denseBytes)
        }
    }

    @Test(
        "a sparse layer that breaks an invariant is data_loss naming it, never a crash",
        arguments: [
            ("both", "and weights are both set"),
            ("counts", "has 3 position deltas for 2 values"),
            ("repeat", "position 1 repeats the one before (delta 0)"),
            ("range", "position 6 (entry 2) is outside the 2 x 3 weights"),
            ("first", "position 6 (entry 0) is outside the 2 x 3 weights"),
            ("huge", "the sparse layers expand to more than 67108864 weights"),
            ("overflow", "the sparse layers expand to more than 67108864 weights"),
            ("together", "the sparse layers expand to more than 67108864 weights"),
        ]
    )
    func hostile(kind: String, message: String) throws {
        var layer = V1.DenseLayer(inputs: 2, units: 3, activation: .relu, biases: [0, 0, 0])
        switch kind {
        case "both":
            layer.weights = [1, 0, 0, 0, 0, 0]
            layer.sparseWeights = .init(positionDeltas: [0], values: [1])
        case "counts": layer.sparseWeights = .init(positionDeltas: [0, 1, 1], values: [1, 2])
        case "repeat": layer.sparseWeights = .init(positionDeltas: [2, 0], values: [1, 2])
        case "range": layer.sparseWeights = .init(positionDeltas: [1, 3, 2], values: [1, 2, 3])
        case "first": layer.sparseWeights = .init(positionDeltas: [6], values: [1])
        default:
            // Claims checked before any layer is expanded: one too large, one whose size overflows,
            // two that only together exceed the bound.
            (layer.inputs, layer.units) =
                kind == "huge" ? (65536, 65536) : kind == "overflow" ? (.max, .max) : (8192, 4097)
            layer.sparseWeights = .init(positionDeltas: [0], values: [1])
        }
        var file = Self.file(try Self.snapshot(sparsity: 0.9))
        let rest = kind == "together" ? [layer] : Array(Self.layers(file).dropFirst())
        file.parameters = .dense(V1.DenseNetParameters(layers: [layer] + rest))
        let decoded = try V1.ModelFile(serializedBytes: try file.serializedBytes())
        let error = #expect(throws: ModelwireError.self) { try decoded.snapshot() }
        #expect(error?.code == .dataLoss)
        #expect(error?.message == (message.hasPrefix("the ") ? message : "layer 0: sparse_weights \(message)"))
    }

    @Test("a valid sparse layer of the wrong shape is refused by the snapshot's size checks")
    func wrongShape() throws {
        var file = Self.file(try Self.snapshot(sparsity: 0.9))
        var layers = Self.layers(file)
        layers[0].inputs = 21  // every position still in range: the sizes no longer fit the features
        file.parameters = .dense(V1.DenseNetParameters(layers: layers))
        let snapshot = try V1.ModelFile(serializedBytes: try file.serializedBytes()).snapshot()
        #expect(throws: TrainingError.self) { try TrainedModel(snapshot: snapshot) }
    }
}
