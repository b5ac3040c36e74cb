// The sgemm register tiles that live outside kernels.c (private to CModelwireKernels).
#ifndef CMODELWIRE_SGEMM_TILES_H
#define CMODELWIRE_SGEMM_TILES_H

/// 1 when the CPU (and the OS) has AVX-512F, 0 otherwise.
int cmw_hasAVX512(void);

/// C[0..<mr][0..<nr] (mr ≤ 6, nr ≤ 32) of the product of A's six rows (a_r[p * astep], p < kc)
/// and two packed 16-column B slivers (pb0, then pb1 for columns 16..<32; pb1 is not read when
/// nr ≤ 16), with AVX-512F: the same fused multiply-adds in the same order as the AVX2 6x16 tile,
/// so the same bits. store: overwrite C instead of adding to it. final (the last K block): then
/// add bias[0..<nr] (when not NULL) and apply relu (when relu is 1).
void cmw_tileAVX512(long kc, const float *a0, const float *a1, const float *a2, const float *a3,
                    const float *a4, const float *a5, long astep, const float *pb0, const float *pb1,
                    float *c, long ldc, long mr, long nr, int store, int final, const float *bias, int relu);

#endif
