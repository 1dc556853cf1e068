// Shared by the kernel files: block layouts (as GGUF/ggml define them) and half → float.
#ifndef LLAMACL_CPU_KERNELS_COMMON_H
#define LLAMACL_CPU_KERNELS_COMMON_H

#include <stdint.h>
#include <string.h>
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define LLCL_AVX2 1
#endif

#ifdef LLCL_AVX2
/// The sum of eight int32 lanes.
static inline int32_t hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}
#endif

typedef struct { uint16_t d; uint8_t qs[16]; } block_q4_0;                 // 18 bytes
typedef struct { uint16_t d, m; uint8_t qs[16]; } block_q4_1;              // 20 bytes
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } block_q5_0;  // 22 bytes
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } block_q5_1; // 24 bytes
typedef struct { uint16_t d; int8_t qs[32]; } block_q8_0;                  // 34 bytes
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } block_q4_K;  // 144 bytes
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } block_q5_K;  // 176 bytes
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } block_q6_K; // 210 bytes

_Static_assert(sizeof(block_q4_0) == 18, "Q4_0 block");
_Static_assert(sizeof(block_q4_1) == 20, "Q4_1 block");
_Static_assert(sizeof(block_q5_0) == 22, "Q5_0 block");
_Static_assert(sizeof(block_q5_1) == 24, "Q5_1 block");
_Static_assert(sizeof(block_q8_0) == 34, "Q8_0 block");
_Static_assert(sizeof(block_q5_K) == 176, "Q5_K block");
_Static_assert(sizeof(block_q4_K) == 144, "Q4_K block");
_Static_assert(sizeof(block_q6_K) == 210, "Q6_K block");

/// IEEE half → float, exact for every value (subnormals, infinities, NaN).
static inline float llcl_half(uint16_t h) {
    uint32_t magnitude = (uint32_t)(h & 0x7FFF) << 13;
    uint32_t bits;
    if (magnitude >= 0x0F800000u) {
        bits = magnitude | 0x7F800000u;  // infinity or NaN
    } else {
        float scaled; memcpy(&scaled, &magnitude, 4);
        scaled *= 0x1p112f;              // rebias the exponent; subnormals come out right too
        memcpy(&bits, &scaled, 4);
    }
    bits |= (uint32_t)(h & 0x8000) << 16;
    float f; memcpy(&f, &bits, 4);
    return f;
}

/// Round to the nearest F16 value and back (round half to even), as llama.cpp stores the Q8_0 scale.
static inline float llcl_round_to_half(float x) {
#ifdef LLCL_AVX2
    return _cvtsh_ss(_cvtss_sh(x, 0));
#else
    _Float16 h = (_Float16)x;
    return (float)h;
#endif
}

/// Q4_K packs eight 6-bit (scale, min) pairs into 12 bytes.
static inline void llcl_scale_min_k4(int j, const uint8_t *q, uint8_t *scale, uint8_t *min) {
    if (j < 4) {
        *scale = q[j] & 63; *min = q[j + 4] & 63;
    } else {
        *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/// All eight (scale, min) pairs of a Q4_K block at once, by 32-bit word operations on the
/// 12 packed bytes: bytes 0–3 hold the low 6 bits of scales 0–3 (top 2 bits: high bits of
/// scales 4–7), bytes 4–7 the same for mins, bytes 8–11 the low 4 bits of scales 4–7 (low
/// nibbles) and mins 4–7 (high nibbles). Same results as llcl_scale_min_k4 for every j.
static inline void llcl_scales_mins_k4(const uint8_t *q, uint8_t scales[8], uint8_t mins[8]) {
    uint32_t word[3];
    memcpy(word, q, 12);
    const uint32_t low6 = 0x3F3F3F3Fu, low4 = 0x0F0F0F0Fu, low2 = 0x03030303u;
    const uint32_t out[4] = {
        word[0] & low6,                                          // scales 0..3
        (word[2] & low4) | (((word[0] >> 6) & low2) << 4),       // scales 4..7
        word[1] & low6,                                          // mins 0..3
        ((word[2] >> 4) & low4) | (((word[1] >> 6) & low2) << 4) // mins 4..7
    };
    memcpy(scales, out, 8);
    memcpy(mins, out + 2, 8);
}

#endif
