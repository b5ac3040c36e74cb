// Private to CModelwireKernels: the AVX-512 VNNI int8 kernel (quantized_avx512.c) and the one
// scalar rule every int8 kernel shares (quantized.c). See CModelwireQuantizedKernels.h.
#ifndef CMODELWIRE_QUANTIZED_AVX512_H
#define CMODELWIRE_QUANTIZED_AVX512_H

#include <math.h>

/// The row's scale and its inverse, from the row's largest finite |x|, or the static scale.
static inline void cmw_rowScale(float amax, float staticScale, float *scale, float *inverse) {
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

/// 1 when the CPU has AVX-512F, BW, VL and VNNI.
int cmw_hasAVX512VNNI(void);

/// The AVX-512 VNNI layout: panels of 16 columns, k in groups of four bytes, then one int32
/// column sum per (padded) column; rows as bytes q + 128 (as the AVX-VNNI layout).
void cmw_qpackAVX512(const signed char *w, long k, long n, signed char *packed);
long cmw_qpackedBytesAVX512(long k, long n);

/// `CModelwireKernels_quantizeRows` and `CModelwireKernels_qgemm` for that layout.
void cmw_quantizeRowsAVX512(const float *x, long m, long k, long ldx, const float *mean, const float *inverseScale,
                            const float *largest, float staticScale, unsigned char *q, float *scales);
void cmw_qgemmAVX512(long m, long n, long k, const unsigned char *q, const float *rowScales,
                     const signed char *packed, const float *colScales, const float *bias, int relu, float *out,
                     long ldo, float *largest);

#endif
