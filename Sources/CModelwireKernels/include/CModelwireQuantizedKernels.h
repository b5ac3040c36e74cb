// Int8 inference kernels for quantized layers (issue 14, Quantize).
//
// Weights are int8 per output channel (a scale per column), activations int8 per row (dynamic) or
// per layer (static). Each kernel computes the exact int32 sum S[r][j] = sum_p q[r][p] * w[p][j]:
//  - AVX-VNNI (`vpdpbusd`, where the CPU has it): activations as unsigned bytes q + 128, groups of
//    four products summed into int32 without saturation; 128 * sum_p w[p][j] is subtracted after.
//  - AVX2: `vpmaddubsw` would saturate its int16 pair sums (255 * 127 * 2 > 32767), so both operands
//    are widened to int16 and `vpmaddwd` adds each pair into int32 (|127 * 127 * 2| = 32,258).
//  - portable C on the AVX2 layout.
// All sums are exact for k <= 65,536 inputs (the caller's bound), and the dequantisation does the
// same float operations in the same order everywhere (multiply, multiply, add; no FMA), so the
// three kernels agree bit for bit. Packed weights and quantized rows are laid out per kernel.
#ifndef CMODELWIRE_QUANTIZED_KERNELS_H
#define CMODELWIRE_QUANTIZED_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel ids: portable, AVX2, AVX-VNNI.
enum { CModelwireKernels_qPortable = 0, CModelwireKernels_qAVX2 = 1, CModelwireKernels_qVNNI = 2 };

/// The best kernel this CPU runs, at most `preferred` (tests pass lower ids to check the others).
int CModelwireKernels_qkernel(int preferred);

/// Bytes `qpack` writes for a k x n int8 matrix with `kernel`.
long CModelwireKernels_qpackedBytes(int kernel, long k, long n);

/// Packs w (k x n int8 in [-127, 127], row-major) for `qgemm` with `kernel` into `packed`
/// (`qpackedBytes` bytes, 4-byte aligned).
void CModelwireKernels_qpack(int kernel, const signed char *w, long k, long n, void *packed);

/// Bytes of one row quantized by `quantizeRows` with `kernel` for k inputs.
long CModelwireKernels_qrowBytes(int kernel, long k);

/// Quantizes the rows of x (m x k, row stride ldx) into q (m rows of `qrowBytes`, 4-byte aligned):
/// each value v, standardised first as (v - mean[i]) * inverseScale[i] when `mean` and
/// `inverseScale` (k floats each) are given, becomes round-half-even(v / s) clamped to [-127, 127],
/// where s = staticScale when it is > 0, else L * (1 / 127) for the row's largest finite |v|, L
/// (s = 0 when L is 0: the row's q are 0). `largest` (m floats, may be NULL) gives each row's L when
/// the caller knows it (as `qgemm` writes it). Infinities clamp to ±127 and NaN to -127. Writes each
/// row's s to scales[r].
void CModelwireKernels_quantizeRows(int kernel, const float *x, long m, long k, long ldx, const float *mean,
                                    const float *inverseScale, const float *largest, float staticScale, void *q,
                                    float *scales);

/// out[r][j] = act(rowScales[r] * colScales[j] * sum_p q[r][p] * w[p][j] + bias[j]) for r < m,
/// j < n, where q is `quantizeRows`' output, w the matrix `qpack` packed (both with `kernel`),
/// colScales and bias n floats each (bias may be NULL), act the identity or, when relu is 1,
/// max(v, 0); out has row stride ldo. `largest` (m floats, may be NULL) receives each output row's
/// largest finite |out|, for the next layer's `quantizeRows`.
void CModelwireKernels_qgemm(int kernel, long m, long n, long k, const void *q, const float *rowScales,
                             const void *packed, const float *colScales, const float *bias, int relu, float *out,
                             long ldo, float *largest);

#ifdef __cplusplus
}
#endif
#endif
