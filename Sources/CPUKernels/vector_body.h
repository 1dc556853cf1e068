// The vector kernels, included once per instruction-set variant (vector_avx2.c,
// vector_vnni.c) with VARIANT naming the exported functions and MAX_GROUP the largest token
// group. Per block the integer products are exact (vpmaddubsw pairs fit in 16 bits for every
// type here); they are scaled and summed in F32 vector lanes, and the lanes are added up once
// per row. Every variant performs the same float operations in the same order, so all give
// the same bits.
//
// Each kernel is written once for a group of G tokens (G = 1, 4 or 8) that share every
// unpacked weight block: prompts and batches unpack each weight once per group. A token's
// arithmetic is the same sequence whatever G is, so it gets the same bits alone or in a batch
// (batch invariance). ALWAYS_INLINE makes G a constant at each call site.

#define ALWAYS_INLINE __attribute__((always_inline)) inline

/// F16C's conversion: one instruction, where the portable one branches.
static inline float half_f16c(uint16_t h) { return _cvtsh_ss(h); }

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline int32_t hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// Σ of u8·s8 products in 8 int32 lanes: one vpdpbusd with AVX-512 VNNI, else pairs by
/// vpmaddubsw and pairs of pairs by vpmaddwd (the same exact integers either way).
static inline __m256i dot_u8s8(__m256i u, __m256i s) {
#ifdef LLCL_VNNI
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

/// G consecutive floats (G = 1, 4 or 8) in the low lanes, zeros above.
static ALWAYS_INLINE __m256 load_group(const float *p, int G) {
    if (G == 8) return _mm256_loadu_ps(p);
    if (G == 4) return _mm256_insertf128_ps(_mm256_setzero_ps(), _mm_loadu_ps(p), 0);
    return _mm256_insertf128_ps(_mm256_setzero_ps(), _mm_load_ss(p), 0);
}

/// The scales w·d[t] of a token group, one lane per token. A lone token takes the scalar route
/// (fewer instructions on the decode path); the product is the same IEEE multiplication.
static ALWAYS_INLINE __m256 group_scales(float w, const float *d, int G) {
    if (G == 1) return _mm256_set1_ps(w * d[0]);
    return _mm256_mul_ps(_mm256_set1_ps(w), load_group(d, G));
}

/// acc + w·v[t] per lane (one fused multiply-add per token); a lone token only uses lane 0.
static ALWAYS_INLINE __m256 group_fma(float w, __m256 v, __m256 acc, int G) {
    if (G == 1) return _mm256_castps128_ps256(_mm_fmadd_ss(_mm_set_ss(w), _mm256_castps256_ps128(v), _mm256_castps256_ps128(acc)));
    return _mm256_fmadd_ps(_mm256_set1_ps(w), v, acc);
}

/// Lane t of v, in every lane.
static ALWAYS_INLINE __m256 lane(__m256 v, int t) {
    return t == 0 ? _mm256_broadcastss_ps(_mm256_castps256_ps128(v)) : _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(t));
}

/// The activation rows of one call. Token t's 8-bit values are at qs + t·n and its sums of 16
/// (Q8_K) at bsums + t·n/16; block scales and Q8_0 block sums are block-major, d[b·stride + t],
/// so that one load gives the scales of a whole token group.
typedef struct { const int8_t *qs; const float *d; const float *sums; const int16_t *bsums; int n; int stride; } rows_t;

static ALWAYS_INLINE void q4_K_group(const block_q4_K *x, rows_t a, int G, float *out, size_t out_stride) {
    const __m256i low4 = _mm256_set1_epi8(0xF);
    const int nb = a.n / 256;
    __m256 acc[8], mins = _mm256_setzero_ps();
    for (int t = 0; t < G; t++) acc[t] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        uint8_t sc[8], m[8];
        for (int sb = 0; sb < 8; sb++) llcl_scale_min_k4(sb, x[b].scales, &sc[sb], &m[sb]);
        // each min twice, against the two sums of 16 of its sub-block
        const __m256i m16 = _mm256_set_epi16(m[7], m[7], m[6], m[6], m[5], m[5], m[4], m[4], m[3], m[3], m[2], m[2], m[1], m[1], m[0], m[0]);
        __m256i lo[4], hi[4];
        for (int c = 0; c < 4; c++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * c));
            lo[c] = _mm256_and_si256(q, low4);
            hi[c] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
        }
        const float *da = a.d + (size_t)b * a.stride;
        const __m256 scales = group_scales(half_f16c(x[b].d), da, G);
        int32_t summ[8] = {0};
#ifdef LLCL_VNNI
        // 512 bits per chunk: [low nibbles | high nibbles] meet 64 consecutive activations, and
        // vpdpwssd applies the two sub-block scales; the halves are folded at the end to the same
        // 8 integer lanes as the 256-bit path (exact integers, so the same bits follow)
        __m512i nib[4], scale16[4];
        for (int c = 0; c < 4; c++) {
            nib[c] = _mm512_inserti64x4(_mm512_castsi256_si512(lo[c]), hi[c], 1);
            scale16[c] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(sc[2 * c])), _mm256_set1_epi16(sc[2 * c + 1]), 1);
        }
#endif
        for (int t = 0; t < G; t++) {
            const int8_t *q = a.qs + (size_t)t * a.n + 256 * b;
            summ[t] = hsum_i32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(a.bsums + (size_t)t * (a.n / 16) + 16 * b)), m16));
#ifdef LLCL_VNNI
            __m512i wide = _mm512_setzero_si512();
            for (int c = 0; c < 4; c++)
                wide = _mm512_dpwssd_epi32(wide, _mm512_maddubs_epi16(nib[c], _mm512_loadu_si512((const void *)(q + 64 * c))), scale16[c]);
            const __m256i sumi = _mm256_add_epi32(_mm512_castsi512_si256(wide), _mm512_extracti64x4_epi64(wide, 1));
#else
            __m256i sumi = _mm256_setzero_si256();
            for (int c = 0; c < 4; c++) {
                const __m256i p_lo = _mm256_maddubs_epi16(lo[c], _mm256_loadu_si256((const __m256i *)(q + 64 * c)));
                const __m256i p_hi = _mm256_maddubs_epi16(hi[c], _mm256_loadu_si256((const __m256i *)(q + 64 * c + 32)));
                // pairs of 16-bit products times the sub-block scale, widened to 32 bits
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_lo, _mm256_set1_epi16(sc[2 * c])));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_hi, _mm256_set1_epi16(sc[2 * c + 1])));
            }
#endif
            acc[t] = _mm256_fmadd_ps(lane(scales, t), _mm256_cvtepi32_ps(sumi), acc[t]);
        }
        const __m256 dmin = group_scales(half_f16c(x[b].dmin), da, G);
        const __m256 m_sums = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)summ));
        mins = G == 1 ? _mm256_castps128_ps256(_mm_fmadd_ss(_mm256_castps256_ps128(dmin), _mm256_castps256_ps128(m_sums), _mm256_castps256_ps128(mins)))
                      : _mm256_fmadd_ps(dmin, m_sums, mins);
    }
    float m[8];
    _mm256_storeu_ps(m, mins);
    for (int t = 0; t < G; t++) out[t * out_stride] = hsum(acc[t]) - m[t];
}

static ALWAYS_INLINE void q6_K_group(const block_q6_K *x, rows_t a, int G, float *out, size_t out_stride) {
    const __m256i low4 = _mm256_set1_epi8(0xF), two = _mm256_set1_epi8(3);
    const int nb = a.n / 256;
    __m256 acc[8];
    for (int t = 0; t < G; t++) acc[t] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const int8_t *sc = x[b].scales;
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));
        // eight quarters of 32 values, 6 bits each (0..63; the +32 offset is removed through bsums)
        __m256i q6[8];
        for (int half = 0; half < 2; half++) {
            const __m256i qa = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * half));
            const __m256i qb = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * half + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)(x[b].qh + 32 * half));
            q6[4 * half + 0] = _mm256_or_si256(_mm256_and_si256(qa, low4), _mm256_slli_epi16(_mm256_and_si256(h, two), 4));
            q6[4 * half + 1] = _mm256_or_si256(_mm256_and_si256(qb, low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), two), 4));
            q6[4 * half + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), two), 4));
            q6[4 * half + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), two), 4));
        }
        const __m256 scales = group_scales(half_f16c(x[b].d), a.d + (size_t)b * a.stride, G);
#ifdef LLCL_VNNI
        // two quarters per 512-bit step; each 128-bit lane (16 values) has its own scale
        __m512i pairs[4], scale16[4];
        const __m512i scales_all = _mm512_castsi256_si512(sc16);
        for (int j = 0; j < 4; j++) {
            pairs[j] = _mm512_inserti64x4(_mm512_castsi256_si512(q6[2 * j]), q6[2 * j + 1], 1);
            const __m512i index = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16(4 * j + 1), _mm_set1_epi16(4 * j))),
                                                     _mm256_set_m128i(_mm_set1_epi16(4 * j + 3), _mm_set1_epi16(4 * j + 2)), 1);
            scale16[j] = _mm512_permutexvar_epi16(index, scales_all);
        }
#endif
        for (int t = 0; t < G; t++) {
            const int8_t *q = a.qs + (size_t)t * a.n + 256 * b;
            const int32_t offset = hsum_i32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(a.bsums + (size_t)t * (a.n / 16) + 16 * b)), sc16));
#ifdef LLCL_VNNI
            __m512i wide = _mm512_setzero_si512();
            for (int j = 0; j < 4; j++)
                wide = _mm512_dpwssd_epi32(wide, _mm512_maddubs_epi16(pairs[j], _mm512_loadu_si512((const void *)(q + 64 * j))), scale16[j]);
            __m256i sumi = _mm256_add_epi32(_mm512_castsi512_si256(wide), _mm512_extracti64x4_epi64(wide, 1));
#else
            __m256i sumi = _mm256_setzero_si256();
            for (int k = 0; k < 8; k++) {
                const __m256i p = _mm256_maddubs_epi16(q6[k], _mm256_loadu_si256((const __m256i *)(q + 32 * k)));
                // the low 128-bit lane holds values 0..15 of the quarter (one scale), the high lane 16..31
                const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale));
            }
#endif
            sumi = _mm256_sub_epi32(sumi, _mm256_set_epi32(0, 0, 0, 0, 0, 0, 0, 32 * offset));
            acc[t] = _mm256_fmadd_ps(lane(scales, t), _mm256_cvtepi32_ps(sumi), acc[t]);
        }
    }
    for (int t = 0; t < G; t++) out[t * out_stride] = hsum(acc[t]);
}

static ALWAYS_INLINE void f16_group(const uint16_t *w, const float *x, int n, int G, float *out, size_t out_stride) {
    __m256 acc[8][2];
    for (int t = 0; t < G; t++) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i)));
        const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8)));
        for (int t = 0; t < G; t++) {
            acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + (size_t)t * n + i), acc[t][0]);
            acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + (size_t)t * n + i + 8), acc[t][1]);
        }
    }
    for (int t = 0; t < G; t++) {
        float s = hsum(_mm256_add_ps(acc[t][0], acc[t][1]));
        for (int j = i; j < n; j++) s += half_f16c(w[j]) * x[(size_t)t * n + j];
        out[t * out_stride] = s;
    }
}

/// Runs a group kernel over all tokens: groups of MAX_GROUP, then of four, then one at a time.
#define FOR_TOKEN_GROUPS(KERNEL, ROWS, ADVANCE)                                                         \
    do {                                                                                                \
        rows_t r = (ROWS);                                                                              \
        int t = 0;                                                                                      \
        if (MAX_GROUP >= 8)                                                                             \
            for (; t + 8 <= tokens; t += 8) { KERNEL(r, 8, out + (size_t)t * out_stride, out_stride); ADVANCE(r, 8); } \
        for (; t + 4 <= tokens; t += 4) { KERNEL(r, 4, out + (size_t)t * out_stride, out_stride); ADVANCE(r, 4); }     \
        for (; t < tokens; t++) { KERNEL(r, 1, out + (size_t)t * out_stride, out_stride); ADVANCE(r, 1); }              \
    } while (0)

#define ADVANCE_Q8_K(r, k) (r.qs += (size_t)(k) * r.n, r.d += (k), r.bsums += (size_t)(k) * (r.n / 16))

void VARIANT(llcl_matvec_q4_K)(int n, const void *w, int tokens, const int8_t *qs, const float *d, const int16_t *bsums, int stride, float *out, size_t out_stride) {
#define K(r, G, o, s) q4_K_group(w, r, G, o, s)
    FOR_TOKEN_GROUPS(K, ((rows_t){qs, d, NULL, bsums, n, stride}), ADVANCE_Q8_K);
#undef K
}

void VARIANT(llcl_matvec_q6_K)(int n, const void *w, int tokens, const int8_t *qs, const float *d, const int16_t *bsums, int stride, float *out, size_t out_stride) {
#define K(r, G, o, s) q6_K_group(w, r, G, o, s)
    FOR_TOKEN_GROUPS(K, ((rows_t){qs, d, NULL, bsums, n, stride}), ADVANCE_Q8_K);
#undef K
}

void VARIANT(llcl_matvec_f16)(int n, const uint16_t *w, int tokens, const float *x, float *out, size_t out_stride) {
    int t = 0;
    if (MAX_GROUP >= 8)
        for (; t + 8 <= tokens; t += 8) f16_group(w, x + (size_t)t * n, n, 8, out + (size_t)t * out_stride, out_stride);
    for (; t + 4 <= tokens; t += 4) f16_group(w, x + (size_t)t * n, n, 4, out + (size_t)t * out_stride, out_stride);
    for (; t < tokens; t++) f16_group(w, x + (size_t)t * n, n, 1, out + (size_t)t * out_stride, out_stride);
}
