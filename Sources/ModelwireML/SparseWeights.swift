import CModelwireKernels

/// Which dense-net layers predict through the sparse kernel (`DenseNetModel.init(parameters:kernels:)`).
public enum SparseKernelUse: Sendable {
    /// Each layer where `SparseWeights.isFaster` says so: what models are loaded with.
    case whereFaster
    /// Every layer (the benchmark and the tests measure and check the sparse kernel with it).
    case always
    /// No layer: the dense sgemm throughout.
    case never
}

/// A dense layer's weight matrix (inputs × units) reduced to its non-zero entries and kept by
/// columns (CSC), so that a pruned layer predicts through the sparse × dense kernel
/// (`CModelwireKernels_sparseGemmUsing`) instead of the dense sgemm.
///
/// A `DenseNetModel` built from parameters makes one per layer where `isFaster` says the sparse
/// kernel wins, once, at load; the network itself stays dense (training and snapshots use it).
struct SparseWeights: Sendable, Equatable {
    /// Rows of the matrix (the layer's inputs).
    let inputs: Int
    /// Columns of the matrix (the layer's units).
    let units: Int
    /// Column j's entries are `columnStarts[j] ..< columnStarts[j + 1]` of `rows` and `values`.
    private(set) var columnStarts: [Int32]
    /// Each entry's row (input), ascending within a column.
    private(set) var rows: [Int32]
    /// Each entry's weight.
    private(set) var values: [Float]

    /// The non-zero entries of `weights`, inputs × units row-major.
    init(weights: [Float], inputs: Int, units: Int) {
        precondition(weights.count == inputs * units && weights.count <= Int(Int32.max), "sparse weights size")
        self.inputs = inputs
        self.units = units
        self.columnStarts = [0]
        self.columnStarts.reserveCapacity(units + 1)
        self.rows = []
        self.values = []
        for j in 0..<units {
            for i in 0..<inputs where weights[i * units + j] != 0 {
                self.rows.append(Int32(i))
                self.values.append(weights[i * units + j])
            }
            self.columnStarts.append(Int32(self.values.count))
        }
    }

    /// The share of entries that are not zero.
    var density: Double { Double(self.values.count) / Double(max(1, self.inputs * self.units)) }

    /// Whether the sparse kernel predicts a layer of this shape and density faster than the
    /// dense sgemm (its best kernel set: AVX-512 on this Zen 5), by the rule measured on this
    /// machine (one thread; per layer with `tools/bench-ml/sparse_vs_dense.c`, per net with
    /// `tools/bench-ml/transforms.sh --sparse`; docs/performance.md, "Pruning and distillation").
    /// One choice per model serves every batch size, so the rule keeps a layer dense wherever
    /// sparse would trade much one-row latency for throughput:
    /// - density ≤ 1/8: sparse, 1.65–2.4× the dense speed on a 256-row block of 100×256, 256×256,
    ///   100×64 and 64×64; at one row 0.94–1.19× on the 256-unit layers (about even), but
    ///   0.76–0.81× on the 64-unit ones (under 0.1 µs lost: a column of 6–12 entries is too short
    ///   to gather);
    /// - at most 16 units (a 10-class output layer) and density ≤ 1/2: sparse, 1.04–2.5× on 256
    ///   rows and 1.75–16× at one row (the dense one-row path runs so few columns poorly);
    /// - otherwise dense: at density 0.15–0.3 sparse is 0.9–2× on 256 rows but 0.37–1× at one
    ///   row; at 0.5 the dense kernel wins at both (sparse 0.6× on 256 rows, 0.25–0.37× at one).
    static func isFaster(density: Double, units: Int) -> Bool {
        density <= 0.125 || (units <= 16 && density <= 0.5)
    }

    /// c (rows × units) = a (rows × inputs) · W, overwriting c.
    /// - Parameter useAVX2FMA: false forces the portable loops (tests compare the two).
    func multiply(
        _ a: UnsafePointer<Float>,
        rows m: Int,
        into c: UnsafeMutablePointer<Float>,
        useAVX2FMA: Bool = true
    ) {
        let rc = self.columnStarts.withUnsafeBufferPointer { starts in
            self.rows.withUnsafeBufferPointer { rows in
                self.values.withUnsafeBufferPointer { values in
                    CModelwireKernels_sparseGemmUsing(
                        useAVX2FMA ? 1 : 0,
                        m,
                        self.units,
                        self.inputs,
                        a,
                        self.inputs,
                        starts.baseAddress!,
                        rows.baseAddress,
                        values.baseAddress,
                        c,
                        self.units
                    )
                }
            }
        }
        precondition(rc == 0, "sparse gemm: out of memory")
    }
}
