// The sparse x dense product behind pruned layers (issue 14): C = A * B where B, a layer's
// weights, keeps only its non-zero entries. Included by CModelwireKernels.h; compiled twice like
// the dense kernels (AVX2+FMA chosen at run time, and portably). Where it beats the dense sgemm
// and where it does not is measured in docs/performance.md ("Pruning and distillation").
//
// B (k x n) is stored by columns (CSC): column j's entries are entries colStart[j] ..< colStart[j+1]
// of rowIndex (their rows, ascending, each < k) and values. A column may have no entries.
#ifndef CMODELWIRE_SPARSE_KERNELS_H
#define CMODELWIRE_SPARSE_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// C = A * B: A is m x k dense (row stride lda), B is k x n sparse by columns (see above), C is
/// m x n (row stride ldc), overwritten (never read). `useAVX2FMA` 0 forces the portable loops
/// (tests use it); 1 uses AVX2+FMA when the CPU has them. Rows go in blocks of 16 (A's block
/// transposed into scratch, so an entry updates 16 rows with two FMAs; a last block of 8 to 15
/// rows is zero-padded) and, fewer than 8 left, one at a time (AVX2: 8 entries per gather).
/// Returns 0, or -1 if out of memory.
int CModelwireKernels_sparseGemmUsing(int useAVX2FMA, long m, long n, long k, const float *a, long lda,
                                      const int *colStart, const int *rowIndex, const float *values,
                                      float *c, long ldc);

#ifdef __cplusplus
}
#endif
#endif
