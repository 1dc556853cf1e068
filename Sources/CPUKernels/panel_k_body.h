// Q4_K and Q6_K weights eight rows at a time, one vector lane per row, as panel_body.h does for
// Q4_0 and Q8_0. Per 256-value block the integer sums are exact; each output is
// Σ_b fma(d_rb · da_tb, float(block integer), ·) in its own lane (and for Q4_K the mins
// likewise, subtracted at the end), so the decoding path, the packed path and the portable C
// (portable.c) give the same bits.

/// The eight sub-blocks of 32 values (0..15) of a Q4_K block, in element order.
static ALWAYS_INLINE void q4_K_unpack(const block_q4_K *x, __m256i v[8]) {
    const __m256i low4 = _mm256_set1_epi8(0xF);
    for (int c = 0; c < 4; c++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * c));
        v[2 * c] = _mm256_and_si256(q, low4);
        v[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
    }
}

/// The eight sub-blocks of 32 values of a Q4_K block (five = 0: 0..15) or a Q5_K block (five = 1:
/// 0..31, the fifth bit of sub-block sb's value l being bit sb of qh[l]), in element order.
static ALWAYS_INLINE void k45_unpack(int five, const uint8_t *blk, __m256i v[8]) {
    if (!five) { q4_K_unpack((const block_q4_K *)blk, v); return; }
    const block_q5_K *x = (const block_q5_K *)blk;
    const __m256i low4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    const __m256i h = _mm256_loadu_si256((const __m256i *)x->qh);
    for (int c = 0; c < 4; c++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * c));
        // bit k of each byte → bit 4 (the 16-bit shifts carry nothing across bytes once masked to one bit)
        const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 * c), one), 4);
        const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 * c + 1), one), 4);
        v[2 * c] = _mm256_or_si256(_mm256_and_si256(q, low4), h0);
        v[2 * c + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), h1);
    }
}

/// The eight quarters of 32 values (0..63, stored with +32) of a Q6_K block, in element order.
static ALWAYS_INLINE void q6_K_unpack(const block_q6_K *x, __m256i q6[8]) {
    const __m256i low4 = _mm256_set1_epi8(0xF), two = _mm256_set1_epi8(3);
    for (int half = 0; half < 2; half++) {
        const __m256i qa = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * half));
        const __m256i qb = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * half + 32));
        const __m256i h = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * half));
        q6[4 * half + 0] = _mm256_or_si256(_mm256_and_si256(qa, low4), _mm256_slli_epi16(_mm256_and_si256(h, two), 4));
        q6[4 * half + 1] = _mm256_or_si256(_mm256_and_si256(qb, low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), two), 4));
        q6[4 * half + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), two), 4));
        q6[4 * half + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), two), 4));
    }
}

/// acc + Σ over 32 values of v·a·scale in 8 int32 lanes (v unsigned ≤ 63, so that the pairs of
/// vpmaddubsw fit in 16 bits; `scale16` holds each value's 16-bit scale, one per 128-bit lane or one in all).
static ALWAYS_INLINE __m256i scaled_dot32(__m256i acc, __m256i v, const int8_t *a, __m256i scale16) {
    // vpmaddwd + vpaddd rather than VNNI's vpdpwssd: the accumulation chain is then one cycle
    // per step instead of the multiply's latency (measured faster on Zen 4)
    const __m256i pairs = _mm256_maddubs_epi16(v, _mm256_loadu_si256((const __m256i *)a));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, scale16));
}

/// Σ_j over `count` packed vectors (in registers): lane r += row r's values 4j..4j+3 · a[4j..4j+3],
/// in two chains (integer sums: the order does not change the result).
static ALWAYS_INLINE __m256i packed_dot(const __m256i *p, const int8_t *a, int count) {
    __m256i dot0 = _mm256_setzero_si256(), dot1 = _mm256_setzero_si256();
    for (int j = 0; j < count; j += 2) {
        int32_t g0, g1;
        memcpy(&g0, a + 4 * j, 4); memcpy(&g1, a + 4 * j + 4, 4);
        dot0 = dot_u8s8_acc(dot0, p[j], _mm256_set1_epi32(g0));
        dot1 = dot_u8s8_acc(dot1, p[j + 1], _mm256_set1_epi32(g1));
    }
    return _mm256_add_epi32(dot0, dot1);
}

/// Row-sequential decoding reads a panel as one stream: fetch the lines PREFETCH_AHEAD bytes on
/// (vector_body.h; into the next rows and the next panel, which follow in memory) into L2 so
/// that the loads find them there; past the end of the matrix a prefetch does no harm. Measured
/// on one core from DRAM, Q4_K with 5632 columns: 11 → 20 GB/s (2048 columns: 20 either way);
/// prefetching into L1 instead, or 2–8 KiB ahead, gains less.
static ALWAYS_INLINE void prefetch_ahead(const uint8_t *block, int block_bytes) {
    for (int line = 0; line < block_bytes; line += 64) _mm_prefetch((const char *)block + PREFETCH_AHEAD + line, _MM_HINT_T1);
}

// Packed Q4_K block: 64 value vectors (8 sub-blocks × 8), 8 scale vectors (int32 lanes), 4 min vectors
// (lane r: the mins of sub-blocks 2k and 2k+1 as a pair of int16, for vpmaddwd), d, dmin.
enum { Q4K_PACKED = 78 };

/// The eight sums of 32 activations of a Q8_K block (pairs of its sums of 16), as int16: each
/// Q4_K min multiplies one.
static ALWAYS_INLINE __m128i subblock_sums(const int16_t *bs) {
    return _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)bs), _mm_loadu_si128((const __m128i *)(bs + 8)));
}

/// G tokens (qs + g·n, bsums + g·n/16) against a repacked Q4_K panel: each sub-block's packed
/// vectors are loaded once for all G tokens; each token's operations are those it gets alone.
static ALWAYS_INLINE void q4_K_packed_tokens(const __m256i *packed, int nb, int G, const int8_t *qs, int n, const float *d, const int16_t *bsums,
                                             int stride, int rows, float *out, size_t out_stride) {
    __m256 acc[4], mins[4];
    for (int g = 0; g < G; g++) acc[g] = mins[g] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const __m256i *p = packed + (size_t)Q4K_PACKED * b;
        __m256i sums[4], msum[4];
        for (int g = 0; g < G; g++) {
            sums[g] = _mm256_setzero_si256();
            // a min multiplies its sub-block's activation sum: the eight sums, as pairs in every lane
            const __m256i sub = _mm256_broadcastsi128_si256(subblock_sums(bsums + (size_t)g * (n / 16) + 16 * b));
            msum[g] = _mm256_madd_epi16(p[72], _mm256_shuffle_epi32(sub, 0x00));
            msum[g] = _mm256_add_epi32(msum[g], _mm256_madd_epi16(p[73], _mm256_shuffle_epi32(sub, 0x55)));
            msum[g] = _mm256_add_epi32(msum[g], _mm256_madd_epi16(p[74], _mm256_shuffle_epi32(sub, 0xAA)));
            msum[g] = _mm256_add_epi32(msum[g], _mm256_madd_epi16(p[75], _mm256_shuffle_epi32(sub, 0xFF)));
        }
        for (int sb = 0; sb < 8; sb++) {
            __m256i v[8];
            for (int j = 0; j < 8; j++) v[j] = p[8 * sb + j];
            for (int g = 0; g < G; g++)
                sums[g] = _mm256_add_epi32(sums[g], _mm256_mullo_epi32(p[64 + sb], packed_dot(v, qs + (size_t)g * n + 256 * b + 32 * sb, 8)));
        }
        const __m256 dw = _mm256_castsi256_ps(p[76]), dmin = _mm256_castsi256_ps(p[77]);
        for (int g = 0; g < G; g++) {
            const __m256 da = _mm256_set1_ps(d[(size_t)b * stride + g]);
            acc[g] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(sums[g]), acc[g]);
            mins[g] = _mm256_fmadd_ps(_mm256_mul_ps(dmin, da), _mm256_cvtepi32_ps(msum[g]), mins[g]);
        }
    }
    for (int g = 0; g < G; g++) store_rows(_mm256_sub_ps(acc[g], mins[g]), rows, out + (size_t)g * out_stride);
}

static ALWAYS_INLINE void k45_panel(int five, int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d,
                              const int16_t *bsums, int stride, float *out, size_t out_stride) {
    const int nb = n / 256, BB = five ? 176 : 144;
    const uint8_t *x[8];
    panel_rows(w, row_bytes, rows, x);
    __m256i *packed = tokens >= PACK_MIN_TOKENS ? panel_buffer((size_t)nb * Q4K_PACKED) : NULL;
    if (packed) {
        for (int b = 0; b < nb; b++) {
            prefetch_next_panel(x[0], row_bytes, b, BB);
            __m256i *p = packed + (size_t)Q4K_PACKED * b;
            __m256i v[8][8];
            int32_t sc[8][8], m[4][8];  // [sub-block][row]; [pair of sub-blocks][row]
            for (int r = 0; r < 8; r++) {
                const uint8_t *blk = x[r] + (size_t)b * BB;
                k45_unpack(five, blk, v[r]);
                uint8_t s[8], mm[8];
                llcl_scales_mins_k4(blk + 4, s, mm);
                for (int sb = 0; sb < 8; sb++) sc[sb][r] = s[sb];
                for (int k = 0; k < 4; k++) m[k][r] = mm[2 * k] | (int32_t)mm[2 * k + 1] << 16;
            }
            for (int sb = 0; sb < 8; sb++) {
                const __m256i rowsv[8] = {v[0][sb], v[1][sb], v[2][sb], v[3][sb], v[4][sb], v[5][sb], v[6][sb], v[7][sb]};
                transpose8(rowsv, p + 8 * sb);
                p[64 + sb] = _mm256_loadu_si256((const __m256i *)sc[sb]);
                if (sb < 4) p[72 + sb] = _mm256_loadu_si256((const __m256i *)m[sb]);
            }
            p[76] = _mm256_castps_si256(panel_halves(x, b, BB, 0));
            p[77] = _mm256_castps_si256(panel_halves(x, b, BB, 2));
        }
        RUN_PACKED_TOKENS(q4_K_packed_tokens, Q8_K_SUMS);
        return;
    }
    // decoding: per block, 8 rows' 8-lane sums, then 8 rows' min sums (4 lanes each), then the
    // token's eight sub-block sums of every block (int16, half a vector per block)
    __m256i *row_dots = panel_buffer((size_t)nb * 16 + (nb + 1) / 2);
    if (!row_dots) {  // no memory for it: the portable code gives the same bits
        for (int t = 0; t < tokens; t++)
            for (int r = 0; r < rows; r++)
                out[t * out_stride + r] = (five ? llcl_dot_q5_K_q8_K_portable : llcl_dot_q4_K_q8_K_portable)(n, x[r], qs + (size_t)t * n, d + t, bsums + (size_t)t * (n / 16), stride);
        return;
    }
    __m256i *min_dots = row_dots + (size_t)8 * nb;
    int16_t *sub = (int16_t *)(row_dots + (size_t)16 * nb);
    for (int t = 0; t < tokens; t++) {
        const int8_t *q = qs + (size_t)t * n;
        const int16_t *bs = bsums + (size_t)t * (n / 16);
        for (int b = 0; b < nb; b++) _mm_storeu_si128((__m128i *)(sub + 8 * b), subblock_sums(bs + 16 * b));
        // the rows one after another (one sequential read of the panel)
        for (int r = 0; r < 8; r++)
            for (int b = 0; b < nb; b++) {
                const uint8_t *blk = x[r] + (size_t)b * BB;
                prefetch_ahead(blk, BB);
                const int8_t *a = q + 256 * b;
                __m256i v[8];
                k45_unpack(five, blk, v);
                uint8_t sc[8], mn[8];
                llcl_scales_mins_k4(blk + 4, sc, mn);
                __m256i s = _mm256_setzero_si256();
                // the eight scales as 16-bit values in both 128-bit lanes; each broadcast by one byte shuffle
                const __m128i sc8 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)sc));
                const __m256i scales = _mm256_set_m128i(sc8, sc8);
                for (int sb = 0; sb < 8; sb++)
                    s = scaled_dot32(s, v[sb], a + 32 * sb, _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)(0x0100 + 0x0202 * sb))));
                row_dots[8 * b + r] = s;
                // the eight mins against their sub-block sums, left in four lanes (summed with the other rows' below)
                const __m128i m8 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)mn));
                min_dots[8 * b + r] = _mm256_zextsi128_si256(_mm_madd_epi16(m8, _mm_loadu_si128((const __m128i *)(sub + 8 * b))));
            }
        __m256 acc = _mm256_setzero_ps(), mins = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            const __m256 da = _mm256_set1_ps(d[(size_t)b * stride + t]);
            acc = _mm256_fmadd_ps(_mm256_mul_ps(panel_halves(x, b, BB, 0), da), _mm256_cvtepi32_ps(sum_rows(row_dots + 8 * b)), acc);
            mins = _mm256_fmadd_ps(_mm256_mul_ps(panel_halves(x, b, BB, 2), da), _mm256_cvtepi32_ps(sum_rows(min_dots + 8 * b)), mins);
        }
        store_rows(_mm256_sub_ps(acc, mins), rows, out + (size_t)t * out_stride);
    }
}

void VARIANT(llcl_panel_q4_K)(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d,
                              const int16_t *bsums, int stride, float *out, size_t out_stride) {
    k45_panel(0, n, w, row_bytes, rows, tokens, qs, d, bsums, stride, out, out_stride);
}

/// Q5_K: Q4_K's panels with a fifth bit per value (values 0..31: vpmaddubsw pairs still fit 16 bits).
void VARIANT(llcl_panel_q5_K)(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d,
                              const int16_t *bsums, int stride, float *out, size_t out_stride) {
    k45_panel(1, n, w, row_bytes, rows, tokens, qs, d, bsums, stride, out, out_stride);
}

// Packed Q6_K block: 64 value vectors (8 quarters × 8), 16 scale vectors (int32 lanes), d, and the 16
// scales again as 8 vectors of int16 pairs (groups 2k, 2k+1) for the offset by vpmaddwd.
enum { Q6K_PACKED = 89 };

/// G tokens against a repacked Q6_K panel, as q4_K_packed_tokens.
static ALWAYS_INLINE void q6_K_packed_tokens(const __m256i *packed, int nb, int G, const int8_t *qs, int n, const float *d, const int16_t *bsums,
                                             int stride, int rows, float *out, size_t out_stride) {
    __m256 acc[4];
    for (int g = 0; g < G; g++) acc[g] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const __m256i *p = packed + (size_t)Q6K_PACKED * b;
        __m256i sums[4], offset[4];
        for (int g = 0; g < G; g++) sums[g] = offset[g] = _mm256_setzero_si256();
        for (int k = 0; k < 8; k++) {
            __m256i v[8];
            for (int j = 0; j < 8; j++) v[j] = p[8 * k + j];
            for (int g = 0; g < G; g++) {
                const int8_t *a = qs + (size_t)g * n + 256 * b + 32 * k;
                // the first four packed vectors of a quarter are its first 16 values (group 2k)
                sums[g] = _mm256_add_epi32(sums[g], _mm256_mullo_epi32(p[64 + 2 * k], packed_dot(v, a, 4)));
                sums[g] = _mm256_add_epi32(sums[g], _mm256_mullo_epi32(p[65 + 2 * k], packed_dot(v + 4, a + 16, 4)));
            }
        }
        const __m256 dw = _mm256_castsi256_ps(p[80]);
        for (int g = 0; g < G; g++) {
            const int16_t *bs = bsums + (size_t)g * (n / 16) + 16 * b;
            for (int k = 0; k < 8; k++) {  // two groups' scales and sums per vpmaddwd
                int32_t pair;
                memcpy(&pair, bs + 2 * k, 4);
                offset[g] = _mm256_add_epi32(offset[g], _mm256_madd_epi16(p[81 + k], _mm256_set1_epi32(pair)));
            }
            // values carry +32: Σ sc·(u − 32)·a = Σ sc·u·a − 32·Σ sc·Σa
            const __m256i total = _mm256_sub_epi32(sums[g], _mm256_slli_epi32(offset[g], 5));
            acc[g] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(d[(size_t)b * stride + g])), _mm256_cvtepi32_ps(total), acc[g]);
        }
    }
    for (int g = 0; g < G; g++) store_rows(acc[g], rows, out + (size_t)g * out_stride);
}

void VARIANT(llcl_panel_q6_K)(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d,
                              const int16_t *bsums, int stride, float *out, size_t out_stride) {
    const int nb = n / 256;
    const uint8_t *x[8];
    panel_rows(w, row_bytes, rows, x);
    __m256i *packed = tokens >= PACK_MIN_TOKENS ? panel_buffer((size_t)nb * Q6K_PACKED) : NULL;
    if (packed) {
        for (int b = 0; b < nb; b++) {
            prefetch_next_panel(x[0], row_bytes, b, 210);
            __m256i *p = packed + (size_t)Q6K_PACKED * b;
            __m256i v[8][8];
            int32_t sc[16][8];  // [group of 16][row]
            for (int r = 0; r < 8; r++) {
                const block_q6_K *blk = (const block_q6_K *)(x[r] + (size_t)b * 210);
                q6_K_unpack(blk, v[r]);
                for (int g = 0; g < 16; g++) sc[g][r] = blk->scales[g];
            }
            for (int k = 0; k < 8; k++) {
                const __m256i rowsv[8] = {v[0][k], v[1][k], v[2][k], v[3][k], v[4][k], v[5][k], v[6][k], v[7][k]};
                transpose8(rowsv, p + 8 * k);
            }
            for (int g = 0; g < 16; g++) p[64 + g] = _mm256_loadu_si256((const __m256i *)sc[g]);
            p[80] = _mm256_castps_si256(panel_halves(x, b, 210, 208));
            for (int k = 0; k < 8; k++) {
                int32_t pairs[8];
                for (int r = 0; r < 8; r++) pairs[r] = (uint16_t)sc[2 * k][r] | (int32_t)((uint32_t)(uint16_t)sc[2 * k + 1][r] << 16);
                p[81 + k] = _mm256_loadu_si256((const __m256i *)pairs);
            }
        }
        RUN_PACKED_TOKENS(q6_K_packed_tokens, Q8_K_SUMS);
        return;
    }
    __m256i *row_dots = panel_buffer((size_t)nb * 8);
    if (!row_dots) {  // no memory for it: the portable code gives the same bits
        for (int t = 0; t < tokens; t++)
            for (int r = 0; r < rows; r++)
                out[t * out_stride + r] = llcl_dot_q6_K_q8_K_portable(n, x[r], qs + (size_t)t * n, d + t, bsums + (size_t)t * (n / 16), stride);
        return;
    }
    for (int t = 0; t < tokens; t++) {
        const int8_t *q = qs + (size_t)t * n;
        const int16_t *bs = bsums + (size_t)t * (n / 16);
        // decoding: the rows one after another (one sequential read of the panel)
        for (int r = 0; r < 8; r++)
            for (int b = 0; b < nb; b++) {
                const block_q6_K *blk = (const block_q6_K *)(x[r] + (size_t)b * 210);
                prefetch_ahead((const uint8_t *)blk, 210);
                const int8_t *a = q + 256 * b;
                __m256i v[8];
                q6_K_unpack(blk, v);
                __m256i s = _mm256_setzero_si256();
                // one scale per 16 values: quarter k's low 128-bit lane takes scale 2k, its high lane
                // 2k+1 — both broadcast from one 32-bit pair of the widened scales by a byte shuffle
                const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)blk->scales));
                int16_t wide[16];
                _mm256_storeu_si256((__m256i *)wide, sc16);
                const __m256i pick = _mm256_set_epi8(3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0);
                for (int k = 0; k < 8; k++) {
                    int32_t pair;
                    memcpy(&pair, wide + 2 * k, 4);
                    s = scaled_dot32(s, v[k], a + 32 * k, _mm256_shuffle_epi8(_mm256_set1_epi32(pair), pick));
                }
                const int32_t offset = hsum_i32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(bs + 16 * b)), sc16));
                row_dots[8 * b + r] = _mm256_sub_epi32(s, _mm256_set_epi32(0, 0, 0, 0, 0, 0, 0, 32 * offset));
            }
        __m256 acc = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++)
            acc = _mm256_fmadd_ps(_mm256_mul_ps(panel_halves(x, b, 210, 208), _mm256_set1_ps(d[(size_t)b * stride + t])), _mm256_cvtepi32_ps(sum_rows(row_dots + 8 * b)), acc);
        store_rows(acc, rows, out + (size_t)t * out_stride);
    }
}
