// Int8 inference kernels for quantized layers (issue 14, Quantize).
//
// Weights are int8 per output channel (scale per column), activations int8 per row (dynamic) or per
// layer (static). AVX2's `vpmaddubsw` multiplies unsigned by signed bytes and saturates the pair
// sums to int16 (255 * 127 * 2 > 32767), so it cannot be exact; here both operands are widened to
// int16 and `vpmaddwd` adds each pair into int32 (|127 * 127 * 2| = 32,258), then `vpaddd`
// accumulates: exact for k <= 65,536 inputs (the caller's bound), so the portable loop gets the
// same int32 sums, and the dequantisation does the same float operations in the same order
// (multiply, multiply, add; no FMA): the two paths agree bit for bit.
#ifndef CMODELWIRE_QUANTIZED_KERNELS_H
#define CMODELWIRE_QUANTIZED_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// The int16 elements `qpack` writes for a k x n int8 matrix: k rounded up to even, times n rounded
/// up to a multiple of 8.
long CModelwireKernels_qpackedCount(long k, long n);

/// Packs w (k x n int8, row-major) for `qgemm`: panels of 8 columns, each holding for every pair of
/// rows (2p, 2p + 1) the 8 columns' two values side by side, as int16; padding is 0.
void CModelwireKernels_qpack(const signed char *w, long k, long n, short *packed);

/// Quantizes the rows of x (m x k, row stride ldx) into q (m x kp int16, kp = k rounded up to even,
/// the pad 0): q = round-half-even(x / s) clamped to [-127, 127], where s = staticScale when it is
/// > 0, else max|x| / 127 of the row (0 for an all-zero row, whose q are 0). Non-finite values count
/// as 0. Writes each row's s to scales[r]. `useAVX2` 0 forces the portable loop (same bits).
void CModelwireKernels_quantizeRows(int useAVX2, const float *x, long m, long k, long ldx, float staticScale,
                                    short *q, float *scales);

/// out[r][j] = act(rowScales[r] * colScales[j] * sum_p q[r][p] * w[p][j] + bias[j]) for r < m,
/// j < n, where q is `quantizeRows`' output (m x kp), w the matrix packed by `qpack`, colScales and
/// bias n floats each (bias may be NULL), act the identity or, when relu is 1, max(v, 0); out has
/// row stride ldo. `useAVX2` 0 forces the portable loop (same bits).
void CModelwireKernels_qgemm(int useAVX2, long m, long n, long k, const short *q, const float *rowScales,
                             const short *packed, const float *colScales, const float *bias, int relu, float *out,
                             long ldo);

#ifdef __cplusplus
}
#endif
#endif
