import CModelwireKernels
import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// Int8 quantization (issue 14): the kernels against the documented arithmetic, the AVX2 path
/// against the portable one bit for bit, and quantized models against their float sources.
@Suite(.ownThreads) struct QuantizationTests {
    /// A random int8 layer of the given shape (weights in [-127, 127], positive scales).
    static func randomLayer(
        inputs: Int,
        units: Int,
        activation: Activation,
        inputScale: Float?,
        generator: inout SeededGenerator
    ) -> QuantizedLayer {
        QuantizedLayer(
            inputs: inputs,
            units: units,
            activation: activation,
            weights: (0..<inputs * units).map { _ in Int8(Int(generator.next() % 255) - 127) },
            weightScales: (0..<units).map { _ in 0.001 + generator.nextUnitFloat() * 0.02 },
            biases: (0..<units).map { _ in generator.nextUnitFloat() - 0.5 },
            inputScale: inputScale
        )
    }

    /// One layer's outputs by the formula of `QuantizedLayer`'s documentation, in plain Swift.
    static func reference(_ layer: QuantizedLayer, _ x: Matrix) -> Matrix {
        var out = Matrix(rows: x.rows, columns: layer.units)
        for r in 0..<x.rows {
            let row = (0..<x.columns).map { x[r, $0].isFinite ? x[r, $0] : 0 }
            let largest = row.map(abs).max() ?? 0
            var (scale, inverse): (Float, Float) =
                if let s = layer.inputScale { (s, 1 / s) } else if largest > 0 {
                    (largest * (1 / 127), 127 / largest)
                } else { (0, 0) }
            if !(inverse < .infinity) { (scale, inverse) = (0, 0) }
            // Non-finite values are left out of the row's largest, then clamped (NaN to -127).
            let q = (0..<x.columns).map { c in
                var v = x[r, c] * inverse
                v = v > -127 ? v : -127
                v = v < 127 ? v : 127
                return Int32(v.rounded(.toNearestOrEven))
            }
            for j in 0..<layer.units {
                var sum: Int32 = 0
                for i in 0..<layer.inputs { sum += q[i] * Int32(layer.weights[i * layer.units + j]) }
                let s = scale * layer.weightScales[j]
                var v = Float(sum) * s
                v = v + layer.biases[j]
                out[r, j] = layer.activation == .relu ? (v > 0 ? v : 0) : v
            }
        }
        return out
    }

    @Test(
        "the int8 kernels compute the documented formula, VNNI, AVX2 and portable bit for bit",
        arguments: [
            (1, 1, 1), (1, 64, 100), (3, 7, 5), (4, 16, 16), (5, 9, 33), (9, 21, 2), (13, 64, 64), (300, 10, 64),
        ]
    )
    func kernelsMatchTheFormula(shape: (rows: Int, units: Int, inputs: Int)) throws {
        var generator = SeededGenerator(seed: UInt64(shape.rows * 1000 + shape.units * 10 + shape.inputs))
        for (activation, inputScale) in [
            (Activation.relu, nil), (.linear, nil), (.relu, Float(0.01)), (.linear, 0.003),
        ] {
            let layer = Self.randomLayer(
                inputs: shape.inputs,
                units: shape.units,
                activation: activation,
                inputScale: inputScale,
                generator: &generator
            )
            var x = randomMatrix(rows: shape.rows, columns: shape.inputs, generator: &generator)
            if shape.rows > 2 {
                for c in 0..<shape.inputs { x[1, c] = 0 }  // an all-zero row
                x[2, 0] = .nan
                x[2, shape.inputs - 1] = -.infinity
            }
            let parameters = QuantizedDenseParameters(layers: [layer], loss: .meanSquaredError)
            let expected = Self.reference(layer, x).values.map(\.bitPattern)
            for kernel in [CModelwireKernels_qPortable, CModelwireKernels_qAVX2, CModelwireKernels_qVNNI] {
                let network = QuantizedNetwork(parameters: parameters, kernel: Int32(kernel))
                #expect(
                    network.outputs(x, threads: 1).values.map(\.bitPattern) == expected,
                    "kernel \(network.kernel) (asked \(kernel)), \(activation) \(inputScale as Any)"
                )
            }
        }
    }

    @Test("three layers with standardisation: each kernel's fused path equals the formula layer by layer")
    func layersWithStandardization() throws {
        var generator = SeededGenerator(seed: 11)
        let widths = [37, 24, 9, 5]
        for scales in [[Float?](repeating: nil, count: 3), [0.02, nil, 0.05]] {
            let layers = (0..<3).map { l in
                Self.randomLayer(
                    inputs: widths[l],
                    units: widths[l + 1],
                    activation: l == 1 ? .linear : .relu,
                    inputScale: scales[l],
                    generator: &generator
                )
            }
            let standardization = Standardization(
                mean: (0..<37).map { _ in generator.nextUnitFloat() },
                scale: (0..<37).map { _ in 0.5 + generator.nextUnitFloat() }
            )
            let x = randomMatrix(rows: 70, columns: 37, generator: &generator)
            let inverse = standardization.scale.map { 1 / $0 }
            var expected = Matrix(
                rows: 70,
                columns: 37,
                values: x.values.indices.map { i in (x.values[i] - standardization.mean[i % 37]) * inverse[i % 37] }
            )
            for layer in layers { expected = Self.reference(layer, expected) }
            let parameters = QuantizedDenseParameters(layers: layers, loss: .meanSquaredError)
            for kernel in [CModelwireKernels_qPortable, CModelwireKernels_qAVX2, CModelwireKernels_qVNNI] {
                let network = QuantizedNetwork(
                    parameters: parameters,
                    standardization: standardization,
                    kernel: Int32(kernel)
                )
                #expect(
                    network.outputs(x, threads: 1).values.map(\.bitPattern) == expected.values.map(\.bitPattern),
                    "kernel \(network.kernel), scales \(scales)"
                )
            }
        }
    }

    @Test("a quantized dense net predicts like its float source on digits, in both activation modes")
    func denseNetKeepsItsAccuracy() throws {
        let (model, train) = try TransformTests.digitsNet(hidden: [64, 64], epochs: 8)
        let (_, test) = try bundled("digits")
        let float = try accuracy(model, on: test)
        for calibration in [nil, Array(train.features.prefix(200 * train.columns))] {
            let snapshot = try Quantization.quantize(model.snapshot, calibration: calibration)
            guard case .quantizedDense(let p) = snapshot.parameters else {
                Issue.record("not quantized")
                return
            }
            #expect(p.layers.allSatisfy { ($0.inputScale != nil) == (calibration != nil) })
            #expect(p.layers.allSatisfy { layer in layer.weights.contains(127) || layer.weights.contains(-127) })
            let quantized = try TrainedModel(snapshot: snapshot)
            #expect(quantized.snapshot == snapshot)
            let int8 = try accuracy(quantized, on: test)
            #expect(abs(int8 - float) <= 0.02, "float \(float), int8 \(int8), static: \(calibration != nil)")
            let a = try #require(model.predictProbabilities(test.features))
            let b = try #require(quantized.predictProbabilities(test.features))
            let differences = zip(a.values, b.values).map { abs($0 - $1) }
            let mean = differences.reduce(0, +) / Float(differences.count)
            #expect(mean < 0.01, "mean probability difference \(mean)")
            // Several threads give the same rows.
            #expect(quantized.predictProbabilities(test.features, threads: 2) == b)
        }
    }

    @Test("logistic regression and a linear SVM quantize too, and keep their predictions")
    func linearModels() throws {
        let (train, test) = try bundled("digits")
        for spec in [ModelSpec.logistic(LinearSpec()), .svm(LinearSpec())] {
            let model = try Trainer.train(spec: spec, dataset: train)
            let quantized = try TrainedModel(snapshot: try Quantization.quantize(model.snapshot, calibration: nil))
            guard case .quantizedLinear(let p) = quantized.snapshot.parameters else {
                Issue.record("not quantized")
                return
            }
            #expect(p.layer.activation == (p.kind == .logistic ? .softmax : .linear))
            #expect(quantized.producesProbabilities == model.producesProbabilities)
            let same = zip(model.predictClasses(test.features), quantized.predictClasses(test.features)).count {
                $0 == $1
            }
            #expect(Double(same) / Double(test.rows) >= 0.97, "\(spec): \(same) of \(test.rows) classes kept")
        }
    }

    @Test("trees, quantized models and impossible files are refused with a reason")
    func refusals() throws {
        let (train, _) = try bundled("digits")
        let tree = try Trainer.train(spec: .tree(TreeSpec(maxDepth: 3)), dataset: train)
        #expect(throws: TrainingError.self) { try Quantization.quantize(tree.snapshot, calibration: nil) }
        let (net, _) = try TransformTests.digitsNet(hidden: [8], epochs: 1)
        let once = try Quantization.quantize(net.snapshot, calibration: nil)
        #expect(throws: TrainingError.self) { try Quantization.quantize(once, calibration: nil) }
        #expect(throws: TrainingError.self) { try Quantization.quantize(net.snapshot, calibration: [1, 2, 3]) }
        guard case .quantizedDense(let p) = once.parameters else { return }
        func broken(_ change: (inout QuantizedLayer) -> Void) -> ModelSnapshot {
            var layers = p.layers
            change(&layers[0])
            var snapshot = once
            snapshot.parameters = .quantizedDense(QuantizedDenseParameters(layers: layers, loss: p.loss))
            return snapshot
        }
        for snapshot in [
            broken { $0.weights[0] = -128 }, broken { $0.weightScales[0] = 0 }, broken { $0.weightScales[1] = .nan },
            broken { $0.inputScale = -1 }, broken { $0.biases.removeLast() }, broken { $0.weights.removeLast() },
        ] {
            #expect(throws: TrainingError.self) { try TrainedModel(snapshot: snapshot) }
        }
    }
}
