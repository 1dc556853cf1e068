// AVX2 + FMA + F16C dot products. Per block the integer products are exact (vpmaddubsw pairs
// fit in 16 bits for every type here); they are scaled and summed in F32 vector lanes, and
// the lanes are added up once per row.
#include "CPUKernels.h"
#include "common.h"

#ifdef LLCL_AVX2

/// F16C's conversion: one instruction, where the portable one branches.
static inline float half_f16c(uint16_t h) { return _cvtsh_ss(h); }

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Σ of u8·s8 products in 8 int32 lanes (pairs by vpmaddubsw, then pairs of pairs).
static inline __m256i dot_u8s8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

float llcl_dot_q4_0_q8_0(int n, const void *w, const int8_t *qs, const float *d, const int32_t *sums) {
    const block_q4_0 *x = w;
    const __m256i low4 = _mm256_set1_epi8(0xF);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float offset = 0;
    const int nb = n / 32;
    int b = 0;
    for (; b + 1 < nb; b += 2) {
        for (int k = 0; k < 2; k++) {
            const __m128i raw = _mm_loadu_si128((const __m128i *)x[b + k].qs);
            // low nibbles are elements 0..15, high nibbles 16..31
            const __m256i nib = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), low4);
            const __m256i a = _mm256_loadu_si256((const __m256i *)(qs + 32 * (b + k)));
            const float scale = half_f16c(x[b + k].d) * d[b + k];
            const __m256 p = _mm256_cvtepi32_ps(dot_u8s8(nib, a));
            if (k == 0) acc0 = _mm256_fmadd_ps(_mm256_set1_ps(scale), p, acc0);
            else acc1 = _mm256_fmadd_ps(_mm256_set1_ps(scale), p, acc1);
            offset += scale * (float)sums[b + k];
        }
    }
    float tail = 0;
    if (b < nb) tail = llcl_dot_q4_0_q8_0_portable(32, &x[b], qs + 32 * b, d + b, sums + b);
    // nibbles carry +8: Σ scale·(Σ n·a − 8·Σ a)
    return hsum(_mm256_add_ps(acc0, acc1)) - 8 * offset + tail;
}

float llcl_dot_q8_0_q8_0(int n, const void *w, const int8_t *qs, const float *d) {
    const block_q8_0 *x = w;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const int nb = n / 32;
    int b = 0;
    for (; b + 1 < nb; b += 2) {
        for (int k = 0; k < 2; k++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)x[b + k].qs);
            const __m256i a = _mm256_loadu_si256((const __m256i *)(qs + 32 * (b + k)));
            // s8·s8 through u8·s8: |q|·(a with q's sign)
            const __m256 p = _mm256_cvtepi32_ps(dot_u8s8(_mm256_sign_epi8(q, q), _mm256_sign_epi8(a, q)));
            const __m256 scale = _mm256_set1_ps(half_f16c(x[b + k].d) * d[b + k]);
            if (k == 0) acc0 = _mm256_fmadd_ps(scale, p, acc0);
            else acc1 = _mm256_fmadd_ps(scale, p, acc1);
        }
    }
    float tail = 0;
    if (b < nb) tail = llcl_dot_q8_0_q8_0_portable(32, &x[b], qs + 32 * b, d + b);
    return hsum(_mm256_add_ps(acc0, acc1)) + tail;
}

float llcl_dot_q4_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums) {
    const block_q4_K *x = w;
    const __m256i low4 = _mm256_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    float mins = 0;
    for (int b = 0; b < n / 256; b++) {
        const int8_t *a = qs + 256 * b;
        const int16_t *bs = bsums + 16 * b;
        uint8_t sc[8], m[8];
        int32_t summ = 0;
        for (int sb = 0; sb < 8; sb++) {
            llcl_scale_min_k4(sb, x[b].scales, &sc[sb], &m[sb]);
            summ += m[sb] * (bs[2 * sb] + bs[2 * sb + 1]);
        }
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * c));
            const __m256i lo = _mm256_and_si256(q, low4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
            const __m256i p_lo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(a + 64 * c)));
            const __m256i p_hi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(a + 64 * c + 32)));
            // pairs of 16-bit products times the sub-block scale, widened to 32 bits
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_lo, _mm256_set1_epi16(sc[2 * c])));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_hi, _mm256_set1_epi16(sc[2 * c + 1])));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d[b] * half_f16c(x[b].d)), _mm256_cvtepi32_ps(sumi), acc);
        mins += d[b] * half_f16c(x[b].dmin) * (float)summ;
    }
    return hsum(acc) - mins;
}

float llcl_dot_q6_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums) {
    const block_q6_K *x = w;
    const __m256i low4 = _mm256_set1_epi8(0xF), two = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < n / 256; b++) {
        const int8_t *a = qs + 256 * b;
        const int16_t *bs = bsums + 16 * b;
        const int8_t *sc = x[b].scales;
        int32_t offset = 0;
        for (int g = 0; g < 16; g++) offset += sc[g] * bs[g];
        __m256i sumi = _mm256_setzero_si256();
        for (int half = 0; half < 2; half++) {
            const __m256i qa = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * half));
            const __m256i qb = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * half + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)(x[b].qh + 32 * half));
            // four quarters of 32 values, 6 bits each (0..63, the +32 offset is removed later)
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(qa, low4), _mm256_slli_epi16(_mm256_and_si256(h, two), 4)),
                _mm256_or_si256(_mm256_and_si256(qb, low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), two), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), two), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), two), 4)),
            };
            for (int k = 0; k < 4; k++) {
                const __m256i p = _mm256_maddubs_epi16(q[k], _mm256_loadu_si256((const __m256i *)(a + 128 * half + 32 * k)));
                // the low 128-bit lane holds values 0..15 of the quarter (one scale), the high lane 16..31
                const int g = 8 * half + 2 * k;
                const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[g + 1]), _mm_set1_epi16(sc[g]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale));
            }
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_set_epi32(0, 0, 0, 0, 0, 0, 0, 32 * offset));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d[b] * half_f16c(x[b].d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum(acc);
}

float llcl_dot_f16_f32(int n, const uint16_t *w, const float *x) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int k = 0; k < 4; k++) {
            const __m256 wv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8 * k)));
            acc[k] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + i + 8 * k), acc[k]);
        }
    }
    float s = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++) s += half_f16c(w[i]) * x[i];
    return s;
}

#else  // no AVX2: the portable kernels are the kernels

float llcl_dot_q4_0_q8_0(int n, const void *w, const int8_t *qs, const float *d, const int32_t *sums) { return llcl_dot_q4_0_q8_0_portable(n, w, qs, d, sums); }
float llcl_dot_q8_0_q8_0(int n, const void *w, const int8_t *qs, const float *d) { return llcl_dot_q8_0_q8_0_portable(n, w, qs, d); }
float llcl_dot_q4_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums) { return llcl_dot_q4_K_q8_K_portable(n, w, qs, d, bsums); }
float llcl_dot_q6_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums) { return llcl_dot_q6_K_q8_K_portable(n, w, qs, d, bsums); }
float llcl_dot_f16_f32(int n, const uint16_t *w, const float *x) { return llcl_dot_f16_f32_portable(n, w, x); }

#endif
