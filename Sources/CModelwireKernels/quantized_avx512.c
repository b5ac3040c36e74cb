// The AVX-512 VNNI int8 kernel: `vpdpbusd` on zmm registers (16 columns of four products each per
// instruction), tiles of 6 rows x 32 columns, masked loads and stores for partial rows and tiles.
// Exact int32 sums and the shared dequantisation order, so its outputs equal the other kernels'.
#include "quantized_avx512.h"

#include <stdint.h>
#include <string.h>

// ZBUFFER: the widest row standardised once into a stack buffer (wider rows are standardised twice).
enum { ZMR = 6, ZNP = 2, ZPANEL = 16, ZBUFFER = 1024 };

static long quads(long k) { return (k + 3) / 4; }
static long panels(long n) { return (n + ZPANEL - 1) / ZPANEL; }

long cmw_qpackedBytesAVX512(long k, long n) { return panels(n) * ZPANEL * (quads(k) * 4 + 4); }

void cmw_qpackAVX512(const signed char *w, long k, long n, signed char *packed) {
    for (long panel = 0; panel < panels(n); panel++)
        for (long p = 0; p < quads(k); p++)
            for (long c = 0; c < ZPANEL; c++)
                for (long t = 0; t < 4; t++) {
                    long i = 4 * p + t, j = panel * ZPANEL + c;
                    packed[((panel * quads(k) + p) * ZPANEL + c) * 4 + t] = (i < k && j < n) ? w[i * n + j] : 0;
                }
    int32_t *sums = (int32_t *)(packed + panels(n) * ZPANEL * quads(k) * 4);
    for (long j = 0; j < panels(n) * ZPANEL; j++) {
        int32_t sum = 0;
        for (long i = 0; j < n && i < k; i++) sum += w[i * n + j];
        sums[j] = sum;
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define CMW_Z "avx512f,avx512bw,avx512vl,avx512vnni"

int cmw_hasAVX512VNNI(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
}

static inline __mmask16 tailMask(long count) { return count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1); }

// 16 values of a row from i (masked to `mask`, the rest 0), standardised when asked.
__attribute__((target(CMW_Z))) static inline __m512 load16(__mmask16 mask, const float *row, long i,
                                                           const float *mean, const float *inverseScale) {
    __m512 v = _mm512_maskz_loadu_ps(mask, row + i);
    if (!mean) return v;
    return _mm512_mul_ps(_mm512_sub_ps(v, _mm512_maskz_loadu_ps(mask, mean + i)),
                         _mm512_maskz_loadu_ps(mask, inverseScale + i));
}

// Folds 16 values' finite |v| into a running maximum of float bits (non-finite count as 0).
__attribute__((target(CMW_Z))) static inline __m512i foldLargest(__m512i vmax, __m512 v) {
    __m512i bits = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff));
    __mmask16 finite = _mm512_cmpgt_epi32_mask(_mm512_set1_epi32(0x7f800000), bits);
    return _mm512_mask_max_epi32(vmax, finite, vmax, bits);
}

__attribute__((target(CMW_Z))) static inline float largestLane(__m512i vmax) {
    int32_t top = _mm512_reduce_max_epi32(vmax);
    float amax;
    memcpy(&amax, &top, sizeof amax);
    return amax;
}

// 16 values as bytes q + 128: max/min return their second operand for NaN, so NaN clamps to -127
// (as in every kernel).
__attribute__((target(CMW_Z))) static inline __m128i quantizeBytes(__m512 v, __m512 inverse) {
    v = _mm512_max_ps(_mm512_mul_ps(v, inverse), _mm512_set1_ps(-127.0f));
    __m512i q = _mm512_cvtps_epi32(_mm512_min_ps(v, _mm512_set1_ps(127.0f)));
    return _mm512_cvtusepi32_epi8(_mm512_add_epi32(q, _mm512_set1_epi32(128)));
}

__attribute__((target(CMW_Z)))
void cmw_quantizeRowsAVX512(const float *x, long m, long k, long ldx, const float *mean, const float *inverseScale,
                            const float *largest, float staticScale, unsigned char *q, float *scales) {
    long stride = 4 * quads(k), full = k & ~15L;
    // A standardised row that needs its largest |v| first is standardised once, into `buffer`.
    float buffer[ZBUFFER] __attribute__((aligned(64)));
    const int buffered = mean && staticScale <= 0 && !largest && k <= ZBUFFER;
    const __mmask16 tail = tailMask(k - full);
    for (long r = 0; r < m; r++) {
        const float *row = x + r * ldx;
        float amax = 0.0f;
        if (staticScale <= 0 && largest) {
            amax = largest[r];
        } else if (staticScale <= 0) {
            __m512i vmax = _mm512_setzero_si512();
            for (long i = 0; i < k; i += 16) {
                __m512 v = load16(i < full ? 0xFFFF : tail, row, i, mean, inverseScale);
                if (buffered) _mm512_store_ps(buffer + i, v);
                vmax = foldLargest(vmax, v);
            }
            amax = largestLane(vmax);
        }
        if (buffered) row = buffer;
        const float *rowMean = buffered ? NULL : mean;
        float inverse;
        cmw_rowScale(amax, staticScale, &scales[r], &inverse);
        const __m512 vinv = _mm512_set1_ps(inverse);
        unsigned char *out = q + r * stride;
        long i = 0;
        for (; i < full; i += 16) _mm_storeu_si128((__m128i *)(out + i), quantizeBytes(load16(0xFFFF, row, i, rowMean, inverseScale), vinv));
        if (i < stride) {  // the last values, then the pad 128 (q = 0)
            __m128i bytes = quantizeBytes(load16(tail, row, i, rowMean, inverseScale), vinv);
            bytes = _mm_mask_blend_epi8(tail, _mm_set1_epi8((char)128), bytes);
            _mm_mask_storeu_epi8(out + i, tailMask(stride - i), bytes);
        }
    }
}

// One tile: rows r0 ..< r0 + mr, panels p0 ..< p0 + np; inlined with constant mr and np.
__attribute__((target(CMW_Z), always_inline))
static inline void tile(int mr, int np, long k, const unsigned char *q, long r0, const signed char *packed, long p0,
                        long n, const float *rowScales, const float *colScales, const float *bias, int relu,
                        float *out, long ldo, __m512i vmax[ZMR]) {
    long count = quads(k), stride = 4 * count;
    __m512i acc[ZMR][ZNP];
    for (int i = 0; i < mr; i++)
        for (int c = 0; c < np; c++) acc[i][c] = _mm512_setzero_si512();
    const signed char *w[ZNP];
    for (int c = 0; c < np; c++) w[c] = packed + (p0 + c) * count * ZPANEL * 4;
    for (long p = 0; p < count; p++) {
        __m512i wv[ZNP];
        for (int c = 0; c < np; c++) wv[c] = _mm512_loadu_si512(w[c] + p * ZPANEL * 4);
        for (int i = 0; i < mr; i++) {
            int32_t group;
            memcpy(&group, q + (r0 + i) * stride + 4 * p, sizeof group);
            __m512i xv = _mm512_set1_epi32(group);
            for (int c = 0; c < np; c++) acc[i][c] = _mm512_dpbusd_epi32(acc[i][c], xv, wv[c]);
        }
    }
    const int32_t *sums = (const int32_t *)(packed + panels(n) * ZPANEL * count * 4);
    for (int c = 0; c < np; c++) {
        long j0 = (p0 + c) * ZPANEL;
        __mmask16 mask = tailMask(n - j0);
        __m512i correction = _mm512_slli_epi32(_mm512_loadu_si512(sums + j0), 7);
        __m512 vcs = _mm512_maskz_loadu_ps(mask, colScales + j0);
        __m512 vbs = bias ? _mm512_maskz_loadu_ps(mask, bias + j0) : _mm512_setzero_ps();
        for (int i = 0; i < mr; i++) {
            __m512 scale = _mm512_mul_ps(_mm512_set1_ps(rowScales[r0 + i]), vcs);
            __m512i sum = _mm512_sub_epi32(acc[i][c], correction);
            __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(sum), scale), vbs);
            if (relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
            vmax[i] = foldLargest(vmax[i], _mm512_maskz_mov_ps(mask, v));
            _mm512_mask_storeu_ps(out + (r0 + i) * ldo + j0, mask, v);
        }
    }
}

#define CMW_ZTILE(MR, NP) tile(MR, NP, k, q, r, packed, p, n, rowScales, colScales, bias, relu, out, ldo, vmax)

__attribute__((target(CMW_Z)))
void cmw_qgemmAVX512(long m, long n, long k, const unsigned char *q, const float *rowScales,
                     const signed char *packed, const float *colScales, const float *bias, int relu, float *out,
                     long ldo, float *largest) {
    for (long r = 0; r < m; r += ZMR) {
        long mr = m - r < ZMR ? m - r : ZMR;
        __m512i vmax[ZMR];
        for (int i = 0; i < ZMR; i++) vmax[i] = _mm512_setzero_si512();
        for (long p = 0; p < panels(n); p += ZNP) {
            int two = panels(n) - p >= ZNP;
            switch (mr) {
            case 6: if (two) CMW_ZTILE(6, 2); else CMW_ZTILE(6, 1); break;
            case 5: if (two) CMW_ZTILE(5, 2); else CMW_ZTILE(5, 1); break;
            case 4: if (two) CMW_ZTILE(4, 2); else CMW_ZTILE(4, 1); break;
            case 3: if (two) CMW_ZTILE(3, 2); else CMW_ZTILE(3, 1); break;
            case 2: if (two) CMW_ZTILE(2, 2); else CMW_ZTILE(2, 1); break;
            default: if (two) CMW_ZTILE(1, 2); else CMW_ZTILE(1, 1); break;
            }
        }
        if (largest)
            for (long i = 0; i < mr; i++) largest[r + i] = largestLane(vmax[i]);
    }
}
#undef CMW_ZTILE

#else
int cmw_hasAVX512VNNI(void) { return 0; }
void cmw_quantizeRowsAVX512(const float *x, long m, long k, long ldx, const float *mean, const float *inverseScale,
                            const float *largest, float staticScale, unsigned char *q, float *scales) {}
void cmw_qgemmAVX512(long m, long n, long k, const unsigned char *q, const float *rowScales,
                     const signed char *packed, const float *colScales, const float *bias, int relu, float *out,
                     long ldo, float *largest) {}
#endif
