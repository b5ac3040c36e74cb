import CModelwireKernels
import Foundation
import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

@Suite(.ownThreads) struct KernelTests {
    /// Reference product in Double.
    func naive(_ a: Matrix, _ ta: Bool, _ b: Matrix, _ tb: Bool) -> Matrix {
        let A = ta ? a.transposed : a
        let B = tb ? b.transposed : b
        var c = Matrix(rows: A.rows, columns: B.columns)
        for i in 0..<A.rows {
            for j in 0..<B.columns {
                var s = 0.0
                for p in 0..<A.columns { s += Double(A[i, p]) * Double(B[p, j]) }
                c[i, j] = Float(s)
            }
        }
        return c
    }

    @Test(
        "matmul matches the reference in every transposed form",
        arguments: [(1, 64, 100), (3, 17, 5), (37, 53, 29), (130, 40, 300), (7, 1030, 9)]
    )
    func multiply(m: Int, n: Int, k: Int) {
        var g = SeededGenerator(seed: UInt64(m * 1000 + n))
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomMatrix(rows: ta ? k : m, columns: ta ? m : k, generator: &g)
            let b = randomMatrix(rows: tb ? n : k, columns: tb ? k : n, generator: &g)
            let c = Matrix.multiply(a, transposed: ta, b, transposed: tb)
            let expected = naive(a, ta, b, tb)
            #expect(c.rows == m && c.columns == n)
            #expect(
                zip(c.values, expected.values).allSatisfy { isClose($0, $1, relative: 1e-4, absolute: 1e-4) },
                "transposeA \(ta) transposeB \(tb)"
            )
        }
    }

    /// The kernel sets this CPU runs, portable first (each `sgemmUsing` level up to the best).
    var levels: [Int32] { Array(0...CModelwireKernels_kernelLevel()) }

    @Test(
        "every kernel set matches the reference; AVX2+FMA and AVX-512 agree bit for bit",
        arguments: [(5, 33, 270), (64, 64, 100), (1, 10, 64), (13, 10, 7), (256, 100, 64), (11, 47, 300)]
    )
    func kernelSets(m: Int, n: Int, k: Int) {
        var g = SeededGenerator(seed: 8)
        for (ta, tb) in [(false, false), (true, false), (false, true)] {
            let a = randomMatrix(rows: ta ? k : m, columns: ta ? m : k, generator: &g)
            let b = randomMatrix(rows: tb ? n : k, columns: tb ? k : n, generator: &g)
            var results = [[Float]]()
            for level in self.levels {
                var c = [Float](repeating: 0, count: m * n)
                let rc = CModelwireKernels_sgemmUsing(
                    level,
                    ta ? 1 : 0,
                    tb ? 1 : 0,
                    m,
                    n,
                    k,
                    1,
                    a.values,
                    a.columns,
                    b.values,
                    b.columns,
                    0,
                    &c,
                    n
                )
                #expect(rc == 0)
                results.append(c)
            }
            let expected = naive(a, ta, b, tb).values
            for (level, c) in zip(self.levels, results) {
                #expect(zip(c, expected).allSatisfy { isClose($0, $1, absolute: 1e-4) }, "level \(level) \(ta) \(tb)")
            }
            if results.count == 3 { #expect(results[1] == results[2], "AVX2 and AVX-512 differ: \(ta) \(tb)") }
        }
    }

    /// activation(A · B + bias) in Double, row by row.
    func naiveLayer(_ a: Matrix, _ b: Matrix, bias: [Float]?, _ activation: Activation) -> [Float] {
        let product = naive(a, false, b, false)
        var out = [Float]()
        for r in 0..<product.rows {
            var row = (0..<product.columns).map { Double(product[r, $0]) + Double(bias?[$0] ?? 0) }
            switch activation {
            case .relu: row = row.map { max($0, 0) }
            case .tanh: row = row.map { Foundation.tanh($0) }
            case .sigmoid: row = row.map { 1 / (1 + Foundation.exp(-$0)) }
            case .softmax:
                let top = row.max()!
                let e = row.map { Foundation.exp($0 - top) }
                let sum = e.reduce(0, +)
                row = e.map { $0 / sum }
            case .linear: break
            }
            out += row.map { Float($0) }
        }
        return out
    }

    @Test(
        "the fused dense layer equals the reference, and sgemm + biasActivation bit for bit",
        arguments: [
            (1, 10, 64), (4, 100, 64), (5, 10, 100), (7, 3, 5), (13, 17, 33), (256, 100, 64), (256, 10, 100),
            (37, 47, 300), (20, 1030, 9),
        ]
    )
    func fusedDenseLayer(m: Int, n: Int, k: Int) {
        var g = SeededGenerator(seed: UInt64(m * 7 + n))
        let a = randomMatrix(rows: m, columns: k, generator: &g)
        let b = randomMatrix(rows: k, columns: n, generator: &g)
        let bias = (0..<n).map { _ in g.nextUnitFloat() - 0.5 }
        let ldc = n + 3  // rows apart in C: the 3 cells after each row must stay untouched
        for activation in [Activation.linear, .relu, .softmax, .tanh] {
            for withBias in [true, false] {
                let expected = naiveLayer(a, b, bias: withBias ? bias : nil, activation)
                var byLevel = [[Float]]()
                for level in self.levels {
                    var c = [Float](repeating: .nan, count: m * ldc)
                    let rc = CModelwireKernels_sgemmBiasActivation(
                        level,
                        m,
                        n,
                        k,
                        a.values,
                        k,
                        b.values,
                        n,
                        withBias ? bias : nil,
                        Int32(activation.kernelCode),
                        &c,
                        ldc
                    )
                    #expect(rc == 0)
                    let rows = (0..<m).map { Array(c[$0 * ldc..<$0 * ldc + n]) }
                    #expect((0..<m).allSatisfy { r in c[r * ldc + n..<(r + 1) * ldc].allSatisfy(\.isNaN) })
                    #expect(
                        zip(rows.flatMap { $0 }, expected).allSatisfy { isClose($0, $1, absolute: 1e-4) },
                        "level \(level) \(activation) bias \(withBias)"
                    )
                    byLevel.append(rows.flatMap { $0 })
                }
                if byLevel.count == 3 { #expect(byLevel[1] == byLevel[2], "AVX2 and AVX-512: \(activation)") }
                // The unfused path at the best level: the product, then the bias and activation pass.
                var unfused = [Float](repeating: 0, count: m * n)
                #expect(CModelwireKernels_sgemm(0, 0, m, n, k, 1, a.values, k, b.values, n, 0, &unfused, n) == 0)
                CModelwireKernels_biasActivation(
                    &unfused,
                    m,
                    n,
                    withBias ? bias : nil,
                    Int32(activation.kernelCode)
                )
                #expect(byLevel.last! == unfused, "fused and unfused differ: \(activation) bias \(withBias)")
            }
        }
    }

    @Test func denseLayerSplitOverThreadsEqualsOneThread() {
        var g = SeededGenerator(seed: 21)
        let (m, n, k) = (200, 150, 120)  // m·n·k ≥ 2²¹: large enough to be split
        let a = randomMatrix(rows: m, columns: k, generator: &g)
        let b = randomMatrix(rows: k, columns: n, generator: &g)
        let bias = (0..<n).map { _ in g.nextUnitFloat() - 0.5 }
        var results = [[Float]]()
        for threads in [1, 2] {
            var c = [Float](repeating: 0, count: m * n)
            a.values.withUnsafeBufferPointer { pa in
                b.values.withUnsafeBufferPointer { pb in
                    bias.withUnsafeBufferPointer { pbias in
                        c.withUnsafeMutableBufferPointer { pc in
                            Kernels.denseLayer(
                                m: m,
                                n: n,
                                k: k,
                                a: pa.baseAddress!,
                                lda: k,
                                b: pb.baseAddress!,
                                ldb: n,
                                bias: pbias.baseAddress!,
                                activation: .relu,
                                c: pc.baseAddress!,
                                ldc: n,
                                threads: threads
                            )
                        }
                    }
                }
            }
            results.append(c)
        }
        #expect(results[0] == results[1])
        #expect(zip(results[0], naiveLayer(a, b, bias: bias, .relu)).allSatisfy { isClose($0, $1, absolute: 1e-4) })
    }

    @Test func blockedAndThreadedForwardMatchesOneBlock() {
        var g = SeededGenerator(seed: 12)
        var net = DenseNetwork(inputs: 7, layers: [(9, .relu), (3, .softmax)], loss: .sparseCategoricalCrossEntropy)
        net.initialize(using: &g)
        let input = randomMatrix(rows: 600, columns: 7, generator: &g)  // three 128-row blocks
        let whole = net.forward(input)
        #expect(net.forward(input, threads: 2) == whole)
        let lastRow = Matrix(rows: 1, columns: 7, values: Array(input.values.suffix(7)))
        #expect(net.forward(lastRow).values == Array(whole.values.suffix(3)))
    }

    @Test func multiplyAddScalesAndSplitsOverThreads() {
        var g = SeededGenerator(seed: 3)
        let a = randomMatrix(rows: 200, columns: 120, generator: &g)
        let b = randomMatrix(rows: 120, columns: 150, generator: &g)
        let c0 = randomMatrix(rows: 200, columns: 150, generator: &g)
        var c = c0
        c.multiplyAdd(a, b, alpha: 0.5, beta: 2, threads: 2)
        let product = naive(a, false, b, false)
        #expect(
            zip(c.values, zip(product.values, c0.values)).allSatisfy {
                isClose($0, 0.5 * $1.0 + 2 * $1.1, absolute: 1e-4)
            }
        )
        #expect(Matrix.multiply(a, b, threads: 2) == Matrix.multiply(a, b, threads: 1))
    }

    @Test func activationsAndBias() {
        var x = Matrix(rows: 2, columns: 3, values: [-1, 0, 2, 3, -4, 0.5])
        x.addBias([1, 1, -1], activation: .relu)
        #expect(x.values == [0, 1, 1, 4, 0, 0])
        let s = Activation.softmax.apply(Matrix(rows: 2, columns: 3, values: [1, 2, 3, 1000, 1000, 1000]))
        #expect(isClose(s.values[0], 0.09003057) && isClose(s.values[2], 0.66524096))
        #expect(s.values[3..<6].allSatisfy { isClose($0, 1.0 / 3) })
        let sig = Activation.sigmoid.apply(Matrix(rows: 1, columns: 3, values: [0, -100, 100]))
        #expect(sig.values == [0.5, 0, 1] || zip(sig.values, [0.5, 0, 1]).allSatisfy { isClose($0, $1) })
        let t = Activation.tanh.apply(Matrix(rows: 1, columns: 1, values: [0.5]))
        #expect(isClose(t.values[0], 0.46211716))
        #expect(Activation.linear.apply(x) == x)
    }

    @Test func reductions() {
        let x = Matrix(rows: 2, columns: 3, values: [1, 2, 3, 4, 5, 7])
        #expect(x.sums(over: .rows) == [5, 7, 10])
        #expect(x.sums(over: .columns) == [6, 16])
        #expect(x.argmaxPerRow() == [2, 2])
        #expect(x.transposed.transposed == x)
    }

    @Test("histogramAdd, portable and AVX2, equals the cells summed row by row", arguments: [false, true])
    func histogramKernel(wide: Bool) {
        var g = SeededGenerator(seed: 11)
        let (rows, groups) = (300, 2)
        let bins = wide ? 600 : 256
        let width = wide ? 2 : 1
        var binOf = [[Int]](repeating: [], count: groups * 4)  // per feature, per row
        var packed = [UInt8](repeating: 0, count: groups * rows * 4 * width)
        for f in 0..<groups * 4 {
            for r in 0..<rows {
                let bin = Int(g.next() % UInt64(bins))
                binOf[f].append(bin)
                let at = ((f / 4 * rows + r) * 4 + f % 4) * width
                packed[at] = UInt8(truncatingIfNeeded: bin)
                if wide { packed[at + 1] = UInt8(truncatingIfNeeded: bin >> 8) }
            }
        }
        let index = (0..<rows).filter { _ in g.next() % 3 != 0 }.map { Int32($0) }
        var quads = [Double]()
        for _ in index { quads += [Double(g.nextUnitFloat()) - 0.5, Double(g.nextUnitFloat()), 1, 0] }
        var expected = [Double](repeating: 0, count: groups * 4 * bins * 4)
        for f in 0..<groups * 4 {
            for (i, row) in index.enumerated() {
                let cell = (f * bins + binOf[f][Int(row)]) * 4
                for lane in 0..<3 { expected[cell + lane] += quads[i * 4 + lane] }
            }
        }
        for useAVX: Int32 in [0, 1] {
            var hist = [Double](repeating: 0, count: expected.count)
            var words = [UInt64](repeating: 0, count: index.count)
            CModelwireKernels_histogramAdd(
                useAVX,
                packed,
                rows,
                groups,
                wide ? 1 : 0,
                bins,
                index,
                index.count,
                quads,
                &hist,
                &words
            )
            #expect(hist == expected, "useAVX2 \(useAVX)")
        }
    }

    /// histogramBestBin, portable and AVX2, against a scan in Swift: random cells with empty bins
    /// (whose candidate repeats the previous one: the first must win), a min-rows and min-hessian
    /// cut at both ends, several bin counts (the AVX2 tail), and a prior best that no bin beats.
    @Test("histogramBestBin, portable and AVX2, picks the scan's first best candidate")
    func histogramBestBinKernel() {
        var g = SeededGenerator(seed: 12)
        for (trial, binCount) in [1, 2, 5, 8, 37, 256, 257].enumerated() {
            var cells = [Double]()
            for _ in 0..<binCount {
                let empty = g.next() % 4 == 0
                let n = empty ? 0 : Double(1 + g.next() % 30)
                let gradient: Double = Double(g.nextUnitFloat()) * n - n / 3
                cells += [empty ? 0 : gradient, n * 0.2, n, 0]
            }
            var (G, H, N) = (0.0, 0.0, 0.0)
            for bin in 0..<binCount {
                G += cells[bin * 4]
                H += cells[bin * 4 + 1]
                N += cells[bin * 4 + 2]
            }
            let (lambda, minRows, minHessian) = (0.3, 20.0, 1e-3)
            let parent = G * G / (H + lambda)
            let prior = trial == 6 ? 1e9 : 0.0
            var expected = -1
            var expectedGain = prior
            var (gl, hl, nl) = (0.0, 0.0, 0.0)
            for bin in 0..<max(binCount - 1, 0) {
                gl += cells[bin * 4]
                hl += cells[bin * 4 + 1]
                nl += cells[bin * 4 + 2]
                guard nl >= minRows, hl >= minHessian, N - nl >= minRows, H - hl >= minHessian else { continue }
                let scoreLeft: Double = gl * gl / (hl + lambda)
                let scoreRight: Double = (G - gl) * (G - gl) / (H - hl + lambda)
                let gain = scoreLeft + scoreRight - parent
                if gain > expectedGain { (expected, expectedGain) = (bin, gain) }
            }
            if binCount >= 8 && prior == 0 { #expect(expected >= 0, "bins \(binCount): no valid split to find") }
            var prefix = [Double](repeating: 0, count: 3 * binCount)
            for useAVX: Int32 in [0, 1] {
                var best = prior
                let bin = CModelwireKernels_histogramBestBin(
                    useAVX,
                    cells,
                    binCount - 1,
                    G,
                    H,
                    N,
                    lambda,
                    minRows,
                    minHessian,
                    parent,
                    &best,
                    &prefix
                )
                #expect(bin == expected && best == expectedGain, "bins \(binCount), useAVX2 \(useAVX)")
            }
        }
    }
}
