#include "CModelwireKernels.h"

#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CMW_SPARSE_X86 1
#else
#define CMW_SPARSE_X86 0
#endif

// Rows per block: A's block is transposed into `at` (k x RB, row p = input p of the block's
// rows), so one column entry (p, w) updates RB rows with contiguous loads: at + p * RB.
enum { RB = 16, TILE = 8 };

// One row: c[j] = sum over column j's entries e of a[rowIndex[e]] * values[e].
static void rowPortable(long n, const float *a, const int *colStart, const int *rowIndex, const float *values,
                        float *c) {
    for (long j = 0; j < n; j++) {
        float s = 0.0f;
        for (int e = colStart[j]; e < colStart[j + 1]; e++) s += a[rowIndex[e]] * values[e];
        c[j] = s;
    }
}

// A block of `rows` <= RB rows (the rest of `at` zero-padded), portably.
static void blockPortable(long rows, long n, long k, const float *a, long lda, const int *colStart,
                          const int *rowIndex, const float *values, float *at, float *c, long ldc) {
    for (long p = 0; p < k; p++)
        for (long r = 0; r < RB; r++) at[p * RB + r] = r < rows ? a[r * lda + p] : 0.0f;
    for (long j = 0; j < n; j++) {
        float acc[RB] = {0};
        for (int e = colStart[j]; e < colStart[j + 1]; e++) {
            const float *x = at + (long)rowIndex[e] * RB;
            float w = values[e];
            for (int r = 0; r < RB; r++) acc[r] += w * x[r];
        }
        for (long r = 0; r < rows; r++) c[r * ldc + j] = acc[r];
    }
}

#if CMW_SPARSE_X86
// Transposes the 8 x 8 block held in v[0..7] (rows in, columns out).
__attribute__((target("avx2,fma")))
static inline void transpose8(__m256 v[8]) {
    __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
    __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
    __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
    __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    v[0] = _mm256_permute2f128_ps(s0, s4, 0x20); v[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    v[2] = _mm256_permute2f128_ps(s2, s6, 0x20); v[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    v[4] = _mm256_permute2f128_ps(s0, s4, 0x31); v[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    v[6] = _mm256_permute2f128_ps(s2, s6, 0x31); v[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// One row with AVX2: 8 entries per gather, two accumulators; the tail of a column in scalar.
__attribute__((target("avx2,fma")))
static void rowAVX2(long n, const float *a, const int *colStart, const int *rowIndex, const float *values, float *c) {
    for (long j = 0; j < n; j++) {
        int e = colStart[j], end = colStart[j + 1];
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        for (; e + 16 <= end; e += 16) {
            __m256 x0 = _mm256_i32gather_ps(a, _mm256_loadu_si256((const __m256i *)(rowIndex + e)), 4);
            __m256 x1 = _mm256_i32gather_ps(a, _mm256_loadu_si256((const __m256i *)(rowIndex + e + 8)), 4);
            s0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(values + e), s0);
            s1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(values + e + 8), s1);
        }
        if (e + 8 <= end) {
            __m256 x0 = _mm256_i32gather_ps(a, _mm256_loadu_si256((const __m256i *)(rowIndex + e)), 4);
            s0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(values + e), s0);
            e += 8;
        }
        __m256 s = _mm256_add_ps(s0, s1);
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        float t = _mm_cvtss_f32(h);
        for (; e < end; e++) t += a[rowIndex[e]] * values[e];
        c[j] = t;
    }
}

// at[p * RB + r] = A[r][p] for r < rows, 0 beyond: 8 x 8 blocks through registers, the edges in scalar.
__attribute__((target("avx2,fma")))
static void transposeBlockAVX2(long rows, long k, const float *a, long lda, float *at) {
    for (long rb = 0; rb < RB; rb += 8) {
        long p = 0;
        if (rb + 8 <= rows) {
            for (; p + 8 <= k; p += 8) {
                __m256 v[8];
                for (int r = 0; r < 8; r++) v[r] = _mm256_loadu_ps(a + (rb + r) * lda + p);
                transpose8(v);
                for (int q = 0; q < 8; q++) _mm256_storeu_ps(at + (p + q) * RB + rb, v[q]);
            }
        }
        for (; p < k; p++)
            for (long r = rb; r < rb + 8; r++) at[p * RB + r] = r < rows ? a[r * lda + p] : 0.0f;
    }
}

// A block of `rows` <= RB rows. Per column, four pairs of accumulators (entries taken four at a
// time) keep eight FMA chains in flight; eight columns' results go through a tile of TILE x RB
// and are transposed into C's rows.
__attribute__((target("avx2,fma")))
static void blockAVX2(long rows, long n, long k, const float *a, long lda, const int *colStart,
                      const int *rowIndex, const float *values, float *at, float *c, long ldc) {
    transposeBlockAVX2(rows, k, a, lda, at);
    float tile[TILE * RB] __attribute__((aligned(32)));
    for (long j0 = 0; j0 < n; j0 += TILE) {
        long cols = n - j0 < TILE ? n - j0 : TILE;
        for (long q = 0; q < cols; q++) {
            long j = j0 + q;
            int e = colStart[j], end = colStart[j + 1];
            __m256 lo0 = _mm256_setzero_ps(), hi0 = _mm256_setzero_ps(), lo1 = _mm256_setzero_ps(), hi1 = _mm256_setzero_ps();
            __m256 lo2 = _mm256_setzero_ps(), hi2 = _mm256_setzero_ps(), lo3 = _mm256_setzero_ps(), hi3 = _mm256_setzero_ps();
            for (; e + 4 <= end; e += 4) {
                const float *x0 = at + (long)rowIndex[e] * RB, *x1 = at + (long)rowIndex[e + 1] * RB;
                const float *x2 = at + (long)rowIndex[e + 2] * RB, *x3 = at + (long)rowIndex[e + 3] * RB;
                __m256 w0 = _mm256_broadcast_ss(values + e), w1 = _mm256_broadcast_ss(values + e + 1);
                __m256 w2 = _mm256_broadcast_ss(values + e + 2), w3 = _mm256_broadcast_ss(values + e + 3);
                lo0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x0), lo0); hi0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x0 + 8), hi0);
                lo1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x1), lo1); hi1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x1 + 8), hi1);
                lo2 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x2), lo2); hi2 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x2 + 8), hi2);
                lo3 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x3), lo3); hi3 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x3 + 8), hi3);
            }
            for (; e < end; e++) {
                const float *x = at + (long)rowIndex[e] * RB;
                __m256 w = _mm256_broadcast_ss(values + e);
                lo0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x), lo0);
                hi0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + 8), hi0);
            }
            _mm256_store_ps(tile + q * RB, _mm256_add_ps(_mm256_add_ps(lo0, lo1), _mm256_add_ps(lo2, lo3)));
            _mm256_store_ps(tile + q * RB + 8, _mm256_add_ps(_mm256_add_ps(hi0, hi1), _mm256_add_ps(hi2, hi3)));
        }
        for (long rb = 0; rb < rows; rb += 8) {
            if (cols == TILE && rb + 8 <= rows) {
                __m256 v[8];
                for (int q = 0; q < 8; q++) v[q] = _mm256_load_ps(tile + q * RB + rb);
                transpose8(v);
                for (int r = 0; r < 8; r++) _mm256_storeu_ps(c + (rb + r) * ldc + j0, v[r]);
            } else {
                for (long r = rb; r < rows && r < rb + 8; r++)
                    for (long q = 0; q < cols; q++) c[r * ldc + j0 + q] = tile[q * RB + r];
            }
        }
    }
}
#endif

int CModelwireKernels_sparseGemmUsing(int useAVX2FMA, long m, long n, long k, const float *a, long lda,
                                      const int *colStart, const int *rowIndex, const float *values,
                                      float *c, long ldc) {
    if (m <= 0 || n <= 0) return 0;
    int avx = useAVX2FMA && CModelwireKernels_usesAVX2FMA();
    long i = 0;
    if (m >= RB / 2) {
        float *at = aligned_alloc(32, ((size_t)(k > 0 ? k : 1) * RB * sizeof(float) + 31) / 32 * 32);
        if (!at) return -1;
        for (; m - i >= RB / 2; i += RB) {  // 8 rows or more: a (padded) block; fewer: row by row
            long rows = m - i < RB ? m - i : RB;
#if CMW_SPARSE_X86
            if (avx) {
                blockAVX2(rows, n, k, a + i * lda, lda, colStart, rowIndex, values, at, c + i * ldc, ldc);
                continue;
            }
#endif
            blockPortable(rows, n, k, a + i * lda, lda, colStart, rowIndex, values, at, c + i * ldc, ldc);
        }
        free(at);
    }
    for (; i < m; i++) {
#if CMW_SPARSE_X86
        if (avx) {
            rowAVX2(n, a + i * lda, colStart, rowIndex, values, c + i * ldc);
            continue;
        }
#endif
        rowPortable(n, a + i * lda, colStart, rowIndex, values, c + i * ldc);
    }
    return 0;
}
