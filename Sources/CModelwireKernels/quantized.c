#include "CModelwireQuantizedKernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CMW_QX86 1
#else
#define CMW_QX86 0
#endif

// A register tile is QMR rows x QNP panels of 8 columns: 8 int32 accumulators, 2 weight vectors and
// a broadcast group of the row (11 of the 16 ymm registers).
enum { QMR = 4, QNP = 2, QPANEL = 8 };

int CModelwireKernels_qkernel(int preferred) {
#if CMW_QX86 && (defined(__clang__) || defined(__GNUC__))
    int avx2 = __builtin_cpu_supports("avx2");
    if (preferred >= CModelwireKernels_qVNNI && avx2 && __builtin_cpu_supports("avxvnni")) return CModelwireKernels_qVNNI;
    if (preferred >= CModelwireKernels_qAVX2 && avx2) return CModelwireKernels_qAVX2;
#endif
    (void)preferred;
    return CModelwireKernels_qPortable;
}

// Layouts. AVX2 and portable: int16, k in pairs; each panel holds, for every pair (2p, 2p + 1), its
// 8 columns' two values side by side. VNNI: bytes, k in groups of four, likewise; then one int32
// column sum per (padded) column.
static long pairs(long k) { return (k + 1) / 2; }
static long quads(long k) { return (k + 3) / 4; }
static long panels(long n) { return (n + QPANEL - 1) / QPANEL; }

long CModelwireKernels_qpackedBytes(int kernel, long k, long n) {
    if (kernel == CModelwireKernels_qVNNI) return panels(n) * QPANEL * (quads(k) * 4 + 4);
    return panels(n) * QPANEL * pairs(k) * 2 * 2;
}

long CModelwireKernels_qrowBytes(int kernel, long k) {
    return kernel == CModelwireKernels_qVNNI ? quads(k) * 4 : pairs(k) * 2 * 2;
}

void CModelwireKernels_qpack(int kernel, const signed char *w, long k, long n, void *packed) {
    long groups = kernel == CModelwireKernels_qVNNI ? 4 : 2;
    long count = kernel == CModelwireKernels_qVNNI ? quads(k) : pairs(k);
    for (long panel = 0; panel < panels(n); panel++)
        for (long p = 0; p < count; p++)
            for (long c = 0; c < QPANEL; c++)
                for (long t = 0; t < groups; t++) {
                    long i = groups * p + t, j = panel * QPANEL + c;
                    long at = ((panel * count + p) * QPANEL + c) * groups + t;
                    signed char v = (i < k && j < n) ? w[i * n + j] : 0;
                    if (kernel == CModelwireKernels_qVNNI) ((signed char *)packed)[at] = v;
                    else ((int16_t *)packed)[at] = v;
                }
    if (kernel == CModelwireKernels_qVNNI) {
        int32_t *sums = (int32_t *)((signed char *)packed + panels(n) * QPANEL * quads(k) * 4);
        for (long j = 0; j < panels(n) * QPANEL; j++) {
            int32_t sum = 0;
            for (long i = 0; j < n && i < k; i++) sum += w[i * n + j];
            sums[j] = sum;
        }
    }
}

// The row's scale and its inverse, from the row's largest finite |x| (scalar in every kernel).
static void rowScale(float amax, float staticScale, float *scale, float *inverse) {
    if (staticScale > 0) {
        *scale = staticScale;
        *inverse = 1.0f / staticScale;
    } else if (amax > 0) {
        *scale = amax * (1.0f / 127.0f);
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

// v / s clamped to [-127, 127] and rounded half to even; NaN becomes -127 (as AVX2's max/min do).
static inline int quantizeOne(float v, float inverse) {
    float s = v * inverse;
    s = s > -127.0f ? s : -127.0f;
    s = s < 127.0f ? s : 127.0f;
    return (int)nearbyintf(s);
}

// The value quantizeRows quantizes: standardised when asked.
static inline float standardised(const float *row, long i, const float *mean, const float *inverseScale) {
    if (!mean) return row[i];
    float v = row[i] - mean[i];
    return v * inverseScale[i];
}

// The largest finite |v| of a row (max is order-independent: every kernel finds the same).
static float largestPortable(const float *row, long k, const float *mean, const float *inverseScale) {
    float amax = 0.0f;
    for (long i = 0; i < k; i++) {
        float a = fabsf(finiteOrZero(standardised(row, i, mean, inverseScale)));
        amax = a > amax ? a : amax;
    }
    return amax;
}

static void quantizeRowsPortable(const float *x, long m, long k, long ldx, const float *mean,
                                 const float *inverseScale, const float *largest, float staticScale, int16_t *q,
                                 float *scales) {
    long stride = 2 * pairs(k);
    for (long r = 0; r < m; r++) {
        const float *row = x + r * ldx;
        float amax = staticScale > 0 ? 0.0f : largest ? largest[r] : largestPortable(row, k, mean, inverseScale);
        float inverse;
        rowScale(amax, staticScale, &scales[r], &inverse);
        int16_t *out = q + r * stride;
        for (long i = 0; i < k; i++) out[i] = (int16_t)quantizeOne(standardised(row, i, mean, inverseScale), inverse);
        for (long i = k; i < stride; i++) out[i] = 0;
    }
}

// v = rowScale * colScale * acc + bias, then relu: the one formula every kernel follows, step by step.
static inline float dequantize(int32_t acc, float rowScale, float colScale, float bias, int relu) {
    float scale = rowScale * colScale;
    float v = (float)acc * scale;
    v = v + bias;
    return relu ? (v > 0.0f ? v : 0.0f) : v;
}

static void qgemmPortable(long m, long n, long k, const int16_t *q, const float *rowScales, const int16_t *packed,
                          const float *colScales, const float *bias, int relu, float *out, long ldo, float *largest) {
    long count = pairs(k), stride = 2 * count;
    for (long r = 0; r < m; r++) {
        const int16_t *row = q + r * stride;
        for (long j = 0; j < n; j++) {
            const int16_t *w = packed + ((j / QPANEL) * count * QPANEL + j % QPANEL) * 2;
            // Unsigned arithmetic wraps as vpaddd does; within the documented bound it never does.
            uint32_t acc = 0;
            for (long p = 0; p < count; p++, w += 2 * QPANEL)
                acc += (uint32_t)(row[2 * p] * w[0] + row[2 * p + 1] * w[1]);
            out[r * ldo + j] = dequantize((int32_t)acc, rowScales[r], colScales[j], bias ? bias[j] : 0.0f, relu);
        }
        if (largest) largest[r] = largestPortable(out + r * ldo, n, NULL, NULL);
    }
}

#if CMW_QX86
// 8 values of a row from i, standardised when asked.
__attribute__((target("avx2"))) static inline __m256 load8(const float *row, long i, const float *mean,
                                                           const float *inverseScale) {
    __m256 v = _mm256_loadu_ps(row + i);
    if (!mean) return v;
    return _mm256_mul_ps(_mm256_sub_ps(v, _mm256_loadu_ps(mean + i)), _mm256_loadu_ps(inverseScale + i));
}

// Folds 8 values' finite |v| into a running maximum of float bits: |v| as integer bits orders as
// the floats do; non-finite bits (>= infinity's) are masked to 0.
__attribute__((target("avx2"))) static inline __m256i foldLargest(__m256i vmax, __m256 v) {
    __m256i bits = _mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x7fffffff));
    return _mm256_max_epi32(vmax, _mm256_and_si256(bits, _mm256_cmpgt_epi32(_mm256_set1_epi32(0x7f800000), bits)));
}

__attribute__((target("avx2"))) static inline float largestLane(__m256i vmax) {
    __m128i half = _mm_max_epi32(_mm256_castsi256_si128(vmax), _mm256_extracti128_si256(vmax, 1));
    half = _mm_max_epi32(half, _mm_shuffle_epi32(half, 0x4E));
    half = _mm_max_epi32(half, _mm_shuffle_epi32(half, 0xB1));
    int32_t top = _mm_cvtsi128_si32(half);
    float amax;
    memcpy(&amax, &top, sizeof amax);
    return amax;
}

// The row's largest finite |v|, as the portable loop finds it.
__attribute__((target("avx2"))) static float largestAVX2(const float *row, long k, const float *mean,
                                                         const float *inverseScale) {
    __m256i vmax = _mm256_setzero_si256();
    long i = 0;
    for (; i + 8 <= k; i += 8) vmax = foldLargest(vmax, load8(row, i, mean, inverseScale));
    float amax = largestLane(vmax);
    for (; i < k; i++) {
        float a = fabsf(finiteOrZero(standardised(row, i, mean, inverseScale)));
        amax = a > amax ? a : amax;
    }
    return amax;
}

// 8 values quantized to int32 lanes: max/min return their second operand for NaN, so NaN clamps
// to -127 as quantizeOne's comparisons do; cvtps rounds half to even, as nearbyintf does.
__attribute__((target("avx2"))) static inline __m256i quantize8(__m256 v, __m256 inverse) {
    __m256 a = _mm256_max_ps(_mm256_mul_ps(v, inverse), _mm256_set1_ps(-127.0f));
    return _mm256_cvtps_epi32(_mm256_min_ps(a, _mm256_set1_ps(127.0f)));
}

// 16 values of a row from i quantized to int16 lanes, in order.
__attribute__((target("avx2"))) static inline __m256i quantize16(const float *row, long i, const float *mean,
                                                                 const float *inverseScale, __m256 inverse) {
    __m256i packed = _mm256_packs_epi32(quantize8(load8(row, i, mean, inverseScale), inverse),
                                        quantize8(load8(row, i + 8, mean, inverseScale), inverse));
    return _mm256_permute4x64_epi64(packed, 0xD8);  // packs works per 128-bit lane
}

__attribute__((target("avx2")))
static void quantizeRowsAVX2(int bytes, const float *x, long m, long k, long ldx, const float *mean,
                             const float *inverseScale, const float *largest, float staticScale, void *q,
                             float *scales) {
    long stride = bytes ? 4 * quads(k) : 2 * pairs(k);
    for (long r = 0; r < m; r++) {
        const float *row = x + r * ldx;
        float amax = staticScale > 0 ? 0.0f : largest ? largest[r] : largestAVX2(row, k, mean, inverseScale);
        float inverse;
        rowScale(amax, staticScale, &scales[r], &inverse);
        const __m256 vinv = _mm256_set1_ps(inverse);
        long i = 0;
        if (bytes) {  // q + 128 as unsigned bytes, the pad 128 (q = 0)
            unsigned char *out = (unsigned char *)q + r * stride;
            for (; i + 16 <= k; i += 16) {
                __m256i v = _mm256_add_epi16(quantize16(row, i, mean, inverseScale, vinv), _mm256_set1_epi16(128));
                __m256i b = _mm256_permute4x64_epi64(_mm256_packus_epi16(v, v), 0x08);
                _mm_storeu_si128((__m128i *)(out + i), _mm256_castsi256_si128(b));
            }
            for (; i < k; i++)
                out[i] = (unsigned char)(quantizeOne(standardised(row, i, mean, inverseScale), inverse) + 128);
            for (; i < stride; i++) out[i] = 128;
        } else {
            int16_t *out = (int16_t *)q + r * stride;
            for (; i + 16 <= k; i += 16)
                _mm256_storeu_si256((__m256i *)(out + i), quantize16(row, i, mean, inverseScale, vinv));
            for (; i < k; i++) out[i] = (int16_t)quantizeOne(standardised(row, i, mean, inverseScale), inverse);
            for (; i < stride; i++) out[i] = 0;
        }
    }
}

// Dequantizes and stores a tile's sums (rows r0 ..< r0 + mr, panels p0 ..< p0 + np).
__attribute__((target("avx2"), always_inline))
// Each row's finite |out| is folded into vmax[row] (padded columns hold 0, which changes no maximum).
static inline void qstoreAVX2(int mr, int np, __m256i acc[QMR][QNP], long r0, long p0, long n, const float *rowScales,
                              const float *colScales, const float *bias, int relu, float *out, long ldo,
                              __m256i vmax[QMR]) {
    for (int c = 0; c < np; c++) {
        long j0 = (p0 + c) * QPANEL, cols = n - j0 < QPANEL ? n - j0 : QPANEL;
        __m256 vcs, vbs;
        if (cols == QPANEL) {
            vcs = _mm256_loadu_ps(colScales + j0);
            vbs = bias ? _mm256_loadu_ps(bias + j0) : _mm256_setzero_ps();
        } else {
            float cs[QPANEL] = {0}, bs[QPANEL] = {0};
            memcpy(cs, colScales + j0, (size_t)cols * sizeof(float));
            if (bias) memcpy(bs, bias + j0, (size_t)cols * sizeof(float));
            vcs = _mm256_loadu_ps(cs);
            vbs = _mm256_loadu_ps(bs);
        }
        for (int i = 0; i < mr; i++) {
            __m256 scale = _mm256_mul_ps(_mm256_set1_ps(rowScales[r0 + i]), vcs);
            __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[i][c]), scale), vbs);
            if (relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
            vmax[i] = foldLargest(vmax[i], v);
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

// One AVX2 tile, inlined with constant mr and np so the accumulators stay in registers.
__attribute__((target("avx2"), always_inline))
static inline void qtileAVX2(int mr, int np, long k, const int16_t *q, long r0, const int16_t *packed, long p0, long n,
                             const float *rowScales, const float *colScales, const float *bias, int relu, float *out,
                             long ldo, __m256i vmax[QMR]) {
    long count = pairs(k), stride = 2 * count;
    __m256i acc[QMR][QNP];
    for (int i = 0; i < mr; i++)
        for (int c = 0; c < np; c++) acc[i][c] = _mm256_setzero_si256();
    const int16_t *w[QNP];
    for (int c = 0; c < np; c++) w[c] = packed + (p0 + c) * count * QPANEL * 2;
    for (long p = 0; p < count; p++) {
        __m256i wv[QNP];
        for (int c = 0; c < np; c++) wv[c] = _mm256_loadu_si256((const __m256i *)(w[c] + p * QPANEL * 2));
        for (int i = 0; i < mr; i++) {
            int32_t pair;
            memcpy(&pair, q + (r0 + i) * stride + 2 * p, sizeof pair);
            __m256i xv = _mm256_set1_epi32(pair);
            for (int c = 0; c < np; c++) acc[i][c] = _mm256_add_epi32(acc[i][c], _mm256_madd_epi16(xv, wv[c]));
        }
    }
    qstoreAVX2(mr, np, acc, r0, p0, n, rowScales, colScales, bias, relu, out, ldo, vmax);
}

// One AVX-VNNI tile: sums of (q + 128) * w by fours, then 128 * the column sums taken off.
__attribute__((target("avx2,avxvnni"), always_inline))
static inline void qtileVNNI(int mr, int np, long k, const unsigned char *q, long r0, const signed char *packed,
                             long p0, long n, const float *rowScales, const float *colScales, const float *bias,
                             int relu, float *out, long ldo, __m256i vmax[QMR]) {
    long count = quads(k), stride = 4 * count;
    __m256i acc[QMR][QNP];
    for (int i = 0; i < mr; i++)
        for (int c = 0; c < np; c++) acc[i][c] = _mm256_setzero_si256();
    const signed char *w[QNP];
    for (int c = 0; c < np; c++) w[c] = packed + (p0 + c) * count * QPANEL * 4;
    for (long p = 0; p < count; p++) {
        __m256i wv[QNP];
        for (int c = 0; c < np; c++) wv[c] = _mm256_loadu_si256((const __m256i *)(w[c] + p * QPANEL * 4));
        for (int i = 0; i < mr; i++) {
            int32_t group;
            memcpy(&group, q + (r0 + i) * stride + 4 * p, sizeof group);
            __m256i xv = _mm256_set1_epi32(group);
            for (int c = 0; c < np; c++) acc[i][c] = _mm256_dpbusd_avx_epi32(acc[i][c], xv, wv[c]);
        }
    }
    const int32_t *sums = (const int32_t *)(packed + panels(n) * QPANEL * count * 4);
    for (int c = 0; c < np; c++) {
        __m256i offset = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(sums + (p0 + c) * QPANEL)), 7);
        for (int i = 0; i < mr; i++) acc[i][c] = _mm256_sub_epi32(acc[i][c], offset);
    }
    qstoreAVX2(mr, np, acc, r0, p0, n, rowScales, colScales, bias, relu, out, ldo, vmax);
}

#define CMW_TILE(TILE, MR, NP) \
    TILE(MR, NP, k, q, r, packed, p, n, rowScales, colScales, bias, relu, out, ldo, vmax)
#define CMW_QGEMM(NAME, TILE, QTYPE, WTYPE, TARGET)                                                            \
    __attribute__((target(TARGET))) static void NAME(long m, long n, long k, const QTYPE *q,                    \
                                                     const float *rowScales, const WTYPE *packed,              \
                                                     const float *colScales, const float *bias, int relu,      \
                                                     float *out, long ldo, float *largest) {                   \
        for (long r = 0; r < m; r += QMR) {                                                                     \
            long mr = m - r < QMR ? m - r : QMR;                                                                \
            __m256i vmax[QMR];                                                                                  \
            for (int i = 0; i < QMR; i++) vmax[i] = _mm256_setzero_si256();                                     \
            for (long p = 0; p < panels(n); p += QNP) {                                                         \
                long np = panels(n) - p < QNP ? panels(n) - p : QNP;                                            \
                switch (mr * 10 + np) {                                                                         \
                case 42: CMW_TILE(TILE, 4, 2); break;                                                           \
                case 41: CMW_TILE(TILE, 4, 1); break;                                                           \
                case 32: CMW_TILE(TILE, 3, 2); break;                                                           \
                case 31: CMW_TILE(TILE, 3, 1); break;                                                           \
                case 22: CMW_TILE(TILE, 2, 2); break;                                                           \
                case 21: CMW_TILE(TILE, 2, 1); break;                                                           \
                case 12: CMW_TILE(TILE, 1, 2); break;                                                           \
                default: CMW_TILE(TILE, 1, 1); break;                                                           \
                }                                                                                               \
            }                                                                                                   \
            if (largest)                                                                                        \
                for (long i = 0; i < mr; i++) largest[r + i] = largestLane(vmax[i]);                            \
        }                                                                                                       \
    }
CMW_QGEMM(qgemmAVX2, qtileAVX2, int16_t, int16_t, "avx2")
CMW_QGEMM(qgemmVNNI, qtileVNNI, unsigned char, signed char, "avx2,avxvnni")
#undef CMW_QGEMM
#undef CMW_TILE
#endif

void CModelwireKernels_quantizeRows(int kernel, const float *x, long m, long k, long ldx, const float *mean,
                                    const float *inverseScale, const float *largest, float staticScale, void *q,
                                    float *scales) {
    kernel = CModelwireKernels_qkernel(kernel);
    if (!inverseScale) mean = NULL;
#if CMW_QX86
    if (kernel != CModelwireKernels_qPortable) {
        quantizeRowsAVX2(kernel == CModelwireKernels_qVNNI, x, m, k, ldx, mean, inverseScale, largest, staticScale, q,
                         scales);
        return;
    }
#endif
    quantizeRowsPortable(x, m, k, ldx, mean, inverseScale, largest, staticScale, (int16_t *)q, scales);
}

void CModelwireKernels_qgemm(int kernel, long m, long n, long k, const void *q, const float *rowScales,
                             const void *packed, const float *colScales, const float *bias, int relu, float *out,
                             long ldo, float *largest) {
    kernel = CModelwireKernels_qkernel(kernel);
#if CMW_QX86
    if (kernel == CModelwireKernels_qVNNI) {
        qgemmVNNI(m, n, k, q, rowScales, packed, colScales, bias, relu, out, ldo, largest);
        return;
    }
    if (kernel == CModelwireKernels_qAVX2) {
        qgemmAVX2(m, n, k, q, rowScales, packed, colScales, bias, relu, out, ldo, largest);
        return;
    }
#endif
    qgemmPortable(m, n, k, q, rowScales, packed, colScales, bias, relu, out, ldo, largest);
}
