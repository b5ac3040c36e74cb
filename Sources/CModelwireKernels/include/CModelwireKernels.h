// Hand-written float32 kernels for ModelwireML.
//
// Why C, and why not OpenBLAS (chosen by measurement, 1 thread, this 2-core AVX2/FMA EPYC,
// `clang -O2`, best of many calls; tools/bench-ml/sgemm_vs_openblas.c):
//   shape (m x n x k)        this file          system OpenBLAS 0.3.21 (cblas_sgemm)
//   1 x 64 x 100 (predict)   0.39 us            1.44 us
//   32 x 64 x 100 (train)    7.2 us             6.7 us     (ATB, ABT forms: within 10%)
//   1024 x 64 x 100          87 GFLOP/s         69 GFLOP/s
//   256^3                    86 GFLOP/s         82 GFLOP/s
//   1024^3                   38-66 GFLOP/s      50-73 GFLOP/s (numpy's OpenBLAS; noisy machine)
// The model shapes are small, where OpenBLAS's dispatch costs more than the product, and a
// system BLAS would be one more runtime dependency; at 1024^3 this kernel reaches ~70-90% of it.
// Swift itself cannot do this: the default x86-64 target has no AVX2/FMA and no function-level
// target attribute, and `SIMD8<Float>.addingProduct` compiles to eight calls to `fmaf`.
// So the kernels are compiled twice here: with `target("avx2,fma")`, chosen at run time when the
// CPU has both (`__builtin_cpu_supports`), and portably (what the compiler vectorises by itself).
// The sgemm register tile has a third build, `target("avx512f")` (sgemm_avx512.c): a 6x32 tile
// for CPUs with AVX-512F (this machine's EPYC is a Zen 5 and has it), the same fused multiply-adds
// in the same order as the AVX2 6x16 tile, so bit for bit the same products, at twice the width.
// C is also optimised in a debug build's tests, where Swift's -Onone is far slower.
//
// All matrices are row-major float32. No function keeps a pointer after it returns.
#ifndef CMODELWIRE_KERNELS_H
#define CMODELWIRE_KERNELS_H

#include <stddef.h>

#include "CModelwireSparseKernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Activation codes shared with Swift's `Activation` raw values.
enum {
    CModelwireKernels_linear = 0,
    CModelwireKernels_relu = 1,
    CModelwireKernels_tanh = 2,
    CModelwireKernels_sigmoid = 3,
    CModelwireKernels_softmax = 4,
};

/// Kernel sets, in the order they are preferred: a caller's choice is capped by the CPU's.
enum {
    CModelwireKernels_portable = 0,
    CModelwireKernels_avx2fma = 1,
    CModelwireKernels_avx512 = 2,
};

/// 1 when the AVX2+FMA kernels are used on this CPU, 0 when the portable ones are.
int CModelwireKernels_usesAVX2FMA(void);

/// The best kernel set this CPU runs (`CModelwireKernels_portable`, `_avx2fma` or `_avx512`).
int CModelwireKernels_kernelLevel(void);

/// C = alpha * op(A) * op(B) + beta * C, where op(X) is X or its transpose.
/// op(A) is m x k, op(B) is k x n, C is m x n; lda/ldb/ldc are row strides in elements.
/// When beta is 0, C is not read (it may hold garbage). Returns 0, or -1 if out of memory.
int CModelwireKernels_sgemm(int transA, int transB, long m, long n, long k, float alpha,
                            const float *a, long lda, const float *b, long ldb,
                            float beta, float *c, long ldc);

/// `sgemm` with the kernel set chosen by the caller (tests use it to check each against the
/// others): `CModelwireKernels_portable`, `_avx2fma` or `_avx512`, capped by what the CPU has.
int CModelwireKernels_sgemmUsing(int level, int transA, int transB, long m, long n, long k, float alpha,
                                 const float *a, long lda, const float *b, long ldb,
                                 float beta, float *c, long ldc);

/// A dense layer: C = activation(A * B + bias), A m x k, B k x n, bias n values (may be NULL),
/// C m x n (overwritten, not read), with the kernel set `level` (as in `sgemmUsing`; pass
/// `CModelwireKernels_kernelLevel()`). The bias and a linear or relu activation are applied by
/// the product's register tiles as they store C (no second pass over it); tanh, sigmoid and
/// softmax (per row) in a pass after. The same values as `sgemm` then `biasActivation`, bit for
/// bit. Returns 0, or -1 if out of memory.
int CModelwireKernels_sgemmBiasActivation(int level, long m, long n, long k, const float *a, long lda,
                                          const float *b, long ldb, const float *bias, int activation,
                                          float *c, long ldc);

/// x[r][c] = activation(x[r][c] + bias[c]) in place; bias may be NULL.
/// Softmax is applied per row (numerically stable: the row max is subtracted first).
void CModelwireKernels_biasActivation(float *x, long rows, long cols, const float *bias, int activation);

/// Turns the gradient with respect to a layer's output into the gradient with respect to
/// its pre-activation, in place, given the activation's output `y` (rows x cols).
/// Softmax uses its full Jacobian per row: g_i <- y_i * (g_i - sum_j g_j y_j).
void CModelwireKernels_activationBackward(float *grad, const float *y, long rows, long cols, int activation);

/// out[c] = sum over rows of x[r][c] (overwrites out).
void CModelwireKernels_columnSums(const float *x, long rows, long cols, float *out);

/// One Adam step (Keras form) over n parameters: m += (g − m)(1 − β1); v += (g² − v)(1 − β2);
/// p −= alpha · m / (√v + ε), where alpha already holds the bias corrections.
void CModelwireKernels_adamUpdate(float *p, const float *g, float *m, float *v, long n, float alpha,
                                  float oneMinusBeta1, float oneMinusBeta2, float epsilon);

/// Adds rows to a gradient-boosting histogram (the histogram tree's hot loop).
/// `packed` holds bin ids in groups of four features, row-interleaved: group g, row r has its
/// four ids at element (g * rows + r) * 4, bytes, or little-endian uint16 when `wide`.
/// `quads` holds (g, h, 1, 0) per listed row, in the order of `index` (the rows, `count` of
/// them). `hist` has groups * 4 features, each `bins` cells of four doubles (Σg, Σh, rows, 0),
/// added to, not cleared. `words` is scratch for `count` 8-byte words. `useAVX2` 0 forces
/// the portable loop (the same sums in the same order, so the same bits).
void CModelwireKernels_histogramAdd(int useAVX2, const void *packed, long rows, long groups, int wide, long bins,
                                    const int *index, long count, const double *quads, double *hist, void *words);

/// The best split of one feature from its gradient-boosting histogram cells (Σg, Σh, rows, 0):
/// candidate b (0 ..< `candidates`, the feature's bins − 1) sends bins ≤ b left; it is valid
/// when both sides keep ≥ `minRows` rows and ≥ `minHessian` hessian of the node's `rows`,
/// `hessian` (and `gradient`); its gain is G_L²/(H_L + λ) + G_R²/(H_R + λ) − `parentLoss`.
/// Returns the first candidate with the largest gain if that gain is above `*bestGain` (stored
/// there), else -1. `prefix`: scratch for 3 × `candidates` doubles. `useAVX2` 0 forces the
/// portable scan (the same gains, bit for bit, and the same choice).
long CModelwireKernels_histogramBestBin(int useAVX2, const double *cells, long candidates, double gradient,
                                        double hessian, double rows, double lambda, double minRows,
                                        double minHessian, double parentLoss, double *bestGain, double *prefix);

#ifdef __cplusplus
}
#endif

#include "CModelwireQuantizedKernels.h"
#endif
