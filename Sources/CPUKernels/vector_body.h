// The vector kernels, included once per instruction-set variant (vector_avx2.c,
// vector_vnni.c) with VARIANT naming the exported functions and MAX_GROUP the largest token
// group: shared helpers and the F16 kernel here; the 8-bit kernels in panel_body.h and
// panel_k_body.h. Every variant performs the same float operations in the same order, so all
// give the same bits.
//
// The F16 kernel is written once for a group of G tokens (G = 1, 4 or 8) that share every
// converted weight vector; a token's arithmetic is the same sequence whatever G is, so it
// gets the same bits alone or in a batch (batch invariance). ALWAYS_INLINE makes G a
// constant at each call site.

#define ALWAYS_INLINE __attribute__((always_inline)) inline

/// F16C's conversion: one instruction, where the portable one branches.
static inline float half_f16c(uint16_t h) { return _cvtsh_ss(h); }

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Decoding reads rows one after another as one stream; lines this far ahead are fetched into
/// L2 (see prefetch_ahead in panel_k_body.h: without it rows longer than ~3 KiB read from DRAM
/// at half the speed of short ones).
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 12288
#endif

static ALWAYS_INLINE void f16_group(const uint16_t *w, const float *x, int n, int G, float *out, size_t out_stride) {
    __m256 acc[8][2];
    for (int t = 0; t < G; t++) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        if (G == 1 && (i & 31) == 0) _mm_prefetch((const char *)(w + i) + PREFETCH_AHEAD, _MM_HINT_T1);
        const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i)));
        const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8)));
        for (int t = 0; t < G; t++) {
            acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + (size_t)t * n + i), acc[t][0]);
            acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + (size_t)t * n + i + 8), acc[t][1]);
        }
    }
    for (int t = 0; t < G; t++) {
        float s = hsum(_mm256_add_ps(acc[t][0], acc[t][1]));
        for (int j = i; j < n; j++) s = fmaf(half_f16c(w[j]), x[(size_t)t * n + j], s);
        out[t * out_stride] = s;
    }
}

/// Two rows against G tokens: each activation load feeds both rows (prompts are bound by these
/// loads). Each (row, token) gets exactly f16_group's operations, so the same bits.
static ALWAYS_INLINE void f16_rows2_group(const uint16_t *wa, const uint16_t *wb, const float *x, int n, int G, float *out, size_t out_stride) {
    __m256 acc[2][4][2];
    for (int t = 0; t < G; t++) acc[0][t][0] = acc[0][t][1] = acc[1][t][0] = acc[1][t][1] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 a0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wa + i)));
        const __m256 a1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wa + i + 8)));
        const __m256 b0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wb + i)));
        const __m256 b1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wb + i + 8)));
        for (int t = 0; t < G; t++) {
            const __m256 x0 = _mm256_loadu_ps(x + (size_t)t * n + i), x1 = _mm256_loadu_ps(x + (size_t)t * n + i + 8);
            acc[0][t][0] = _mm256_fmadd_ps(a0, x0, acc[0][t][0]);
            acc[0][t][1] = _mm256_fmadd_ps(a1, x1, acc[0][t][1]);
            acc[1][t][0] = _mm256_fmadd_ps(b0, x0, acc[1][t][0]);
            acc[1][t][1] = _mm256_fmadd_ps(b1, x1, acc[1][t][1]);
        }
    }
    for (int r = 0; r < 2; r++) {
        const uint16_t *w = r == 0 ? wa : wb;
        for (int t = 0; t < G; t++) {
            float s = hsum(_mm256_add_ps(acc[r][t][0], acc[r][t][1]));
            for (int j = i; j < n; j++) s = fmaf(half_f16c(w[j]), x[(size_t)t * n + j], s);
            out[t * out_stride + r] = s;
        }
    }
}

#ifdef LLCL_VNNI
/// With AVX-512, a (row, token) pair's two 8-lane accumulators of f16_group are the two halves
/// of one 16-lane register: R rows × T tokens take R·T registers (4 × 6 = 24 of 32), and each
/// converted weight vector feeds T products, each activation vector R. The sums are the same
/// lane-wise operations as f16_group's, so the same bits.
static ALWAYS_INLINE void f16_tile512(const uint16_t *w, size_t row_stride, const float *x, int n, int R, int T, float *out, size_t out_stride) {
    __m512 acc[4][6];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 wv[4];
        for (int r = 0; r < R; r++) wv[r] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + r * row_stride + i)));
        for (int t = 0; t < T; t++) {
            const __m512 xv = _mm512_loadu_ps(x + (size_t)t * n + i);
            for (int r = 0; r < R; r++) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
        }
    }
    for (int r = 0; r < R; r++) {
        const uint16_t *row = w + r * row_stride;
        for (int t = 0; t < T; t++) {
            const __m256 low = _mm512_castps512_ps256(acc[r][t]);
            const __m256 high = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r][t]), 1));
            float s = hsum(_mm256_add_ps(low, high));
            for (int j = i; j < n; j++) s = fmaf(half_f16c(row[j]), x[(size_t)t * n + j], s);
            out[t * out_stride + r] = s;
        }
    }
}

/// f16_tile512 with R and T as constants (so that the accumulators stay in registers).
static void f16_tiles512(const uint16_t *w, size_t row_stride, const float *x, int n, int R, int T, float *out, size_t out_stride) {
#define TILE(r, t) case t: f16_tile512(w, row_stride, x, n, r, t, out, out_stride); return;
    if (R == 4) switch (T) { TILE(4, 1) TILE(4, 2) TILE(4, 3) TILE(4, 4) TILE(4, 5) TILE(4, 6) }
    else switch (T) { TILE(1, 1) TILE(1, 2) TILE(1, 3) TILE(1, 4) TILE(1, 5) TILE(1, 6) }
#undef TILE
}
#endif

/// `rows` consecutive rows (row r at w + r·row_stride) against all tokens: out[t·out_stride + r].
void VARIANT(llcl_matmul_f16)(int n, const uint16_t *w, size_t row_stride, int rows, int tokens, const float *x, float *out, size_t out_stride) {
    if (tokens == 1) {  // decoding: the rows one after another, one stream
        for (int r = 0; r < rows; r++) f16_group(w + r * row_stride, x, n, 1, out + r, out_stride);
        return;
    }
#ifdef LLCL_VNNI
    // token groups outside: a group's activations (6 × n floats) stay in L2 while the rows pass
    for (int t = 0; t < tokens; t += 6) {
        const int T = tokens - t < 6 ? tokens - t : 6;
        int r = 0;
        for (; r + 4 <= rows; r += 4) f16_tiles512(w + r * row_stride, row_stride, x + (size_t)t * n, n, 4, T, out + (size_t)t * out_stride + r, out_stride);
        for (; r < rows; r++) f16_tiles512(w + r * row_stride, row_stride, x + (size_t)t * n, n, 1, T, out + (size_t)t * out_stride + r, out_stride);
    }
#else
    enum { PAIR_GROUP = MAX_GROUP / 2 };  // 2 rows × PAIR_GROUP tokens × 2 accumulators fit the registers
    int r = 0;
    for (; r + 2 <= rows; r += 2) {
        const uint16_t *wa = w + r * row_stride;
        int t = 0;
        for (; t + PAIR_GROUP <= tokens; t += PAIR_GROUP)
            f16_rows2_group(wa, wa + row_stride, x + (size_t)t * n, n, PAIR_GROUP, out + (size_t)t * out_stride + r, out_stride);
        for (; t < tokens; t++) {
            f16_group(wa, x + (size_t)t * n, n, 1, out + (size_t)t * out_stride + r, out_stride);
            f16_group(wa + row_stride, x + (size_t)t * n, n, 1, out + (size_t)t * out_stride + r + 1, out_stride);
        }
    }
    if (r < rows) VARIANT(llcl_matvec_f16)(n, w + r * row_stride, tokens, x, out + r, out_stride);
#endif
}

void VARIANT(llcl_matvec_f16)(int n, const uint16_t *w, int tokens, const float *x, float *out, size_t out_stride) {
    int t = 0;
    if (MAX_GROUP >= 8)
        for (; t + 8 <= tokens; t += 8) f16_group(w, x + (size_t)t * n, n, 8, out + (size_t)t * out_stride, out_stride);
    for (; t + 4 <= tokens; t += 4) f16_group(w, x + (size_t)t * n, n, 4, out + (size_t)t * out_stride, out_stride);
    for (; t < tokens; t++) f16_group(w, x + (size_t)t * n, n, 1, out + (size_t)t * out_stride, out_stride);
}
