import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// Finite-difference checks: every activation's backward, every loss's gradient, and whole
/// networks' parameter gradients (every activation, every loss, with and without L2).
@Suite(.ownThreads) struct GradientCheckTests {
    /// Central difference of a scalar function, in Double around Float parameters.
    func numericGradient(_ values: [Float], step: Float = 1e-2, _ f: ([Float]) -> Float) -> [Float] {
        (0..<values.count).map { i in
            var plus = values
            var minus = values
            plus[i] += step
            minus[i] -= step
            return (f(plus) - f(minus)) / (2 * step)
        }
    }

    @Test("activation backward matches finite differences", arguments: Activation.allCases)
    func activation(_ activation: Activation) {
        var g = SeededGenerator(seed: 11)
        // Keep relu inputs away from the kink at 0.
        let x = randomMatrix(rows: 3, columns: 4, generator: &g).values.map { abs($0) < 0.05 ? $0 + 0.1 : $0 }
        let weights = randomMatrix(rows: 3, columns: 4, generator: &g).values
        // L = Σ w ⊙ activation(x): ∂L/∂y = w.
        func loss(_ v: [Float]) -> Float {
            zip(activation.apply(Matrix(rows: 3, columns: 4, values: v)).values, weights).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let y = activation.apply(Matrix(rows: 3, columns: 4, values: x))
        let analytic = activation.backward(Matrix(rows: 3, columns: 4, values: weights), output: y).values
        let numeric = numericGradient(x, step: 1e-3, loss)
        #expect(
            zip(analytic, numeric).allSatisfy { isClose($0, $1, relative: 2e-2, absolute: 2e-3) },
            "\(analytic) vs \(numeric)"
        )
    }

    @Test("loss gradient matches finite differences", arguments: Loss.allCases)
    func loss(_ loss: Loss) {
        var g = SeededGenerator(seed: 5)
        let rows = 4
        let columns = loss == .binaryCrossEntropy ? 1 : 3
        var outputs = randomMatrix(rows: rows, columns: columns, generator: &g)
        if loss == .sparseCategoricalCrossEntropy { outputs = Activation.softmax.apply(outputs) }
        if loss == .binaryCrossEntropy { outputs = Activation.sigmoid.apply(outputs) }
        if loss == .hinge { outputs.values = outputs.values.map { abs(abs($0) - 1) < 0.05 ? $0 * 0.5 : $0 } }
        let targets: [Float] =
            loss == .meanSquaredError
            ? randomMatrix(rows: rows, columns: columns, generator: &g).values
            : (0..<rows).map { Float($0 % (loss == .binaryCrossEntropy ? 2 : columns)) }
        let analytic = loss.evaluate(outputs: outputs, targets: targets).gradient.values
        let numeric = numericGradient(outputs.values, step: 1e-3) {
            loss.evaluate(outputs: Matrix(rows: rows, columns: columns, values: $0), targets: targets).loss
        }
        #expect(
            zip(analytic, numeric).allSatisfy { isClose($0, $1, relative: 2e-2, absolute: 2e-3) },
            "\(analytic) vs \(numeric)"
        )
    }

    @Test(
        "network parameter gradients match finite differences",
        arguments: [
            ("relu-softmax-ce", Activation.relu, Activation.softmax, Loss.sparseCategoricalCrossEntropy, Float(0)),
            ("tanh-sigmoid-bce", .tanh, .sigmoid, .binaryCrossEntropy, 0),
            ("sigmoid-linear-mse", .sigmoid, .linear, .meanSquaredError, 0.01),
            ("linear-linear-hinge", .linear, .linear, .hinge, 0),
            ("tanh-softmax-mse", .tanh, .softmax, .meanSquaredError, 0),
            ("relu-softmax-ce-l2", .relu, .softmax, .sparseCategoricalCrossEntropy, 0.05),
        ]
    )
    func network(name: String, hidden: Activation, output: Activation, loss: Loss, l2: Float) {
        var g = SeededGenerator(seed: 9)
        let outputs = loss == .binaryCrossEntropy ? 1 : 3
        var net = DenseNetwork(inputs: 4, layers: [(5, hidden), (4, hidden), (outputs, output)], loss: loss)
        net.initialize(.heUniform, using: &g)
        // Non-zero biases so every parameter matters.
        for i in net.parameters.indices where net.parameters[i] == 0 {
            net.parameters[i] = g.nextUnitFloat() * 0.2 - 0.1
        }
        let input = randomMatrix(rows: 6, columns: 4, generator: &g)
        let targets: [Float] =
            loss == .meanSquaredError
            ? randomMatrix(rows: 6, columns: outputs, generator: &g).values
            : (0..<6).map { Float($0 % max(outputs, 2)) }
        let (_, analytic) = net.lossAndGradient(input, targets: targets, l2: l2)
        let numeric = numericGradient(net.parameters, step: 2e-3) { p in
            var copy = net
            copy.parameters = p
            return copy.lossAndGradient(input, targets: targets, l2: l2).loss
        }
        let mismatches = zip(analytic, numeric).enumerated().filter {
            !isClose($0.element.0, $0.element.1, relative: 5e-2, absolute: 3e-3)
        }
        #expect(mismatches.count <= analytic.count / 50, "\(name): \(mismatches.prefix(5))")
    }
}
