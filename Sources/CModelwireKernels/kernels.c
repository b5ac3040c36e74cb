#include "CModelwireKernels.h"
#include "sgemm_tiles.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CMW_X86 1
#else
#define CMW_X86 0
#endif

// Blocking: a 6x16 register tile (12 ymm accumulators), K blocks of 256 (a 6x256 A
// sliver and a 256x16 B sliver stay in L1), M blocks of 96 rows, N blocks of 1024 columns
// (a packed 256x1024 B block is 1 MiB, the size of this machine's L2).
enum { MR = 6, NR = 16, KC = 256, MC = 96, NC = 1024 };

int CModelwireKernels_usesAVX2FMA(void) {
#if CMW_X86 && (defined(__clang__) || defined(__GNUC__))
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int CModelwireKernels_kernelLevel(void) {
    if (!CModelwireKernels_usesAVX2FMA()) return CModelwireKernels_portable;
    return cmw_hasAVX512() ? CModelwireKernels_avx512 : CModelwireKernels_avx2fma;
}

// One element of a tile's epilogue: (C +) acc; on the last K block, + bias and relu.
static inline float epilogue(float old, float acc, int store, int final, const float *bias, long j, int relu) {
    float v = store ? acc : old + acc;
    if (final && bias) v += bias[j];
    if (final && relu) v = v > 0.0f ? v : 0.0f;
    return v;
}

static inline float opA(const float *a, long lda, int trans, long i, long p) {
    return trans ? a[p * lda + i] : a[i * lda + p];
}

// Packs alpha * op(A)[i0 ..< i0+mc, p0 ..< p0+kc] into MR-row slivers, zero-padded.
static void packA(int trans, const float *a, long lda, long i0, long mc, long p0, long kc,
                  float alpha, float *pa) {
    for (long ir = 0; ir < mc; ir += MR) {
        long rows = mc - ir < MR ? mc - ir : MR;
        if (trans) {
            // op(A)[i][p] = A[p][i]: a sliver's MR values for one p are contiguous.
            for (long p = 0; p < kc; p++) {
                const float *src = a + (p0 + p) * lda + i0 + ir;
                for (long r = 0; r < rows; r++) pa[r] = alpha * src[r];
                for (long r = rows; r < MR; r++) pa[r] = 0.0f;
                pa += MR;
            }
        } else {
            for (long r = 0; r < rows; r++) {
                const float *src = a + (i0 + ir + r) * lda + p0;
                for (long p = 0; p < kc; p++) pa[p * MR + r] = alpha * src[p];
            }
            for (long r = rows; r < MR; r++)
                for (long p = 0; p < kc; p++) pa[p * MR + r] = 0.0f;
            pa += kc * MR;
        }
    }
}

// Packs op(B)[p0 ..< p0+kc, j0 ..< j0+nc] into NR-column slivers, zero-padded.
static void packB(int trans, const float *b, long ldb, long p0, long kc, long j0, long nc, float *pb) {
    for (long jr = 0; jr < nc; jr += NR) {
        long cols = nc - jr < NR ? nc - jr : NR;
        for (long p = 0; p < kc; p++) {
            if (!trans) {
                const float *src = b + (p0 + p) * ldb + j0 + jr;
                if (cols == NR) {
                    for (int c = 0; c < NR; c++) pb[c] = src[c];  // inlined: a memcpy call per 64 bytes costs more
                } else {
                    for (long c = 0; c < cols; c++) pb[c] = src[c];
                }
            } else {
                for (long c = 0; c < cols; c++) pb[c] = b[(j0 + jr + c) * ldb + p0 + p];
            }
            for (long c = cols; c < NR; c++) pb[c] = 0.0f;
            pb += NR;
        }
    }
}

// C[0..<mr][0..<nr] += the MR x NR product of two packed slivers (portable).
// store: overwrite C instead of adding to it (the first K block of a beta = 0 product).
// final (the last K block): then add bias[0..<nr] (when not NULL) and apply relu (when relu is 1).
static void kernelPortable(long kc, const float *pa, const float *pb, float *c, long ldc, long mr, long nr, int store,
                           int final, const float *bias, int relu) {
    float acc[MR][NR];
    memset(acc, 0, sizeof acc);
    for (long p = 0; p < kc; p++) {
        for (int r = 0; r < MR; r++) {
            float av = pa[r];
            for (int j = 0; j < NR; j++) acc[r][j] += av * pb[j];
        }
        pa += MR;
        pb += NR;
    }
    for (long r = 0; r < mr; r++)
        for (long j = 0; j < nr; j++) c[r * ldc + j] = epilogue(c[r * ldc + j], acc[r][j], store, final, bias, j, relu);
}

#if CMW_X86
__attribute__((target("avx2,fma")))
// A is read either packed (a0..a5 = pa, pa+1, ..., astep = MR) or straight from op(A) = A
// (a_r = row r's start, astep = 1), which saves the packing pass for the common case.
static void kernelAVX2(long kc, const float *a0, const float *a1, const float *a2, const float *a3,
                       const float *a4, const float *a5, long astep, const float *pb, float *c, long ldc,
                       long mr, long nr, int store, int final, const float *bias, int relu) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    // Fetch the C tile while the products run; unrolling by 4 measured 10-20% faster at 1024^3.
    for (long r = 0; r < mr; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + NR - 1), _MM_HINT_T0);
    }
#pragma clang loop unroll_count(4)
    for (long p = 0; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(pb), b1 = _mm256_loadu_ps(pb + 8);
        __m256 a;
        long o = p * astep;
        a = _mm256_broadcast_ss(a0 + o); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(a1 + o); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(a2 + o); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(a3 + o); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(a4 + o); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(a5 + o); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
        pb += NR;
    }
    if (mr == MR && nr == NR && final && (bias || relu)) {
        const __m256 zero = _mm256_setzero_ps();
        __m256 b0 = bias ? _mm256_loadu_ps(bias) : zero, b1 = bias ? _mm256_loadu_ps(bias + 8) : zero;
#define CMW_FINAL(r, x0, x1)                                                                  \
        {                                                                                     \
            __m256 v0 = store ? x0 : _mm256_add_ps(_mm256_loadu_ps(c + r * ldc), x0);         \
            __m256 v1 = store ? x1 : _mm256_add_ps(_mm256_loadu_ps(c + r * ldc + 8), x1);     \
            if (bias) { v0 = _mm256_add_ps(v0, b0); v1 = _mm256_add_ps(v1, b1); }            \
            if (relu) { v0 = _mm256_max_ps(v0, zero); v1 = _mm256_max_ps(v1, zero); }        \
            _mm256_storeu_ps(c + r * ldc, v0); _mm256_storeu_ps(c + r * ldc + 8, v1);         \
        }
        CMW_FINAL(0, c00, c01) CMW_FINAL(1, c10, c11) CMW_FINAL(2, c20, c21)
        CMW_FINAL(3, c30, c31) CMW_FINAL(4, c40, c41) CMW_FINAL(5, c50, c51)
#undef CMW_FINAL
        return;
    }
    if (mr == MR && nr == NR && store) {
#define CMW_STORE(r, x0, x1) _mm256_storeu_ps(c + r * ldc, x0); _mm256_storeu_ps(c + r * ldc + 8, x1);
        CMW_STORE(0, c00, c01) CMW_STORE(1, c10, c11) CMW_STORE(2, c20, c21)
        CMW_STORE(3, c30, c31) CMW_STORE(4, c40, c41) CMW_STORE(5, c50, c51)
#undef CMW_STORE
        return;
    }
    if (mr == MR && nr == NR) {
#define CMW_ADD(r, x0, x1)                                                              \
        _mm256_storeu_ps(c + r * ldc, _mm256_add_ps(_mm256_loadu_ps(c + r * ldc), x0)); \
        _mm256_storeu_ps(c + r * ldc + 8, _mm256_add_ps(_mm256_loadu_ps(c + r * ldc + 8), x1));
        CMW_ADD(0, c00, c01) CMW_ADD(1, c10, c11) CMW_ADD(2, c20, c21)
        CMW_ADD(3, c30, c31) CMW_ADD(4, c40, c41) CMW_ADD(5, c50, c51)
#undef CMW_ADD
        return;
    }
    float acc[MR][NR];
    _mm256_storeu_ps(acc[0], c00); _mm256_storeu_ps(acc[0] + 8, c01);
    _mm256_storeu_ps(acc[1], c10); _mm256_storeu_ps(acc[1] + 8, c11);
    _mm256_storeu_ps(acc[2], c20); _mm256_storeu_ps(acc[2] + 8, c21);
    _mm256_storeu_ps(acc[3], c30); _mm256_storeu_ps(acc[3] + 8, c31);
    _mm256_storeu_ps(acc[4], c40); _mm256_storeu_ps(acc[4] + 8, c41);
    _mm256_storeu_ps(acc[5], c50); _mm256_storeu_ps(acc[5] + 8, c51);
    for (long r = 0; r < mr; r++)
        for (long j = 0; j < nr; j++) c[r * ldc + j] = epilogue(c[r * ldc + j], acc[r][j], store, final, bias, j, relu);
}

// Few rows, op(B) = B: C[i][:] += alpha * sum_p op(A)[i][p] * B[p][:], no packing.
// This is the 1-row predict path, where copying B would cost more than the product.
__attribute__((target("avx2,fma")))
static void smallMAVX2(int transA, long m, long n, long k, float alpha, const float *a, long lda,
                       const float *b, long ldb, float *c, long ldc) {
    for (long i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        long j = 0;
        for (; j + 32 <= n; j += 32) {
            __m256 s0 = _mm256_loadu_ps(ci + j), s1 = _mm256_loadu_ps(ci + j + 8);
            __m256 s2 = _mm256_loadu_ps(ci + j + 16), s3 = _mm256_loadu_ps(ci + j + 24);
            for (long p = 0; p < k; p++) {
                __m256 av = _mm256_set1_ps(alpha * opA(a, lda, transA, i, p));
                const float *bp = b + p * ldb + j;
                s0 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp), s0);
                s1 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 8), s1);
                s2 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 16), s2);
                s3 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 24), s3);
            }
            _mm256_storeu_ps(ci + j, s0); _mm256_storeu_ps(ci + j + 8, s1);
            _mm256_storeu_ps(ci + j + 16, s2); _mm256_storeu_ps(ci + j + 24, s3);
        }
        for (; j + 8 <= n; j += 8) {
            __m256 s0 = _mm256_loadu_ps(ci + j);
            for (long p = 0; p < k; p++)
                s0 = _mm256_fmadd_ps(_mm256_set1_ps(alpha * opA(a, lda, transA, i, p)), _mm256_loadu_ps(b + p * ldb + j), s0);
            _mm256_storeu_ps(ci + j, s0);
        }
        for (; j < n; j++) {
            float s = ci[j];
            for (long p = 0; p < k; p++) s += alpha * opA(a, lda, transA, i, p) * b[p * ldb + j];
            ci[j] = s;
        }
    }
}
#endif

static void smallMPortable(int transA, long m, long n, long k, float alpha, const float *a, long lda,
                           const float *b, long ldb, float *c, long ldc) {
    for (long i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        for (long p = 0; p < k; p++) {
            float av = alpha * opA(a, lda, transA, i, p);
            const float *bp = b + p * ldb;
            for (long j = 0; j < n; j++) ci[j] += av * bp[j];
        }
    }
}

int CModelwireKernels_sgemm(int transA, int transB, long m, long n, long k, float alpha,
                            const float *a, long lda, const float *b, long ldb,
                            float beta, float *c, long ldc) {
    return CModelwireKernels_sgemmUsing(CModelwireKernels_kernelLevel(), transA, transB, m, n, k, alpha,
                                        a, lda, b, ldb, beta, c, ldc);
}

static void biasActivationUsing(int level, float *x, long rows, long cols, const float *bias, int activation);

// The blocked product behind both entry points. bias (per column, may be NULL) and relu are
// applied by the register tiles on the last K block; other activations in a pass at the end.
static int gemm(int level, int transA, int transB, long m, long n, long k, float alpha,
                const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc,
                const float *bias, int activation) {
    if (m <= 0 || n <= 0) return 0;
    int cap = CModelwireKernels_kernelLevel();
    level = level < cap ? level : cap;
    int packed = !(m <= 4 && !transB) && k > 0 && alpha != 0.0f;
    if (beta == 0.0f && !packed) {
        for (long i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
    } else if (beta != 1.0f && beta != 0.0f) {
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] *= beta;
    }
    int fusable = activation == CModelwireKernels_linear || activation == CModelwireKernels_relu;
    if (packed) {
        int avx = level >= CModelwireKernels_avx2fma, wide = level >= CModelwireKernels_avx512;
        int relu = activation == CModelwireKernels_relu;
        long ncMax = n < NC ? n : NC, kcMax = k < KC ? k : KC, mcMax = m < MC ? m : MC;
        size_t bSize = (size_t)kcMax * (size_t)((ncMax + NR - 1) / NR * NR);
        size_t aSize = (size_t)kcMax * (size_t)((mcMax + MR - 1) / MR * MR);
        float *pb = aligned_alloc(64, ((bSize + aSize) * sizeof(float) + 63) / 64 * 64);
        if (!pb) return -1;
        float *pa = pb + bSize;
        // The AVX-512 tile covers two 16-column slivers at once.
        long step = wide ? 2 * NR : NR;
        for (long jc = 0; jc < n; jc += NC) {
            long nc = n - jc < NC ? n - jc : NC;
            for (long pc = 0; pc < k; pc += KC) {
                long kc = k - pc < KC ? k - pc : KC;
                int final = pc + kc >= k;
                packB(transB, b, ldb, pc, kc, jc, nc, pb);
                for (long ic = 0; ic < m; ic += MC) {
                    long mc = m - ic < MC ? m - ic : MC;
                    int direct = !transA && alpha == 1.0f && avx && k <= KC;  // long rows alias in L1: pack them
                    if (!direct) packA(transA, a, lda, ic, mc, pc, kc, alpha, pa);
                    for (long jr = 0; jr < nc; jr += step) {
                        long nr = nc - jr < step ? nc - jr : step;
                        const float *bs = pb + jr * kc;
                        const float *tileBias = bias ? bias + jc + jr : NULL;
                        for (long ir = 0; ir < mc; ir += MR) {
                            long mr = mc - ir < MR ? mc - ir : MR;
                            float *cs = c + (ic + ir) * ldc + jc + jr;
                            int store = pc == 0 && beta == 0.0f;
                            const float *rr[MR];
                            long astep = MR;
                            if (direct) {
                                // Rows past mr repeat the last valid row; their results are discarded.
                                const float *r0 = a + (ic + ir) * lda + pc;
                                for (int r = 0; r < MR; r++) rr[r] = r0 + (r < mr ? r : mr - 1) * lda;
                                astep = 1;
                            } else {
                                for (int r = 0; r < MR; r++) rr[r] = pa + ir * kc + r;
                            }
                            if (wide) {
                                cmw_tileAVX512(kc, rr[0], rr[1], rr[2], rr[3], rr[4], rr[5], astep, bs,
                                               bs + NR * kc, cs, ldc, mr, nr, store, final, tileBias, relu);
                                continue;
                            }
#if CMW_X86
                            if (avx) {
                                kernelAVX2(kc, rr[0], rr[1], rr[2], rr[3], rr[4], rr[5], astep, bs, cs, ldc, mr, nr,
                                           store, final, tileBias, relu);
                                continue;
                            }
#endif
                            kernelPortable(kc, pa + ir * kc, bs, cs, ldc, mr, nr, store, final, tileBias, relu);
                        }
                    }
                }
            }
        }
        free(pb);
    } else if (k > 0 && alpha != 0.0f) {
#if CMW_X86
        if (level >= CModelwireKernels_avx2fma) smallMAVX2(transA, m, n, k, alpha, a, lda, b, ldb, c, ldc);
        else
#endif
            smallMPortable(transA, m, n, k, alpha, a, lda, b, ldb, c, ldc);
    }
    // What the tiles did not apply: everything after the small-m path (and an empty product's
    // bias), the non-fusable activations after the tiles.
    int tilesApplied = packed;
    const float *restBias = tilesApplied ? NULL : bias;
    int restActivation = tilesApplied && fusable ? CModelwireKernels_linear : activation;
    if (restBias || restActivation != CModelwireKernels_linear) {
        if (ldc == n) {
            biasActivationUsing(level, c, m, n, restBias, restActivation);
        } else {
            for (long i = 0; i < m; i++) biasActivationUsing(level, c + i * ldc, 1, n, restBias, restActivation);
        }
    }
    return 0;
}

int CModelwireKernels_sgemmUsing(int level, int transA, int transB, long m, long n, long k, float alpha,
                                 const float *a, long lda, const float *b, long ldb,
                                 float beta, float *c, long ldc) {
    return gemm(level, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL,
                CModelwireKernels_linear);
}

int CModelwireKernels_sgemmBiasActivation(int level, long m, long n, long k, const float *a, long lda,
                                          const float *b, long ldb, const float *bias, int activation,
                                          float *c, long ldc) {
    return gemm(level, 0, 0, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc, bias, activation);
}

static inline float activate(float v, int activation) {
    switch (activation) {
    case CModelwireKernels_relu: return v > 0.0f ? v : 0.0f;
    case CModelwireKernels_tanh: return tanhf(v);
    case CModelwireKernels_sigmoid: return v >= 0.0f ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v));
    default: return v;
    }
}

#if CMW_X86
// e^x for 8 floats (Cephes expf: range reduction by ln 2, degree-5 polynomial; ~2 ulp).
__attribute__((target("avx2,fma")))
static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3365447505531f));
    __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

// Bias + relu/linear, and softmax with the exponentials done 8 at a time over the whole block.
// Returns 0 when the activation is not handled here.
__attribute__((target("avx2,fma")))
static int biasActivationAVX2(float *x, long rows, long cols, const float *bias, int activation) {
    if (activation != CModelwireKernels_linear && activation != CModelwireKernels_relu &&
        activation != CModelwireKernels_softmax) return 0;
    const __m256 zero = _mm256_setzero_ps();
    for (long r = 0; r < rows; r++) {
        float *row = x + r * cols;
        long c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_loadu_ps(row + c);
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            if (activation == CModelwireKernels_relu) v = _mm256_max_ps(v, zero);
            _mm256_storeu_ps(row + c, v);
        }
        for (; c < cols; c++) {
            float v = row[c] + (bias ? bias[c] : 0.0f);
            row[c] = activation == CModelwireKernels_relu ? (v > 0.0f ? v : 0.0f) : v;
        }
        if (activation == CModelwireKernels_softmax) {
            float mx = row[0];
            for (c = 1; c < cols; c++) mx = row[c] > mx ? row[c] : mx;
            for (c = 0; c < cols; c++) row[c] -= mx;
        }
    }
    if (activation != CModelwireKernels_softmax) return 1;
    long n = rows * cols, i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, exp8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float tail[8] = {0};
        memcpy(tail, x + i, (size_t)(n - i) * sizeof(float));
        _mm256_storeu_ps(tail, exp8(_mm256_loadu_ps(tail)));
        memcpy(x + i, tail, (size_t)(n - i) * sizeof(float));
    }
    for (long r = 0; r < rows; r++) {
        float *row = x + r * cols;
        float sum = 0.0f;
        for (long c = 0; c < cols; c++) sum += row[c];
        float inv = 1.0f / sum;
        for (long c = 0; c < cols; c++) row[c] *= inv;
    }
    return 1;
}
#endif

void CModelwireKernels_biasActivation(float *x, long rows, long cols, const float *bias, int activation) {
    biasActivationUsing(CModelwireKernels_kernelLevel(), x, rows, cols, bias, activation);
}

static void biasActivationUsing(int level, float *x, long rows, long cols, const float *bias, int activation) {
#if CMW_X86
    if (level >= CModelwireKernels_avx2fma && biasActivationAVX2(x, rows, cols, bias, activation)) return;
#else
    (void)level;
#endif
    for (long r = 0; r < rows; r++) {
        float *row = x + r * cols;
        if (bias)
            for (long c = 0; c < cols; c++) row[c] += bias[c];
        if (activation == CModelwireKernels_softmax) {
            float mx = row[0];
            for (long c = 1; c < cols; c++) mx = row[c] > mx ? row[c] : mx;
            float sum = 0.0f;
            for (long c = 0; c < cols; c++) { row[c] = expf(row[c] - mx); sum += row[c]; }
            float inv = 1.0f / sum;
            for (long c = 0; c < cols; c++) row[c] *= inv;
        } else if (activation == CModelwireKernels_relu) {
            for (long c = 0; c < cols; c++) row[c] = row[c] > 0.0f ? row[c] : 0.0f;
        } else if (activation != CModelwireKernels_linear) {
            for (long c = 0; c < cols; c++) row[c] = activate(row[c], activation);
        }
    }
}

#if CMW_X86
// relu, tanh and sigmoid backward, 8 at a time. Returns how many elements it handled.
__attribute__((target("avx2,fma")))
static long activationBackwardAVX2(float *grad, const float *y, long n, int activation) {
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(grad + i), yi = _mm256_loadu_ps(y + i);
        switch (activation) {
        case CModelwireKernels_relu: g = _mm256_and_ps(g, _mm256_cmp_ps(yi, zero, _CMP_GT_OQ)); break;
        case CModelwireKernels_tanh: g = _mm256_mul_ps(g, _mm256_fnmadd_ps(yi, yi, one)); break;
        default: g = _mm256_mul_ps(g, _mm256_mul_ps(yi, _mm256_sub_ps(one, yi))); break;  // sigmoid
        }
        _mm256_storeu_ps(grad + i, g);
    }
    return i;
}
#endif

void CModelwireKernels_activationBackward(float *grad, const float *y, long rows, long cols, int activation) {
    long n = rows * cols, i = 0;
    if (activation == CModelwireKernels_linear) return;
#if CMW_X86
    if (activation != CModelwireKernels_softmax && CModelwireKernels_usesAVX2FMA())
        i = activationBackwardAVX2(grad, y, n, activation);
#endif
    switch (activation) {
    case CModelwireKernels_relu:
        // Branch-free: a data-dependent branch here mispredicts about half the time.
        for (; i < n; i++) grad[i] *= (float)(y[i] > 0.0f);
        break;
    case CModelwireKernels_tanh:
        for (; i < n; i++) grad[i] *= 1.0f - y[i] * y[i];
        break;
    case CModelwireKernels_sigmoid:
        for (; i < n; i++) grad[i] *= y[i] * (1.0f - y[i]);
        break;
    case CModelwireKernels_softmax:
        for (long r = 0; r < rows; r++) {
            float *g = grad + r * cols;
            const float *yr = y + r * cols;
            float dot = 0.0f;
            for (long c = 0; c < cols; c++) dot += g[c] * yr[c];
            for (long c = 0; c < cols; c++) g[c] = yr[c] * (g[c] - dot);
        }
        break;
    default:
        break;
    }
}

void CModelwireKernels_columnSums(const float *x, long rows, long cols, float *out) {
    memset(out, 0, (size_t)cols * sizeof(float));
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        for (long c = 0; c < cols; c++) out[c] += row[c];
    }
}

#if CMW_X86
__attribute__((target("avx2,fma")))
static long adamAVX2(float *p, const float *g, float *m, float *v, long n, float alpha, float b1, float b2, float eps) {
    __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2), va = _mm256_set1_ps(alpha), ve = _mm256_set1_ps(eps);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i), mi = _mm256_loadu_ps(m + i), vi = _mm256_loadu_ps(v + i);
        mi = _mm256_fmadd_ps(_mm256_sub_ps(gi, mi), vb1, mi);
        vi = _mm256_fmadd_ps(_mm256_fmsub_ps(gi, gi, vi), vb2, vi);
        __m256 step = _mm256_div_ps(_mm256_mul_ps(va, mi), _mm256_add_ps(_mm256_sqrt_ps(vi), ve));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), step));
    }
    return i;
}
#endif

void CModelwireKernels_adamUpdate(float *p, const float *g, float *m, float *v, long n, float alpha,
                                  float oneMinusBeta1, float oneMinusBeta2, float epsilon) {
    long i = 0;
#if CMW_X86
    if (CModelwireKernels_usesAVX2FMA()) i = adamAVX2(p, g, m, v, n, alpha, oneMinusBeta1, oneMinusBeta2, epsilon);
#endif
    for (; i < n; i++) {
        m[i] += (g[i] - m[i]) * oneMinusBeta1;
        v[i] += (g[i] * g[i] - v[i]) * oneMinusBeta2;
        p[i] -= alpha * m[i] / (sqrtf(v[i]) + epsilon);
    }
}

// ---- Histogram trees -------------------------------------------------------------------

// Adds each listed row's (g, h, 1, 0) to the cells of its four bins, group by group (bin ids
// read byte by byte, so on any byte order).
static void histogramAddPortable(const unsigned char *packed, long rows, long groups, int wide, long bins,
                                 const int *index, long count, const double *quads, double *hist) {
    long stride = wide ? 8 : 4;
    for (long group = 0; group < groups; group++) {
        const unsigned char *column = packed + group * rows * stride;
        double *h = hist + group * 4 * bins * 4;
        for (long i = 0; i < count; i++) {
            const unsigned char *ids = column + (long)index[i] * stride;
            const double *q = quads + i * 4;
            for (int lane = 0; lane < 4; lane++) {
                long bin = wide ? ids[2 * lane] | (long)ids[2 * lane + 1] << 8 : ids[lane];
                double *cell = h + (lane * bins + bin) * 4;
                cell[0] += q[0];
                cell[1] += q[1];
                cell[2] += q[2];
            }
        }
    }
}

#if CMW_X86
// The rows' bin words of a group are gathered first (independent loads, so cache misses
// overlap), then each row costs one 32-byte load, add and store per feature (the portable loop
// needs three of each). x86 is little-endian: a word's low bits are its first feature's bin.
__attribute__((target("avx2,fma")))
static void histogramAddAVX2(const unsigned char *packed, long rows, long groups, int wide, long bins,
                             const int *index, long count, const double *quads, double *hist, void *words) {
    long stride = wide ? 8 : 4;
    int shift = wide ? 16 : 8;
    unsigned long long mask = wide ? 0xFFFF : 0xFF;
    unsigned long long *w = words;
    for (long group = 0; group < groups; group++) {
        const unsigned char *column = packed + group * rows * stride;
        double *h0 = hist + group * 4 * bins * 4;
        double *h1 = h0 + bins * 4, *h2 = h1 + bins * 4, *h3 = h2 + bins * 4;
        if (wide) {
            for (long i = 0; i < count; i++) memcpy(&w[i], column + (long)index[i] * 8, 8);
        } else {
            for (long i = 0; i < count; i++) {
                unsigned int x;
                memcpy(&x, column + (long)index[i] * 4, 4);
                w[i] = x;
            }
        }
        for (long i = 0; i < count; i++) {
            __m256d q = _mm256_loadu_pd(quads + i * 4);
            unsigned long long x = w[i];
            double *c0 = h0 + (long)(x & mask) * 4, *c1 = h1 + (long)(x >> shift & mask) * 4;
            double *c2 = h2 + (long)(x >> 2 * shift & mask) * 4, *c3 = h3 + (long)(x >> 3 * shift & mask) * 4;
            _mm256_storeu_pd(c0, _mm256_add_pd(_mm256_loadu_pd(c0), q));
            _mm256_storeu_pd(c1, _mm256_add_pd(_mm256_loadu_pd(c1), q));
            _mm256_storeu_pd(c2, _mm256_add_pd(_mm256_loadu_pd(c2), q));
            _mm256_storeu_pd(c3, _mm256_add_pd(_mm256_loadu_pd(c3), q));
        }
    }
}
#endif

void CModelwireKernels_histogramAdd(int useAVX2, const void *packed, long rows, long groups, int wide, long bins,
                                    const int *index, long count, const double *quads, double *hist, void *words) {
#if CMW_X86
    if (useAVX2 && CModelwireKernels_usesAVX2FMA()) {
        histogramAddAVX2(packed, rows, groups, wide, bins, index, count, quads, hist, words);
        return;
    }
#endif
    (void)words;
    histogramAddPortable(packed, rows, groups, wide, bins, index, count, quads, hist);
}

// The best split of one feature's bins (see the header): the sequential scan; the AVX2 version
// takes the prefix sums first, then scores four candidates per vector division.
static long histogramBestBinPortable(const double *cells, long candidates, double gradient, double hessian,
                                     double rows, double lambda, double minRows, double minHessian,
                                     double parentLoss, double *bestGain) {
    double gl = 0, hl = 0, nl = 0, best = *bestGain;
    long leftBin = -1;
    for (long bin = 0; bin < candidates; bin++) {
        gl += cells[bin * 4];
        hl += cells[bin * 4 + 1];
        nl += cells[bin * 4 + 2];
        if (nl < minRows || hl < minHessian) continue;
        double nr = rows - nl, hr = hessian - hl;
        if (nr < minRows || hr < minHessian) break;  // later candidates have fewer rows, less hessian right
        double gr = gradient - gl;
        double gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parentLoss;
        if (gain > best) {
            best = gain;
            leftBin = bin;
        }
    }
    *bestGain = best;
    return leftBin;
}

#if CMW_X86
__attribute__((target("avx2,fma")))
static long histogramBestBinAVX2(const double *cells, long candidates, double gradient, double hessian,
                                 double rows, double lambda, double minRows, double minHessian,
                                 double parentLoss, double *bestGain, double *prefix) {
    // Prefix sums (g, h, n) per candidate, sequentially, into three arrays.
    double *pg = prefix, *ph = prefix + candidates, *pn = prefix + 2 * candidates;
    double gl = 0, hl = 0, nl = 0;
    for (long bin = 0; bin < candidates; bin++) {
        gl += cells[bin * 4];
        hl += cells[bin * 4 + 1];
        nl += cells[bin * 4 + 2];
        pg[bin] = gl;
        ph[bin] = hl;
        pn[bin] = nl;
    }
    // Gains four at a time; invalid candidates score -inf. Per lane the largest gain and its
    // first bin; then the largest over the lanes, lowest bin on ties.
    const __m256d vG = _mm256_set1_pd(gradient), vH = _mm256_set1_pd(hessian), vN = _mm256_set1_pd(rows);
    const __m256d vLambda = _mm256_set1_pd(lambda), vMinRows = _mm256_set1_pd(minRows);
    const __m256d vMinHessian = _mm256_set1_pd(minHessian), vParent = _mm256_set1_pd(parentLoss);
    const __m256d minusInf = _mm256_set1_pd(-INFINITY);
    __m256d best = minusInf, bestBin = _mm256_set1_pd(-1), bin = _mm256_setr_pd(0, 1, 2, 3);
    const __m256d four = _mm256_set1_pd(4);
    long full = candidates & ~3L;
    for (long b = 0; b < full; b += 4) {
        __m256d g = _mm256_loadu_pd(pg + b), h = _mm256_loadu_pd(ph + b), n = _mm256_loadu_pd(pn + b);
        __m256d gr = _mm256_sub_pd(vG, g), hr = _mm256_sub_pd(vH, h), nr = _mm256_sub_pd(vN, n);
        __m256d valid = _mm256_and_pd(
            _mm256_and_pd(_mm256_cmp_pd(n, vMinRows, _CMP_GE_OQ), _mm256_cmp_pd(h, vMinHessian, _CMP_GE_OQ)),
            _mm256_and_pd(_mm256_cmp_pd(nr, vMinRows, _CMP_GE_OQ), _mm256_cmp_pd(hr, vMinHessian, _CMP_GE_OQ)));
        __m256d left = _mm256_div_pd(_mm256_mul_pd(g, g), _mm256_add_pd(h, vLambda));
        __m256d right = _mm256_div_pd(_mm256_mul_pd(gr, gr), _mm256_add_pd(hr, vLambda));
        __m256d gain = _mm256_sub_pd(_mm256_add_pd(left, right), vParent);
        gain = _mm256_blendv_pd(minusInf, gain, valid);
        __m256d better = _mm256_cmp_pd(gain, best, _CMP_GT_OQ);
        best = _mm256_blendv_pd(best, gain, better);
        bestBin = _mm256_blendv_pd(bestBin, bin, better);
        bin = _mm256_add_pd(bin, four);
    }
    double lanes[4], laneBins[4];
    _mm256_storeu_pd(lanes, best);
    _mm256_storeu_pd(laneBins, bestBin);
    double top = *bestGain;
    long leftBin = -1;
    for (int lane = 0; lane < 4; lane++) {
        if (laneBins[lane] < 0) continue;
        if (lanes[lane] > top || (lanes[lane] == top && leftBin >= 0 && (long)laneBins[lane] < leftBin)) {
            top = lanes[lane];
            leftBin = (long)laneBins[lane];
        }
    }
    for (long b = full; b < candidates; b++) {
        double g = pg[b], h = ph[b], n = pn[b];
        double gr = gradient - g, hr = hessian - h, nr = rows - n;
        if (!(n >= minRows && h >= minHessian && nr >= minRows && hr >= minHessian)) continue;
        double gain = g * g / (h + lambda) + gr * gr / (hr + lambda) - parentLoss;
        if (gain > top) {
            top = gain;
            leftBin = b;
        }
    }
    *bestGain = top;
    return leftBin;
}
#endif

long CModelwireKernels_histogramBestBin(int useAVX2, const double *cells, long candidates, double gradient,
                                        double hessian, double rows, double lambda, double minRows,
                                        double minHessian, double parentLoss, double *bestGain, double *prefix) {
#if CMW_X86
    if (useAVX2 && CModelwireKernels_usesAVX2FMA())
        return histogramBestBinAVX2(cells, candidates, gradient, hessian, rows, lambda, minRows, minHessian,
                                    parentLoss, bestGain, prefix);
#endif
    (void)prefix;
    return histogramBestBinPortable(cells, candidates, gradient, hessian, rows, lambda, minRows, minHessian,
                                    parentLoss, bestGain);
}
