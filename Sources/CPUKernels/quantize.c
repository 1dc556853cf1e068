// Activation quantization, following llama.cpp's x86 numerics (see CPUKernels.h).
#include <math.h>
#include "CPUKernels.h"
#include "common.h"

/// Q8_0 (q8_1 = 0: sums = d·Σq with the F16 scale d) or Q8_1 (q8_1 = 1: sums = F16(amax/127 · Σq)).
static void quantize_q8_0_portable(const float *x, int n, int8_t *qs, float *d, float *sums, int stride, int q8_1) {
    for (int b = 0; b < n / 32; b++, x += 32, qs += 32) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        // The dot products use the scale as stored (F16); the multiplier is 127/amax, not 1/d.
        d[b * stride] = llcl_round_to_half(amax / 127.f);
        const float id = amax != 0 ? 127.f / amax : 0;
        int32_t sum = 0;
        for (int j = 0; j < 32; j++) {
            const int v = (int)nearbyintf(x[j] * id);  // default rounding: half to even
            qs[j] = (int8_t)v;
            sum += v;
        }
        // Q8_0: so that Q4_0 takes its +8 offset out with one multiply; Q8_1: llama.cpp's block_q8_1.s
        sums[b * stride] = q8_1 ? llcl_round_to_half(amax / 127.f * (float)sum) : d[b * stride] * (float)sum;
    }
}

static void quantize_q8_K_portable(const float *x, int n, int8_t *qs, float *d, int16_t *bsums, int stride) {
    for (int b = 0; b < n / 256; b++, x += 256, qs += 256, bsums += 16) {
        float amax = 0, extreme = 0;
        for (int j = 0; j < 256; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; extreme = x[j]; }
        }
        if (amax == 0) {
            d[b * stride] = 0;
            memset(qs, 0, 256);
            memset(bsums, 0, 16 * sizeof(int16_t));
            continue;
        }
        // Scaled from the signed extreme so that it maps to -127 exactly; +127 clamps.
        const float iscale = -127.f / extreme;
        for (int j = 0; j < 256; j++) {
            const int v = (int)nearbyintf(iscale * x[j]);
            qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += qs[16 * g + j];
            bsums[g] = (int16_t)sum;
        }
        d[b * stride] = 1 / iscale;
    }
}

#ifdef LLCL_AVX2
// The same in AVX2, eight values at a time: max and integer sums are exact whatever the order,
// products and roundings are the same operations, so the same bits as the loops above.

static inline float max_abs8(__m256 m) {
    __m128 v = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    v = _mm_max_ps(v, _mm_movehl_ps(v, v));
    v = _mm_max_ss(v, _mm_movehdup_ps(v));
    return _mm_cvtss_f32(v);
}

/// round-half-to-even(x · scale) for 8 values as int32 (nearbyintf in the default rounding mode).
static inline __m256i round_scaled(const float *x, __m256 scale) {
    return _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x), scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/// Four vectors of int32 in [-128, 127] → 32 bytes in order.
static inline __m256i pack_bytes(__m256i a, __m256i b, __m256i c, __m256i e) {
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, e));
    // the packs work within 128-bit lanes: dwords 0,4,1,5,2,6,3,7 back into order
    return _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static void quantize_q8_0_avx2(const float *x, int n, int8_t *qs, float *d, float *sums, int stride, int q8_1) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int b = 0; b < n / 32; b++, x += 32, qs += 32) {
        __m256 m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x));
        for (int j = 8; j < 32; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
        const float amax = max_abs8(m);
        d[b * stride] = llcl_round_to_half(amax / 127.f);
        const __m256 id = _mm256_set1_ps(amax != 0 ? 127.f / amax : 0);
        const __m256i v0 = round_scaled(x, id), v1 = round_scaled(x + 8, id), v2 = round_scaled(x + 16, id), v3 = round_scaled(x + 24, id);
        _mm256_storeu_si256((__m256i *)qs, pack_bytes(v0, v1, v2, v3));
        const int32_t sum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(v0, v1), _mm256_add_epi32(v2, v3)));
        sums[b * stride] = q8_1 ? llcl_round_to_half(amax / 127.f * (float)sum) : d[b * stride] * (float)sum;
    }
}

static void quantize_q8_K_avx2(const float *x, int n, int8_t *qs, float *d, int16_t *bsums, int stride) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int b = 0; b < n / 256; b++, x += 256, qs += 256, bsums += 16) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < 256; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
        const float amax = max_abs8(m);
        if (amax == 0) {
            d[b * stride] = 0;
            memset(qs, 0, 256);
            memset(bsums, 0, 16 * sizeof(int16_t));
            continue;
        }
        // the first value whose magnitude is the maximum, as the scalar scan finds it
        const __m256 target = _mm256_set1_ps(amax);
        float extreme = 0;
        for (int j = 0; j < 256; j += 8) {
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), target, _CMP_EQ_OQ));
            if (hit) { extreme = x[j + __builtin_ctz(hit)]; break; }
        }
        const float iscale = -127.f / extreme;
        const __m256 scale = _mm256_set1_ps(iscale);
        const __m256i top = _mm256_set1_epi32(127);
        for (int j = 0; j < 256; j += 32) {
            __m256i v[4];
            for (int k = 0; k < 4; k++) v[k] = _mm256_min_epi32(round_scaled(x + j + 8 * k, scale), top);
            _mm256_storeu_si256((__m256i *)(qs + j), pack_bytes(v[0], v[1], v[2], v[3]));
            bsums[j / 16] = (int16_t)hsum_i32(_mm256_add_epi32(v[0], v[1]));
            bsums[j / 16 + 1] = (int16_t)hsum_i32(_mm256_add_epi32(v[2], v[3]));
        }
        d[b * stride] = 1 / iscale;
    }
}
#endif

// AVX2 copies where the kernels in use are vector ones (so that tests can compare them with
// the loops above by choosing the portable variant).
void llcl_quantize_q8_0(const float *x, int n, int8_t *qs, float *d, float *sums, int stride) {
#ifdef LLCL_AVX2
    if (llcl_kernel_variant() > 0) { quantize_q8_0_avx2(x, n, qs, d, sums, stride, 0); return; }
#endif
    quantize_q8_0_portable(x, n, qs, d, sums, stride, 0);
}

void llcl_quantize_q8_1(const float *x, int n, int8_t *qs, float *d, float *sums, int stride) {
#ifdef LLCL_AVX2
    if (llcl_kernel_variant() > 0) { quantize_q8_0_avx2(x, n, qs, d, sums, stride, 1); return; }
#endif
    quantize_q8_0_portable(x, n, qs, d, sums, stride, 1);
}

void llcl_quantize_q8_K(const float *x, int n, int8_t *qs, float *d, int16_t *bsums, int stride) {
#ifdef LLCL_AVX2
    if (llcl_kernel_variant() > 0) { quantize_q8_K_avx2(x, n, qs, d, bsums, stride); return; }
#endif
    quantize_q8_K_portable(x, n, qs, d, bsums, stride);
}
