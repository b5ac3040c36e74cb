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
        let work = m * n * k
        let parts = threads > 1 && m >= 64 && work >= 1 << 21 ? min(threads, m / 32) : 1
        if parts <= 1 {
            let rc = CModelwireKernels_sgemm(
                transA ? 1 : 0,
                transB ? 1 : 0,
                m,
                n,
                k,
                alpha,
                a,
                lda,
                b,
                ldb,
                beta,
                c,
                ldc
            )
            precondition(rc == 0, "sgemm: out of memory")
            return
        }
        let step = (m + parts - 1) / parts
        // The pointers are only read (a, b) or written in disjoint row ranges (c) while
        // concurrentPerform runs, and it returns after every part is done.
        let (ua, ub, uc) = (UncheckedPointer(a), UncheckedPointer(b), UncheckedPointer(UnsafePointer(c)))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let start = part * step
            let rows = min(step, m - start)
            guard rows > 0 else { return }
            let aStart = transA ? ua.pointer + start : ua.pointer + start * lda
            let rc = CModelwireKernels_sgemm(
                transA ? 1 : 0,
                transB ? 1 : 0,
                rows,
                n,
                k,
                alpha,
                aStart,
                lda,
                ub.pointer,
                ldb,
                beta,
                UnsafeMutablePointer(mutating: uc.pointer) + start * ldc,
                ldc
            )
            precondition(rc == 0, "sgemm: out of memory")
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

/// A pointer carried into `concurrentPerform`'s closure.
/// Invariant: used only while the owning buffer is alive and not resized, for reads or for
/// writes to ranges no other part touches.
struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafePointer<Float>
    init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}
