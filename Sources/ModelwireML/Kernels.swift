import CModelwireKernels
import Dispatch

/// Thin Swift entry points to the C kernels (CModelwireKernels), plus the two-core split.
enum Kernels {
    /// Whether the AVX2+FMA kernels are in use on this CPU.
    static var usesAVX2FMA: Bool { CModelwireKernels_usesAVX2FMA() != 0 }

    /// C = alpha * op(A) * op(B) + beta * C on raw row-major storage, split over `threads`
    /// threads by rows of C when the product is large enough to pay for the hand-off.
    static func gemm(
        transA: Bool,
        transB: Bool,
        m: Int,
        n: Int,
        k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>,
        lda: Int,
        b: UnsafePointer<Float>,
        ldb: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>,
        ldc: Int,
        threads: Int = 1
    ) {
        splitByRows(m: m, work: m * n * k, threads: threads) { start, rows in
            CModelwireKernels_sgemm(
                transA ? 1 : 0,
                transB ? 1 : 0,
                rows,
                n,
                k,
                alpha,
                transA ? a + start : a + start * lda,
                lda,
                b,
                ldb,
                beta,
                c + start * ldc,
                ldc
            )
        }
    }

    /// A dense layer on raw row-major storage: C = activation(A · B + bias), A m × k, B k × n,
    /// with the bias and relu applied as the product stores C (see `CModelwireKernels_sgemmBiasActivation`);
    /// the same values as `gemm` then `biasActivation`. Split over `threads` threads as `gemm` is.
    static func denseLayer(
        m: Int,
        n: Int,
        k: Int,
        a: UnsafePointer<Float>,
        lda: Int,
        b: UnsafePointer<Float>,
        ldb: Int,
        bias: UnsafePointer<Float>?,
        activation: Activation,
        c: UnsafeMutablePointer<Float>,
        ldc: Int,
        threads: Int = 1
    ) {
        let level = CModelwireKernels_kernelLevel()
        let code = Int32(activation.kernelCode)
        splitByRows(m: m, work: m * n * k, threads: threads) { start, rows in
            CModelwireKernels_sgemmBiasActivation(
                level,
                rows,
                n,
                k,
                a + start * lda,
                lda,
                b,
                ldb,
                bias,
                code,
                c + start * ldc,
                ldc
            )
        }
    }

    /// Runs `product(start, rows)` (a C kernel's return code) on row ranges of an m-row result:
    /// at once, or over `threads` threads when `work` (m·n·k) pays for the hand-off. The ranges
    /// are disjoint, so each part writes only its own rows.
    private static func splitByRows(
        m: Int,
        work: Int,
        threads: Int,
        _ product: (_ start: Int, _ rows: Int) -> Int32
    ) {
        let parts = threads > 1 && m >= 64 && work >= 1 << 21 ? min(threads, m / 32) : 1
        if parts <= 1 {
            precondition(product(0, m) == 0, "sgemm: out of memory")
            return
        }
        let step = (m + parts - 1) / parts
        // concurrentPerform returns after every part is done, so the closure does not escape.
        withoutActuallyEscaping(product) { product in
            let shared = UncheckedProduct(product)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let start = part * step
                let rows = min(step, m - start)
                guard rows > 0 else { return }
                precondition(shared.product(start, rows) == 0, "sgemm: out of memory")
            }
        }
    }

    /// x = activation(x + bias) in place, row by row.
    static func biasActivation(
        _ x: UnsafeMutablePointer<Float>,
        rows: Int,
        columns: Int,
        bias: UnsafePointer<Float>?,
        activation: Activation
    ) {
        CModelwireKernels_biasActivation(x, rows, columns, bias, Int32(activation.kernelCode))
    }

    /// grad = grad ⊙ activation'(…), from the activation's output y.
    static func activationBackward(
        _ grad: UnsafeMutablePointer<Float>,
        output y: UnsafePointer<Float>,
        rows: Int,
        columns: Int,
        activation: Activation
    ) {
        CModelwireKernels_activationBackward(grad, y, rows, columns, Int32(activation.kernelCode))
    }

    /// out[c] = Σ_r x[r][c].
    static func columnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        CModelwireKernels_columnSums(x, rows, columns, out)
    }
}

/// A row-range product carried into `concurrentPerform`'s closure.
/// Invariant: the closure reads shared inputs and writes only the rows it is given.
private struct UncheckedProduct: @unchecked Sendable {
    let product: (Int, Int) -> Int32
    init(_ product: @escaping (Int, Int) -> Int32) { self.product = product }
}

/// A pointer carried into `concurrentPerform`'s closure.
/// Invariant: used only while the owning buffer is alive and not resized, for reads or for
/// writes to ranges no other part touches.
struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafePointer<Float>
    init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}
