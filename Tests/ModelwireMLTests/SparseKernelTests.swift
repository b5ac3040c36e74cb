import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

@Suite(.ownThreads) struct SparseKernelTests {
    /// A random inputs × units matrix with about `density` of its entries non-zero.
    func sparseMatrix(_ inputs: Int, _ units: Int, density: Double, generator g: inout SeededGenerator) -> [Float] {
        (0..<inputs * units).map { _ in
            Double(g.nextUnitFloat()) < density ? g.nextUnitFloat() * 2 - 1 : 0
        }
    }

    /// a (m × k) · w (k × n) in Double.
    func reference(_ a: [Float], _ w: [Float], m: Int, k: Int, n: Int) -> [Float] {
        (0..<m * n).map { index in
            let (i, j) = (index / n, index % n)
            return Float((0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(w[$1 * n + j]) })
        }
    }

    /// The sparse product on both kernel variants, its output pre-filled with NaN (it must be overwritten).
    func products(_ a: [Float], _ w: [Float], m: Int, k: Int, n: Int) -> (avx: [Float], portable: [Float]) {
        let sparse = SparseWeights(weights: w, inputs: k, units: n)
        var results: [[Float]] = []
        for avx in [true, false] {
            var c = [Float](repeating: .nan, count: m * n)
            a.withUnsafeBufferPointer { a in
                c.withUnsafeMutableBufferPointer { c in
                    sparse.multiply(a.baseAddress!, rows: m, into: c.baseAddress!, useAVX2FMA: avx)
                }
            }
            results.append(c)
        }
        return (results[0], results[1])
    }

    @Test(
        "the sparse product equals the dense one, AVX2 and portable, on odd shapes",
        arguments: [
            (1, 100, 256), (1, 64, 10), (3, 7, 5), (7, 33, 17), (8, 9, 3), (15, 64, 10), (16, 64, 64),
            (17, 53, 29), (40, 100, 64), (256, 256, 10), (300, 13, 8),
        ]
    )
    func matchesDense(m: Int, k: Int, n: Int) {
        var g = SeededGenerator(seed: UInt64(m * 10_000 + k * 100 + n))
        for density in [0.03, 0.1, 0.5, 1] {
            let w = sparseMatrix(k, n, density: density, generator: &g)
            let a = randomMatrix(rows: m, columns: k, generator: &g).values
            let expected = reference(a, w, m: m, k: k, n: n)
            let (avx, portable) = products(a, w, m: m, k: k, n: n)
            #expect(zip(avx, expected).allSatisfy { isClose($0, $1, absolute: 1e-5) }, "AVX2, density \(density)")
            #expect(zip(portable, expected).allSatisfy { isClose($0, $1, absolute: 1e-5) }, "portable, \(density)")
        }
    }

    @Test("empty rows and columns, and an all-zero layer, give exact zeros")
    func emptyRowsAndColumns() {
        var g = SeededGenerator(seed: 3)
        let (m, k, n) = (21, 12, 11)
        var w = sparseMatrix(k, n, density: 0.4, generator: &g)
        for j in 0..<n where j % 3 == 0 { for i in 0..<k { w[i * n + j] = 0 } }  // empty columns (units)
        for i in 0..<k where i % 4 == 1 { for j in 0..<n { w[i * n + j] = 0 } }  // empty rows (inputs)
        let a = randomMatrix(rows: m, columns: k, generator: &g).values
        let expected = reference(a, w, m: m, k: k, n: n)
        let (avx, portable) = products(a, w, m: m, k: k, n: n)
        #expect(zip(avx, expected).allSatisfy { isClose($0, $1, absolute: 1e-5) })
        #expect(zip(portable, expected).allSatisfy { isClose($0, $1, absolute: 1e-5) })
        for i in 0..<m { for j in stride(from: 0, to: n, by: 3) { #expect(avx[i * n + j] == 0) } }

        let zero = [Float](repeating: 0, count: k * n)
        #expect(SparseWeights(weights: zero, inputs: k, units: n).density == 0)
        for rows in [1, 9, 16, 21] {
            let (avx, portable) = products(Array(a.prefix(rows * k)), zero, m: rows, k: k, n: n)
            #expect(avx.allSatisfy { $0 == 0 } && portable.allSatisfy { $0 == 0 }, "\(rows) rows")
        }
    }

    /// A 100→256→256→10 net pruned by global magnitude.
    func prunedNet(sparsity: Double) throws -> DenseNetParameters {
        var g = SeededGenerator(seed: 21)
        let shapes: [(Int, Int, Activation)] = [(100, 256, .relu), (256, 256, .relu), (256, 10, .softmax)]
        let layers = shapes.map { inputs, units, activation in
            DenseNetParameters.DenseLayer(
                inputs: inputs,
                units: units,
                activation: activation,
                weights: randomMatrix(rows: inputs, columns: units, generator: &g).values,
                biases: randomMatrix(rows: 1, columns: units, generator: &g).values
            )
        }
        let dense = DenseNetParameters(layers: layers, loss: .sparseCategoricalCrossEntropy)
        return try Pruning.magnitude(dense, sparsity: sparsity)
    }

    @Test("a 90% pruned net predicts through the sparse kernel, equal to the dense path")
    func prunedNetMatchesDense() throws {
        let pruned = try prunedNet(sparsity: 0.9)
        let model = DenseNetModel(parameters: pruned)
        #expect(model.sparseWeights.count == 3 && model.sparseWeights.contains { $0 != nil })
        let everyLayer = DenseNetModel(parameters: try prunedNet(sparsity: 0.5), kernels: .always)
        #expect(everyLayer.sparseWeights.allSatisfy { $0 != nil })
        #expect(DenseNetModel(parameters: pruned, kernels: .never).sparseWeights.isEmpty)
        var g = SeededGenerator(seed: 5)
        for (rows, threads) in [(1, 1), (7, 1), (1024, 1), (1024, 2)] {
            let x = randomMatrix(rows: rows, columns: 100, generator: &g)
            for model in [model, everyLayer] {
                let sparse = model.outputs(x, threads: threads).values
                let dense = model.network.forward(x, threads: threads).values
                #expect(zip(sparse, dense).allSatisfy { isClose($0, $1, absolute: 1e-6) }, "\(rows) rows")
            }
        }
    }

    @Test(
        "the kernel is chosen per layer, once at load, by the measured rule; an unpruned net stays dense",
        arguments: [0.01, 0.5, 0.8, 0.9, 0.95]
    )
    func choiceAtLoad(sparsity: Double) throws {
        let model = DenseNetModel(parameters: try prunedNet(sparsity: sparsity))
        var chosen: [Bool] = []
        for (l, layer) in model.network.layers.enumerated() {
            let nonzero = model.network.weights(ofLayer: l).count { $0 != 0 }
            let density = Double(nonzero) / Double(layer.inputs * layer.units)
            let sparse = !model.sparseWeights.isEmpty && model.sparseWeights[l] != nil
            #expect(sparse == SparseWeights.isFaster(density: density, units: layer.units))
            chosen.append(sparse)
        }
        #expect(sparsity > 0.01 || chosen == [false, false, false])
        #expect(sparsity < 0.95 || chosen == [true, true, true])
    }
}
