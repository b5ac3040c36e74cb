#include "CModelwireQuantizedKernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CMW_QX86 1
#else
#define CMW_QX86 0
#endif

// A register tile is QMR rows x QNP panels of 8 columns: 8 int32 accumulators, 2 weight vectors and
// a broadcast row pair (11 of the 16 ymm registers).
enum { QMR = 4, QNP = 2, QPANEL = 8 };

static int haveAVX2(int useAVX2) {
#if CMW_QX86 && (defined(__clang__) || defined(__GNUC__))
    return useAVX2 && __builtin_cpu_supports("avx2");
#else
    (void)useAVX2;
    return 0;
#endif
}

long CModelwireKernels_qpackedCount(long k, long n) {
    return ((k + 1) / 2) * 2 * ((n + QPANEL - 1) / QPANEL) * QPANEL;
}

void CModelwireKernels_qpack(const signed char *w, long k, long n, short *packed) {
    long pairs = (k + 1) / 2, panels = (n + QPANEL - 1) / QPANEL;
    for (long panel = 0; panel < panels; panel++)
        for (long p = 0; p < pairs; p++)
            for (long c = 0; c < QPANEL; c++)
                for (long t = 0; t < 2; t++) {
                    long i = 2 * p + t, j = panel * QPANEL + c;
                    packed[((panel * pairs + p) * QPANEL + c) * 2 + t] = (i < k && j < n) ? w[i * n + j] : 0;
                }
}

// The row's scale and its inverse, from the row's largest finite |x| (scalar in both paths).
static void rowScale(float amax, float staticScale, float *scale, float *inverse) {
    if (staticScale > 0) {
        *scale = staticScale;
        *inverse = 1.0f / staticScale;
    } else if (amax > 0) {
        *scale = amax / 127.0f;
        *inverse = 127.0f / amax;
    } else {
        *scale = 0.0f;
        *inverse = 0.0f;
    }
    if (!(*inverse < INFINITY)) {  // a subnormal-only row: quantized to 0
        *scale = 0.0f;
        *inverse = 0.0f;
    }
}

static inline float finiteOrZero(float v) { return isfinite(v) ? v : 0.0f; }

static inline short quantizeOne(float v, float inverse) {
    float s = finiteOrZero(v) * inverse;
    s = s < -127.0f ? -127.0f : (s > 127.0f ? 127.0f : s);
    return (short)nearbyintf(s);
}

static void quantizeRowsPortable(const float *x, long m, long k, long ldx, float staticScale, short *q,
                                 float *scales) {
    long kp = (k + 1) & ~1L;
    for (long r = 0; r < m; r++) {
        const float *row = x + r * ldx;
        float amax = 0.0f;
        if (staticScale <= 0)
            for (long i = 0; i < k; i++) {
                float a = fabsf(finiteOrZero(row[i]));
                amax = a > amax ? a : amax;
            }
        float inverse;
        rowScale(amax, staticScale, &scales[r], &inverse);
        short *out = q + r * kp;
        for (long i = 0; i < k; i++) out[i] = quantizeOne(row[i], inverse);
        if (kp > k) out[k] = 0;
    }
}

#if CMW_QX86
// Non-finite lanes become 0 (ordered and |v| < inf).
__attribute__((target("avx2"))) static inline __m256 finiteOrZero8(__m256 v) {
    __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
    return _mm256_and_ps(v, _mm256_cmp_ps(magnitude, _mm256_set1_ps(INFINITY), _CMP_LT_OQ));
}

__attribute__((target("avx2")))
static void quantizeRowsAVX2(const float *x, long m, long k, long ldx, float staticScale, short *q, float *scales) {
    long kp = (k + 1) & ~1L;
    const __m256 sign = _mm256_set1_ps(-0.0f), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    for (long r = 0; r < m; r++) {
        const float *row = x + r * ldx;
        float amax = 0.0f;
        long i = 0;
        if (staticScale <= 0) {
            __m256 vmax = _mm256_setzero_ps();
            for (; i + 8 <= k; i += 8)
                vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign, finiteOrZero8(_mm256_loadu_ps(row + i))));
            float lanes[8];
            _mm256_storeu_ps(lanes, vmax);
            for (int l = 0; l < 8; l++) amax = lanes[l] > amax ? lanes[l] : amax;
            for (; i < k; i++) {
                float a = fabsf(finiteOrZero(row[i]));
                amax = a > amax ? a : amax;
            }
        }
        float inverse;
        rowScale(amax, staticScale, &scales[r], &inverse);
        const __m256 vinv = _mm256_set1_ps(inverse);
        short *out = q + r * kp;
        for (i = 0; i + 16 <= k; i += 16) {
            __m256 a = _mm256_mul_ps(finiteOrZero8(_mm256_loadu_ps(row + i)), vinv);
            __m256 b = _mm256_mul_ps(finiteOrZero8(_mm256_loadu_ps(row + i + 8)), vinv);
            a = _mm256_min_ps(_mm256_max_ps(a, lo), hi);
            b = _mm256_min_ps(_mm256_max_ps(b, lo), hi);
            // cvtps rounds half to even (the default MXCSR mode), as nearbyintf does.
            __m256i packed = _mm256_packs_epi32(_mm256_cvtps_epi32(a), _mm256_cvtps_epi32(b));
            packed = _mm256_permute4x64_epi64(packed, 0xD8);  // packs works per 128-bit lane
            _mm256_storeu_si256((__m256i *)(out + i), packed);
        }
        for (; i < k; i++) out[i] = quantizeOne(row[i], inverse);
        if (kp > k) out[k] = 0;
    }
}
#endif

void CModelwireKernels_quantizeRows(int useAVX2, const float *x, long m, long k, long ldx, float staticScale,
                                    short *q, float *scales) {
#if CMW_QX86
    if (haveAVX2(useAVX2)) {
        quantizeRowsAVX2(x, m, k, ldx, staticScale, q, scales);
        return;
    }
#endif
    quantizeRowsPortable(x, m, k, ldx, staticScale, q, scales);
}

// v = rowScale * colScale * acc + bias, then relu: the one formula both paths follow, step by step.
static inline float dequantize(int acc, float rowScale, float colScale, float bias, int relu) {
    float scale = rowScale * colScale;
    float v = (float)acc * scale;
    v = v + bias;
    return relu ? (v > 0.0f ? v : 0.0f) : v;
}

static void qgemmPortable(long m, long n, long k, const short *q, const float *rowScales, const short *packed,
                          const float *colScales, const float *bias, int relu, float *out, long ldo) {
    long pairs = (k + 1) / 2, kp = 2 * pairs;
    for (long r = 0; r < m; r++) {
        const short *row = q + r * kp;
        for (long j = 0; j < n; j++) {
            const short *w = packed + ((j / QPANEL) * pairs * QPANEL + j % QPANEL) * 2;
            // Unsigned arithmetic wraps as vpaddd does; within the documented bound it never does.
            unsigned acc = 0;
            for (long p = 0; p < pairs; p++, w += 2 * QPANEL)
                acc += (unsigned)(row[2 * p] * w[0] + row[2 * p + 1] * w[1]);
            out[r * ldo + j] = dequantize((int)acc, rowScales[r], colScales[j], bias ? bias[j] : 0.0f, relu);
        }
    }
}

#if CMW_QX86
// One tile: rows r0 ..< r0 + mr (mr <= QMR), panels p0 ..< p0 + np (np <= QNP). Inlined with
// constant mr and np, so the accumulators stay in registers.
__attribute__((target("avx2"), always_inline))
static inline void qtileAVX2(int mr, int np, long pairs, long kp, const short *q, long r0, const short *packed,
                             long p0, long n, const float *rowScales, const float *colScales, const float *bias,
                             int relu, float *out, long ldo) {
    __m256i acc[QMR][QNP];
    for (int i = 0; i < mr; i++)
        for (int c = 0; c < np; c++) acc[i][c] = _mm256_setzero_si256();
    const short *w[QNP];
    for (int c = 0; c < np; c++) w[c] = packed + (p0 + c) * pairs * QPANEL * 2;
    for (long p = 0; p < pairs; p++) {
        __m256i wv[QNP];
        for (int c = 0; c < np; c++) wv[c] = _mm256_loadu_si256((const __m256i *)(w[c] + p * QPANEL * 2));
        for (int i = 0; i < mr; i++) {
            int pair;
            memcpy(&pair, q + (r0 + i) * kp + 2 * p, sizeof pair);
            __m256i xv = _mm256_set1_epi32(pair);
            for (int c = 0; c < np; c++) acc[i][c] = _mm256_add_epi32(acc[i][c], _mm256_madd_epi16(xv, wv[c]));
        }
    }
    for (int c = 0; c < np; c++) {
        long j0 = (p0 + c) * QPANEL, cols = n - j0 < QPANEL ? n - j0 : QPANEL;
        float cs[QPANEL] = {0}, bs[QPANEL] = {0};
        memcpy(cs, colScales + j0, (size_t)cols * sizeof(float));
        if (bias) memcpy(bs, bias + j0, (size_t)cols * sizeof(float));
        __m256 vcs = _mm256_loadu_ps(cs), vbs = _mm256_loadu_ps(bs);
        for (int i = 0; i < mr; i++) {
            __m256 scale = _mm256_mul_ps(_mm256_set1_ps(rowScales[r0 + i]), vcs);
            __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[i][c]), scale), vbs);
            if (relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
            float *dst = out + (r0 + i) * ldo + j0;
            if (cols == QPANEL) {
                _mm256_storeu_ps(dst, v);
            } else {
                float lanes[QPANEL];
                _mm256_storeu_ps(lanes, v);
                memcpy(dst, lanes, (size_t)cols * sizeof(float));
            }
        }
    }
}

__attribute__((target("avx2")))
static void qgemmAVX2(long m, long n, long k, const short *q, const float *rowScales, const short *packed,
                      const float *colScales, const float *bias, int relu, float *out, long ldo) {
    long pairs = (k + 1) / 2, kp = 2 * pairs, panels = (n + QPANEL - 1) / QPANEL;
    for (long r = 0; r < m; r += QMR) {
        long mr = m - r < QMR ? m - r : QMR;
        for (long p = 0; p < panels; p += QNP) {
            long np = panels - p < QNP ? panels - p : QNP;
#define CMW_TILE(MR, NP) qtileAVX2(MR, NP, pairs, kp, q, r, packed, p, n, rowScales, colScales, bias, relu, out, ldo)
            switch (mr * 10 + np) {
            case 42: CMW_TILE(4, 2); break;
            case 41: CMW_TILE(4, 1); break;
            case 32: CMW_TILE(3, 2); break;
            case 31: CMW_TILE(3, 1); break;
            case 22: CMW_TILE(2, 2); break;
            case 21: CMW_TILE(2, 1); break;
            case 12: CMW_TILE(1, 2); break;
            default: CMW_TILE(1, 1); break;
            }
#undef CMW_TILE
        }
    }
}
#endif

void CModelwireKernels_qgemm(int useAVX2, long m, long n, long k, const short *q, const float *rowScales,
                             const short *packed, const float *colScales, const float *bias, int relu, float *out,
                             long ldo) {
#if CMW_QX86
    if (haveAVX2(useAVX2)) {
        qgemmAVX2(m, n, k, q, rowScales, packed, colScales, bias, relu, out, ldo);
        return;
    }
#endif
    qgemmPortable(m, n, k, q, rowScales, packed, colScales, bias, relu, out, ldo);
}
