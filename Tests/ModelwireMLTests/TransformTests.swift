import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// Pruning, fine-tuning with the pruned weights held at zero, and distillation (issue 14).
@Suite(.ownThreads) struct TransformTests {
    static func digitsNet(hidden: [Int], epochs: Int = 10, seed: UInt64 = 3) throws -> (TrainedModel, Dataset) {
        let (train, _) = try bundled("digits")
        let spec = DenseNetSpec(hiddenLayers: hidden.map { .init(units: $0, activation: .relu) })
        let model = try Trainer.train(
            spec: .dense(spec),
            options: TrainingOptions(epochs: epochs, seed: seed),
            dataset: train
        )
        return (model, train)
    }

    static func dense(_ model: TrainedModel) throws -> DenseNetParameters {
        guard case .dense(let parameters) = model.snapshot.parameters else {
            throw TrainingError(.invalidArgument, "not dense")
        }
        return parameters
    }

    @Test("magnitude pruning zeroes exactly the smallest weights, over all layers at once")
    func magnitudePruning() throws {
        let (model, _) = try Self.digitsNet(hidden: [32], epochs: 2)
        let source = try Self.dense(model)
        let pruned = try Pruning.magnitude(source, sparsity: 0.9)
        let before = source.layers.flatMap(\.weights)
        let after = pruned.layers.flatMap(\.weights)
        let zeroed = zip(before, after).filter { $0.0 != 0 && $0.1 == 0 }.map { abs($0.0) }
        #expect(after.count { $0 == 0 } == Int((Double(before.count) * 0.9).rounded(.down)))
        let kept = zip(before, after).filter { $0.1 != 0 }.map { abs($0.0) }
        #expect(zeroed.max()! <= kept.min()!)
        #expect(zip(before, after).allSatisfy { $0.1 == 0 || $0.1 == $0.0 })
        #expect(pruned.layers.map(\.biases) == source.layers.map(\.biases))
        #expect(throws: TrainingError.self) { try Pruning.magnitude(source, sparsity: 1) }
        #expect(throws: TrainingError.self) { try Pruning.magnitude(source, sparsity: 0) }
    }

    @Test("structured pruning drops the weakest units and leaves the net's function where they were silent")
    func structuredPruning() throws {
        var g = SeededGenerator(seed: 4)
        var source = DenseNetParameters(
            layers: [
                .init(
                    inputs: 3,
                    units: 4,
                    activation: .relu,
                    weights: randomMatrix(rows: 3, columns: 4, generator: &g).values,
                    biases: [0.1, 0, 0.2, 0.3]
                ),
                .init(
                    inputs: 4,
                    units: 2,
                    activation: .softmax,
                    weights: randomMatrix(rows: 4, columns: 2, generator: &g).values,
                    biases: [0, 0.1]
                ),
            ],
            loss: .sparseCategoricalCrossEntropy
        )
        // Unit 1 receives nothing (zero weights, zero bias): relu keeps it at 0, so dropping it changes nothing.
        for i in 0..<3 { source.layers[0].weights[i * 4 + 1] = 0 }
        let pruned = try Pruning.structured(source, sparsity: 0.25)
        #expect(pruned.layers.map(\.units) == [3, 2] && pruned.layers[1].inputs == 3)
        let x = Matrix(rows: 5, columns: 3, values: randomMatrix(rows: 5, columns: 3, generator: &g).values)
        let a = DenseNetModel(parameters: source).outputs(x, threads: 1).values
        let b = DenseNetModel(parameters: pruned).outputs(x, threads: 1).values
        #expect(zip(a, b).allSatisfy { isClose($0, $1, relative: 1e-5, absolute: 1e-6) }, "\(a) vs \(b)")
        let noHidden = DenseNetParameters(layers: [source.layers[1]], loss: source.loss)
        #expect(throws: TrainingError.self) { try Pruning.structured(noHidden, sparsity: 0.5) }
    }

    @Test("fine-tuning an 80% pruned net keeps its zeros and wins back accuracy")
    func fineTuneHoldsZeros() throws {
        let (model, train) = try Self.digitsNet(hidden: [64, 64])
        let (_, test) = try bundled("digits")
        var snapshot = model.snapshot
        snapshot.parameters = .dense(try Pruning.magnitude(try Self.dense(model), sparsity: 0.8))
        let pruned = try TrainedModel(snapshot: snapshot)
        let tuned = try Trainer.fineTune(
            snapshot,
            dataset: train,
            options: TrainingOptions(epochs: 10, seed: 5),
            holdZeros: true
        )
        let zerosBefore = try Self.dense(pruned).layers.map { layer in
            layer.weights.indices.filter { layer.weights[$0] == 0 }
        }
        let tunedLayers = try Self.dense(tuned).layers
        for (l, zeros) in zerosBefore.enumerated() { #expect(zeros.allSatisfy { tunedLayers[l].weights[$0] == 0 }) }
        let (source, cut, back) = (
            try accuracy(model, on: test), try accuracy(pruned, on: test), try accuracy(tuned, on: test)
        )
        #expect(back > cut && back >= source - 0.03, "source \(source), pruned \(cut), fine-tuned \(back)")
    }

    @Test("the distillation loss's gradient matches finite differences", arguments: [Float(0), 0.5, 1])
    func distillationGradient(alpha: Float) throws {
        var g = SeededGenerator(seed: 9)
        var network = DenseNetwork(
            inputs: 3,
            layers: [(4, .tanh), (3, .softmax)],
            loss: .sparseCategoricalCrossEntropy
        )
        network.initialize(.glorotUniform, using: &g)
        let x = randomMatrix(rows: 5, columns: 3, generator: &g)
        let labels: [Float] = [0, 1, 2, 1, 0]
        var teacher = Activation.softmax.apply(randomMatrix(rows: 5, columns: 3, generator: &g)).values
        Distillation.soften(&teacher, classes: 3, temperature: 2)
        func loss(_ parameters: [Float]) -> (Float, [Float]) {
            var net = network
            net.parameters = parameters
            let workspace = BackpropagationWorkspace(network: net, capacity: 5)
            let value = x.values.withUnsafeBufferPointer { xs in
                labels.withUnsafeBufferPointer { ys in
                    teacher.withUnsafeBufferPointer { qs in
                        net.backpropagate(
                            xs.baseAddress!,
                            targets: ys.baseAddress!,
                            rows: 5,
                            l2: 0,
                            workspace: workspace,
                            soft: (2, alpha, qs.baseAddress!)
                        )
                    }
                }
            }
            return (value, Array(UnsafeBufferPointer(start: workspace.gradient, count: workspace.parameterCount)))
        }
        let analytic = loss(network.parameters).1
        let step: Float = 1e-2
        let numeric = network.parameters.indices.map { i in
            var plus = network.parameters
            var minus = network.parameters
            plus[i] += step
            minus[i] -= step
            return (loss(plus).0 - loss(minus).0) / (2 * step)
        }
        #expect(
            zip(analytic, numeric).allSatisfy { isClose($0, $1, relative: 3e-2, absolute: 2e-3) },
            "\(analytic) vs \(numeric)"
        )
    }

    @Test("a distilled student learns from its teacher; bad settings and teachers are refused")
    func distill() throws {
        let (teacher, train) = try Self.digitsNet(hidden: [128], epochs: 10)
        let (_, test) = try bundled("digits")
        let spec = DenseNetSpec(hiddenLayers: [.init(units: 16, activation: .relu)])
        let student = try Trainer.distill(
            teacher: teacher,
            student: spec,
            options: TrainingOptions(epochs: 10, seed: 2),
            dataset: train
        )
        #expect(student.snapshot.classNames == teacher.snapshot.classNames)
        #expect(try accuracy(student, on: test) > 0.9)
        #expect(throws: TrainingError.self) {
            try Trainer.distill(teacher: teacher, student: spec, dataset: train, temperature: 0)
        }
        #expect(throws: TrainingError.self) {
            try Trainer.distill(teacher: teacher, student: spec, dataset: train, alpha: 1.5)
        }
        let svm = try Trainer.train(spec: .svm(LinearSpec()), dataset: train)
        #expect(throws: TrainingError.self) { try Trainer.distill(teacher: svm, student: spec, dataset: train) }
    }
}
