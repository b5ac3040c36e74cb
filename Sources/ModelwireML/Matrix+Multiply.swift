extension Matrix {
    /// The product `op(a) · op(b)`, where `op` transposes when asked.
    ///
    /// Runs on the AVX2+FMA kernel when the CPU has it (a portable one otherwise); see
    /// CModelwireKernels for the blocking.
    /// - Parameters:
    ///   - a: The left matrix.
    ///   - transposeA: Use `aᵀ` instead of `a`.
    ///   - b: The right matrix.
    ///   - transposeB: Use `bᵀ` instead of `b`.
    ///   - threads: Threads to split large products over (by rows of the result); 1 by default.
    /// - Returns: The product.
    /// - Precondition: The inner dimensions agree.
    public static func multiply(
        _ a: Matrix,
        transposed transposeA: Bool = false,
        _ b: Matrix,
        transposed transposeB: Bool = false,
        threads: Int = 1
    ) -> Matrix {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let n = transposeB ? b.rows : b.columns
        precondition(k == (transposeB ? b.columns : b.rows), "inner dimensions differ")
        var c = Matrix(rows: m, columns: n)
        c.multiplyAdd(a, transposed: transposeA, b, transposed: transposeB, alpha: 1, beta: 0, threads: threads)
        return c
    }

    /// `self = alpha · op(a) · op(b) + beta · self`, in place (BLAS `sgemm`).
    /// - Parameters:
    ///   - a: The left matrix.
    ///   - transposeA: Use `aᵀ`.
    ///   - b: The right matrix.
    ///   - transposeB: Use `bᵀ`.
    ///   - alpha: Scale of the product.
    ///   - beta: Scale of the current value (0 ignores it).
    ///   - threads: Threads to split large products over.
    /// - Precondition: The shapes agree.
    public mutating func multiplyAdd(
        _ a: Matrix,
        transposed transposeA: Bool = false,
        _ b: Matrix,
        transposed transposeB: Bool = false,
        alpha: Float = 1,
        beta: Float = 1,
        threads: Int = 1
    ) {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let n = transposeB ? b.rows : b.columns
        precondition(k == (transposeB ? b.columns : b.rows) && m == self.rows && n == self.columns, "shapes differ")
        let (rows, columns) = (self.rows, self.columns)
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                self.values.withUnsafeMutableBufferPointer { pc in
                    guard rows > 0, columns > 0 else { return }
                    Kernels.gemm(
                        transA: transposeA,
                        transB: transposeB,
                        m: m,
                        n: n,
                        k: k,
                        alpha: alpha,
                        a: pa.baseAddress ?? UnsafePointer(pc.baseAddress!),
                        lda: max(a.columns, 1),
                        b: pb.baseAddress ?? UnsafePointer(pc.baseAddress!),
                        ldb: max(b.columns, 1),
                        beta: beta,
                        c: pc.baseAddress!,
                        ldc: columns,
                        threads: threads
                    )
                }
            }
        }
    }

    /// Adds `bias[c]` to every row's column `c` and applies an activation, in place.
    /// - Parameters:
    ///   - bias: One value per column.
    ///   - activation: Applied element-wise (softmax: per row).
    public mutating func addBias(_ bias: [Float], activation: Activation = .linear) {
        precondition(bias.count == self.columns, "one bias per column")
        let (rows, columns) = (self.rows, self.columns)
        bias.withUnsafeBufferPointer { pb in
            self.values.withUnsafeMutableBufferPointer { px in
                guard let base = px.baseAddress else { return }
                Kernels.biasActivation(base, rows: rows, columns: columns, bias: pb.baseAddress, activation: activation)
            }
        }
    }
}
