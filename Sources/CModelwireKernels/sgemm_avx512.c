// The AVX-512F register tile of sgemm: 6 rows x 32 columns in 12 zmm accumulators, twice the
// AVX2 tile's width for the same loads per step (2 B vectors, 6 broadcasts). Masked loads and
// stores handle partial tiles (narrow layers such as a 10-class output) without a scalar loop.
#include "sgemm_tiles.h"

#include <stddef.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

int cmw_hasAVX512(void) { return __builtin_cpu_supports("avx512f"); }

// One row of the epilogue: (C +) acc, then + bias and relu on the last K block; masked to nr.
#define CMW_ROW(r, x0, x1)                                                                   \
    if (r < mr) {                                                                            \
        float *cr = c + r * ldc;                                                             \
        __m512 v0 = store ? x0 : _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), x0);           \
        __m512 v1 = store ? x1 : _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), x1);      \
        if (final && bias) {                                                                 \
            v0 = _mm512_add_ps(v0, b0v);                                                     \
            v1 = _mm512_add_ps(v1, b1v);                                                     \
        }                                                                                    \
        if (final && relu) {                                                                 \
            v0 = _mm512_max_ps(v0, zero);                                                    \
            v1 = _mm512_max_ps(v1, zero);                                                    \
        }                                                                                    \
        _mm512_mask_storeu_ps(cr, m0, v0);                                                   \
        if (wide) _mm512_mask_storeu_ps(cr + 16, m1, v1);                                    \
    }

__attribute__((target("avx512f")))
void cmw_tileAVX512(long kc, const float *a0, const float *a1, const float *a2, const float *a3,
                    const float *a4, const float *a5, long astep, const float *pb0, const float *pb1,
                    float *c, long ldc, long mr, long nr, int store, int final, const float *bias, int relu) {
    const int wide = nr > 16;
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    if (wide) {
#pragma clang loop unroll_count(4)
        for (long p = 0; p < kc; p++) {
            __m512 b0 = _mm512_load_ps(pb0 + p * 16), b1 = _mm512_load_ps(pb1 + p * 16);
            __m512 a;
            long o = p * astep;
            a = _mm512_set1_ps(a0[o]); c00 = _mm512_fmadd_ps(a, b0, c00); c01 = _mm512_fmadd_ps(a, b1, c01);
            a = _mm512_set1_ps(a1[o]); c10 = _mm512_fmadd_ps(a, b0, c10); c11 = _mm512_fmadd_ps(a, b1, c11);
            a = _mm512_set1_ps(a2[o]); c20 = _mm512_fmadd_ps(a, b0, c20); c21 = _mm512_fmadd_ps(a, b1, c21);
            a = _mm512_set1_ps(a3[o]); c30 = _mm512_fmadd_ps(a, b0, c30); c31 = _mm512_fmadd_ps(a, b1, c31);
            a = _mm512_set1_ps(a4[o]); c40 = _mm512_fmadd_ps(a, b0, c40); c41 = _mm512_fmadd_ps(a, b1, c41);
            a = _mm512_set1_ps(a5[o]); c50 = _mm512_fmadd_ps(a, b0, c50); c51 = _mm512_fmadd_ps(a, b1, c51);
        }
    } else {
#pragma clang loop unroll_count(4)
        for (long p = 0; p < kc; p++) {
            __m512 b0 = _mm512_load_ps(pb0 + p * 16);
            long o = p * astep;
            c00 = _mm512_fmadd_ps(_mm512_set1_ps(a0[o]), b0, c00);
            c10 = _mm512_fmadd_ps(_mm512_set1_ps(a1[o]), b0, c10);
            c20 = _mm512_fmadd_ps(_mm512_set1_ps(a2[o]), b0, c20);
            c30 = _mm512_fmadd_ps(_mm512_set1_ps(a3[o]), b0, c30);
            c40 = _mm512_fmadd_ps(_mm512_set1_ps(a4[o]), b0, c40);
            c50 = _mm512_fmadd_ps(_mm512_set1_ps(a5[o]), b0, c50);
        }
    }
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : wide ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    const __m512 zero = _mm512_setzero_ps();
    __m512 b0v = zero, b1v = zero;
    if (final && bias) {
        b0v = _mm512_maskz_loadu_ps(m0, bias);
        b1v = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
    CMW_ROW(0, c00, c01) CMW_ROW(1, c10, c11) CMW_ROW(2, c20, c21)
    CMW_ROW(3, c30, c31) CMW_ROW(4, c40, c41) CMW_ROW(5, c50, c51)
}
#undef CMW_ROW

#else
int cmw_hasAVX512(void) { return 0; }

void cmw_tileAVX512(long kc, const float *a0, const float *a1, const float *a2, const float *a3,
                    const float *a4, const float *a5, long astep, const float *pb0, const float *pb1,
                    float *c, long ldc, long mr, long nr, int store, int final, const float *bias, int relu) {
    // Never called: the driver only picks this tile when cmw_hasAVX512() is 1.
    (void)kc; (void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)astep; (void)pb0; (void)pb1;
    (void)c; (void)ldc; (void)mr; (void)nr; (void)store; (void)final; (void)bias; (void)relu;
}
#endif
