// Q4_0 and Q8_0 weights eight rows at a time, one vector lane per row ("panels"). Included
// once per instruction-set variant after vector_body.h.
//
// Each output is Σ_b fma(dw_rb · da_tb, float(Σ_block w·a), ·) over the blocks in order, in its
// own lane: the integer block dot is exact, so every way of computing it gives the same bits.
// A lone token (decoding) computes the eight rows' block dots with one vpdpbusd per row and adds
// each across its lanes; prompts and batches (two tokens or more) first repack the panel so
// that lane r of every vpdpbusd is row r, then run every token through it: a weight is
// unpacked once per panel instead of once per token group, and the per-block float work is
// shared by eight rows. Both give identical results (batch invariance), and so does the
// portable C (portable.c), which performs the same float operations one row at a time.

#define PACK_MIN_TOKENS 2
/// Tokens that share each packed vector load: 8 packed vectors + 2 accumulators per token fit the registers.
#define PACK_GROUP (MAX_GROUP / 2)

/// Every token through a packed panel: `fn` (a *_packed_tokens) for groups of PACK_GROUP tokens,
/// then for the rest one at a time; `sums_at(t)` is where token t's block sums start.
#define RUN_PACKED_TOKENS(fn, sums_at)                                                                                            \
    do {                                                                                                                       \
        int t_ = 0;                                                                                                            \
        for (; t_ + PACK_GROUP <= tokens; t_ += PACK_GROUP)                                                                    \
            fn(packed, nb, PACK_GROUP, qs + (size_t)t_ * n, n, d + t_, sums_at(t_), stride, rows, out + (size_t)t_ * out_stride, out_stride); \
        for (; t_ < tokens; t_++)                                                                                              \
            fn(packed, nb, 1, qs + (size_t)t_ * n, n, d + t_, sums_at(t_), stride, rows, out + (size_t)t_ * out_stride, out_stride); \
    } while (0)
#define Q8_0_SUMS(t) (sums + (t))
#define Q8_K_SUMS(t) (bsums + (size_t)(t) * (n / 16))

/// acc + Σ of u8·s8 products in 8 int32 lanes (4 byte pairs per lane).
static ALWAYS_INLINE __m256i dot_u8s8_acc(__m256i acc, __m256i u, __m256i s) {
#ifdef LLCL_VNNI
    return _mm256_dpbusd_epi32(acc, u, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

/// Eight vectors of eight int32 → one vector of their eight sums.
static ALWAYS_INLINE __m256i sum_rows(const __m256i v[8]) {
    const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i c = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    // a holds rows 0..3 (low 128 bits: sums of their low halves, high 128: of their high halves)
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, c, 0x20), _mm256_permute2x128_si256(a, c, 0x31));
}

/// 8×8 transpose of 32-bit elements: out[j] lane r = in[r] lane j.
static ALWAYS_INLINE void transpose8(const __m256i v[8], __m256i out[8]) {
    const __m256i t0 = _mm256_unpacklo_epi32(v[0], v[1]), t1 = _mm256_unpackhi_epi32(v[0], v[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(v[2], v[3]), t3 = _mm256_unpackhi_epi32(v[2], v[3]);
    const __m256i t4 = _mm256_unpacklo_epi32(v[4], v[5]), t5 = _mm256_unpackhi_epi32(v[4], v[5]);
    const __m256i t6 = _mm256_unpacklo_epi32(v[6], v[7]), t7 = _mm256_unpackhi_epi32(v[6], v[7]);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    out[0] = _mm256_permute2x128_si256(u0, u4, 0x20); out[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    out[2] = _mm256_permute2x128_si256(u2, u6, 0x20); out[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    out[4] = _mm256_permute2x128_si256(u0, u4, 0x31); out[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    out[6] = _mm256_permute2x128_si256(u2, u6, 0x31); out[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

/// The F16 scales of block b of eight rows whose blocks start at `rows[r]` (`size` bytes each).
static ALWAYS_INLINE uint16_t half_at(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return h; }

/// The F16 at byte `offset` of block b (blocks of `size` bytes) of eight rows, as floats:
/// inserted lane by lane, as a 16-byte load of eight 2-byte stores would stall store forwarding.
static ALWAYS_INLINE __m256 panel_halves(const uint8_t *const rows[8], int b, int size, int offset) {
    const size_t at = (size_t)b * size + offset;
    const __m128i h = _mm_set_epi16((short)half_at(rows[7] + at), (short)half_at(rows[6] + at), (short)half_at(rows[5] + at), (short)half_at(rows[4] + at),
                                    (short)half_at(rows[3] + at), (short)half_at(rows[2] + at), (short)half_at(rows[1] + at), (short)half_at(rows[0] + at));
    return _mm256_cvtph_ps(h);
}

/// The eight row pointers of a panel of `rows` ≤ 8 rows; missing rows repeat the last one
/// (their lanes are computed and not stored).
static ALWAYS_INLINE void panel_rows(const void *w, size_t row_bytes, int rows, const uint8_t *x[8]) {
    for (int r = 0; r < 8; r++) x[r] = (const uint8_t *)w + (size_t)(r < rows ? r : rows - 1) * row_bytes;
}

/// Per-thread packing space, grown when a wider matrix comes; kept for the thread's life. NULL
/// when memory runs out: callers then take a path that needs none (same results).
static _Thread_local __m256i *panel_space;
static _Thread_local size_t panel_capacity;

static __m256i *panel_buffer(size_t vectors) {
    if (vectors > panel_capacity) {
        free(panel_space);
        panel_space = aligned_alloc(32, vectors * sizeof(__m256i));
        panel_capacity = panel_space ? vectors : 0;
    }
    return panel_space;
}

static ALWAYS_INLINE __m256i q4_0_nibbles(const uint8_t *block) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)(block + 2));
    // low nibbles are elements 0..15, high nibbles 16..31
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0xF));
}

/// Q4_0 panels up to this size are fetched into L1 ahead of use, larger ones into L2: a panel
/// that fills half of a 32 KiB L1 would evict its own lines before they are read (measured on
/// one core decoding from DRAM: Q4_0 with 5632 columns 13 → 17 GB/s).
#define L1_PANEL_BYTES 16384

/// While a panel reads block b of its eight rows, fetch the matching stretch of the panel
/// `ahead` panels on (eight rows each, contiguous in memory), into L1 or into L2: reading
/// eight rows side by side gives the hardware prefetchers eight short streams that each end
/// after one panel, and the misses at every panel start would otherwise dominate decoding. A
/// prefetch past the end does no harm.
static ALWAYS_INLINE void prefetch_panel(const uint8_t *panel, size_t row_bytes, int b, int block_bytes, int ahead, int into_l1) {
    const uint8_t *next = panel + (size_t)ahead * 8 * row_bytes + (size_t)b * 8 * block_bytes;
    if (into_l1)
        for (int line = 0; line < 8 * block_bytes; line += 64) _mm_prefetch((const char *)next + line, _MM_HINT_T0);
    else
        for (int line = 0; line < 8 * block_bytes; line += 64) _mm_prefetch((const char *)next + line, _MM_HINT_T1);
}

/// The next panel, into L1 when it fits half of it (Q4_0 and the K-quants' prompt panels).
static ALWAYS_INLINE void prefetch_next_panel(const uint8_t *panel, size_t row_bytes, int b, int block_bytes) {
    prefetch_panel(panel, row_bytes, b, block_bytes, 1, 8 * row_bytes <= L1_PANEL_BYTES);
}

/// Q8_0 decoding reads its blocks with little work per byte: fetched into L1 its prefetches
/// held up its loads (one core from DRAM, 768 columns: 10 GB/s, 2048: 12), into L2 one panel
/// ahead 18 and 30, two panels ahead 27 and 35 GB/s (Q4_0, which unpacks nibbles, is faster
/// with L1: 15 → 19 at 2048 columns).
static ALWAYS_INLINE void prefetch_q8_0_panel(const uint8_t *panel, size_t row_bytes, int b) {
    prefetch_panel(panel, row_bytes, b, 34, 2, 0);
}

/// Writes lanes 0..rows-1 of v to out[r].
static ALWAYS_INLINE void store_rows(__m256 v, int rows, float *out) {
    if (rows == 8) { _mm256_storeu_ps(out, v); return; }
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    for (int r = 0; r < rows; r++) out[r] = lanes[r];
}

/// G tokens (qs + g·n) against a repacked Q4_0 panel: each packed vector, loaded once per block,
/// feeds all G tokens; each token's operations are those of one token alone (the same bits).
static ALWAYS_INLINE void q4_0_packed_tokens(const __m256i *packed, int nb, int G, const int8_t *qs, int n, const float *d, const float *sums,
                                             int stride, int rows, float *out, size_t out_stride) {
    __m256 acc[4], offset[4];
    for (int g = 0; g < G; g++) acc[g] = offset[g] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i p[8];
        for (int j = 0; j < 8; j++) p[j] = packed[9 * b + j];
        const __m256 dw = _mm256_castsi256_ps(packed[9 * b + 8]);
        for (int g = 0; g < G; g++) {
            const int32_t *a = (const int32_t *)(qs + (size_t)g * n + 32 * b);
            // two chains of four (integer sums: the order does not change the result)
            __m256i dot0 = _mm256_setzero_si256(), dot1 = _mm256_setzero_si256();
            for (int j = 0; j < 8; j += 2) {
                dot0 = dot_u8s8_acc(dot0, p[j], _mm256_set1_epi32(a[j]));
                dot1 = dot_u8s8_acc(dot1, p[j + 1], _mm256_set1_epi32(a[j + 1]));
            }
            const __m256i dot = _mm256_add_epi32(dot0, dot1);
            acc[g] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(d[(size_t)b * stride + g])), _mm256_cvtepi32_ps(dot), acc[g]);
            offset[g] = _mm256_fmadd_ps(dw, _mm256_set1_ps(sums[(size_t)b * stride + g]), offset[g]);
        }
    }
    for (int g = 0; g < G; g++) store_rows(_mm256_fnmadd_ps(_mm256_set1_ps(8), offset[g], acc[g]), rows, out + (size_t)g * out_stride);
}

void VARIANT(llcl_panel_q4_0)(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d,
                              const float *sums, int stride, float *out, size_t out_stride) {
    const int nb = n / 32;
    const uint8_t *x[8];
    panel_rows(w, row_bytes, rows, x);
    __m256i *packed = tokens >= PACK_MIN_TOKENS ? panel_buffer((size_t)nb * 9) : NULL;
    if (packed) {
        for (int b = 0; b < nb; b++) {
            prefetch_next_panel(x[0], row_bytes, b, 18);
            __m256i v[8];
            for (int r = 0; r < 8; r++) v[r] = q4_0_nibbles(x[r] + (size_t)b * 18);
            transpose8(v, packed + 9 * b);  // vector j, lane r: row r's values 4j..4j+3
            packed[9 * b + 8] = _mm256_castps_si256(panel_halves(x, b, 18, 0));
        }
        RUN_PACKED_TOKENS(q4_0_packed_tokens, Q8_0_SUMS);
        return;
    }
    for (int t = 0; t < tokens; t++) {
        const int8_t *q = qs + (size_t)t * n;
        __m256 acc = _mm256_setzero_ps(), offset = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            prefetch_next_panel(x[0], row_bytes, b, 18);
            const __m256i a = _mm256_loadu_si256((const __m256i *)(q + 32 * b));
            __m256i v[8];
            for (int r = 0; r < 8; r++) v[r] = dot_u8s8_acc(_mm256_setzero_si256(), q4_0_nibbles(x[r] + (size_t)b * 18), a);
            const __m256i dot = sum_rows(v);
            const __m256 dw = panel_halves(x, b, 18, 0);
            acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(d[(size_t)b * stride + t])), _mm256_cvtepi32_ps(dot), acc);
            // nibbles carry +8: Σ dw·(da·Σa) is taken out at the end
            offset = _mm256_fmadd_ps(dw, _mm256_set1_ps(sums[(size_t)b * stride + t]), offset);
        }
        store_rows(_mm256_fnmadd_ps(_mm256_set1_ps(8), offset, acc), rows, out + (size_t)t * out_stride);
    }
}

/// Σ of the 32 signed bytes at q (exact).
static ALWAYS_INLINE int32_t byte_sum(const int8_t *q) {
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), _mm256_loadu_si256((const __m256i *)q));
    return hsum_i32(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

/// G tokens against a repacked Q8_0 panel, as q4_0_packed_tokens (VNNI: weights biased by 128,
/// taken out through the block sums; AVX2: |w| and the activations with w's sign).
static ALWAYS_INLINE void q8_0_packed_tokens(const __m256i *packed, int nb, int G, const int8_t *qs, int n, const float *d, const float *sums,
                                             int stride, int rows, float *out, size_t out_stride) {
#ifdef LLCL_VNNI
    enum { per_block = 9 };
#else
    enum { per_block = 17 };
#endif
    __m256 acc[4], offset[4];
    for (int g = 0; g < G; g++) acc[g] = offset[g] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const __m256i *p = packed + per_block * b;
        __m256i v[8];
        for (int j = 0; j < 8; j++) v[j] = p[j];
        const __m256 dw = _mm256_castsi256_ps(p[per_block - 1]);
        for (int g = 0; g < G; g++) {
            const int8_t *q = qs + (size_t)g * n + 32 * b;
            const int32_t *a = (const int32_t *)q;
            __m256i dot0 = _mm256_setzero_si256(), dot1 = _mm256_setzero_si256();
            for (int j = 0; j < 8; j += 2) {
#ifdef LLCL_VNNI
                dot0 = dot_u8s8_acc(dot0, v[j], _mm256_set1_epi32(a[j]));
                dot1 = dot_u8s8_acc(dot1, v[j + 1], _mm256_set1_epi32(a[j + 1]));
#else
                dot0 = dot_u8s8_acc(dot0, v[j], _mm256_sign_epi8(_mm256_set1_epi32(a[j]), p[8 + j]));
                dot1 = dot_u8s8_acc(dot1, v[j + 1], _mm256_sign_epi8(_mm256_set1_epi32(a[j + 1]), p[9 + j]));
#endif
            }
            __m256i dot = _mm256_add_epi32(dot0, dot1);
#ifndef LLCL_VNNI
            dot = _mm256_add_epi32(dot, _mm256_set1_epi32(128 * byte_sum(q)));
#endif
            acc[g] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(d[(size_t)b * stride + g])), _mm256_cvtepi32_ps(dot), acc[g]);
            offset[g] = _mm256_fmadd_ps(dw, _mm256_set1_ps(sums[(size_t)b * stride + g]), offset[g]);
        }
    }
    for (int g = 0; g < G; g++) store_rows(_mm256_fnmadd_ps(_mm256_set1_ps(128), offset[g], acc[g]), rows, out + (size_t)g * out_stride);
}

void VARIANT(llcl_panel_q8_0)(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d,
                              const float *sums, int stride, float *out, size_t out_stride) {
    const int nb = n / 32;
    const uint8_t *x[8];
    panel_rows(w, row_bytes, rows, x);
    // The block dot is taken with the weights biased to unsigned bytes, Σ (w + 128)·a, the
    // operands vpdpbusd multiplies; the 128·Σa this adds is taken out at the end through the
    // activation block sums, as Q4_0's +8. Without VNNI (vpmaddubsw would saturate on w + 128)
    // the same integer is formed as Σ w·a (by |w| and a with w's sign) + 128·Σa.
#ifdef LLCL_VNNI
    enum { per_block = 9 };
    const __m256i bias = _mm256_set1_epi8((char)0x80);
#else
    enum { per_block = 17 };
#endif
    __m256i *packed = tokens >= PACK_MIN_TOKENS ? panel_buffer((size_t)nb * per_block) : NULL;
    if (packed) {
        for (int b = 0; b < nb; b++) {
            prefetch_q8_0_panel(x[0], row_bytes, b);
            __m256i v[8];
            for (int r = 0; r < 8; r++) v[r] = _mm256_loadu_si256((const __m256i *)(x[r] + (size_t)b * 34 + 2));
#ifdef LLCL_VNNI
            for (int r = 0; r < 8; r++) v[r] = _mm256_xor_si256(v[r], bias);
            transpose8(v, packed + per_block * b);
#else
            __m256i m[8];
            for (int r = 0; r < 8; r++) m[r] = _mm256_sign_epi8(v[r], v[r]);
            transpose8(m, packed + per_block * b);
            transpose8(v, packed + per_block * b + 8);
#endif
            packed[per_block * b + per_block - 1] = _mm256_castps_si256(panel_halves(x, b, 34, 0));
        }
        RUN_PACKED_TOKENS(q8_0_packed_tokens, Q8_0_SUMS);
        return;
    }
    for (int t = 0; t < tokens; t++) {
        const int8_t *q = qs + (size_t)t * n;
        __m256 acc = _mm256_setzero_ps(), offset = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            prefetch_q8_0_panel(x[0], row_bytes, b);
            const __m256i a = _mm256_loadu_si256((const __m256i *)(q + 32 * b));
            __m256i v[8];
            for (int r = 0; r < 8; r++) {
                const __m256i wr = _mm256_loadu_si256((const __m256i *)(x[r] + (size_t)b * 34 + 2));
#ifdef LLCL_VNNI
                v[r] = dot_u8s8_acc(_mm256_setzero_si256(), _mm256_xor_si256(wr, bias), a);
#else
                v[r] = dot_u8s8_acc(_mm256_setzero_si256(), _mm256_sign_epi8(wr, wr), _mm256_sign_epi8(a, wr));
#endif
            }
            __m256i dot = sum_rows(v);
#ifndef LLCL_VNNI
            dot = _mm256_add_epi32(dot, _mm256_set1_epi32(128 * byte_sum(q + 32 * b)));
#endif
            const __m256 dw = panel_halves(x, b, 34, 0);
            acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(d[(size_t)b * stride + t])), _mm256_cvtepi32_ps(dot), acc);
            offset = _mm256_fmadd_ps(dw, _mm256_set1_ps(sums[(size_t)b * stride + t]), offset);
        }
        store_rows(_mm256_fnmadd_ps(_mm256_set1_ps(128), offset, acc), rows, out + (size_t)t * out_stride);
    }
}

// Q4_1, Q5_0 and Q5_1: Q4_0's panels with unsigned 4- or 5-bit codes u and a second term per
// block (dot_legacy_portable in portable.c performs the same float operations): Q5_0 takes the
// +16 its codes carry out through the Q8_0 block sums, as Q4_0 its +8; Q4_1 and Q5_1 add
// minimum · the Q8_1 block sum (llama.cpp's m·s). Packed block: 8 value vectors, the scales,
// and (Q4_1/Q5_1) the minimums.
enum { LEGACY_Q4_1, LEGACY_Q5_0, LEGACY_Q5_1 };

static ALWAYS_INLINE int legacy_bytes(int kind) { return kind == LEGACY_Q4_1 ? 20 : kind == LEGACY_Q5_0 ? 22 : 24; }
static ALWAYS_INLINE int legacy_has_min(int kind) { return kind != LEGACY_Q5_0; }
/// What the second per-block sum is multiplied by at the end (see dot_legacy_portable).
static ALWAYS_INLINE float legacy_k(int kind) { return kind == LEGACY_Q5_0 ? -16.f : 1.f; }

/// The 32-bit word at p as 32 bytes: byte j = 0x10 where bit j is set (the fifth bit of value j).
static ALWAYS_INLINE __m256i fifth_bits(const uint8_t *p) {
    uint32_t bits;
    memcpy(&bits, p, 4);
    // byte j takes byte j/8 of the word, then keeps bit j%8 of it
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select), _mm256_set1_epi8(0x10));
}

/// The 32 unsigned codes of a Q4_1/Q5_0/Q5_1 block, in element order.
static ALWAYS_INLINE __m256i legacy_values(const uint8_t *block, int kind) {
    const int qs_at = kind == LEGACY_Q4_1 ? 4 : kind == LEGACY_Q5_0 ? 6 : 8;
    const __m128i raw = _mm_loadu_si128((const __m128i *)(block + qs_at));
    __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0xF));
    if (kind != LEGACY_Q4_1) v = _mm256_or_si256(v, fifth_bits(block + (kind == LEGACY_Q5_0 ? 2 : 4)));
    return v;
}

/// G tokens against a repacked Q4_1/Q5_0/Q5_1 panel, as q4_0_packed_tokens.
static ALWAYS_INLINE void legacy_packed_tokens(int kind, const __m256i *packed, int nb, int G, const int8_t *qs, int n, const float *d,
                                               const float *sums, int stride, int rows, float *out, size_t out_stride) {
    const int per = legacy_has_min(kind) ? 10 : 9;
    __m256 acc[4], offset[4];
    for (int g = 0; g < G; g++) acc[g] = offset[g] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const __m256i *pb = packed + (size_t)per * b;
        __m256i p[8];
        for (int j = 0; j < 8; j++) p[j] = pb[j];
        const __m256 dw = _mm256_castsi256_ps(pb[8]);
        const __m256 c = legacy_has_min(kind) ? _mm256_castsi256_ps(pb[9]) : dw;
        for (int g = 0; g < G; g++) {
            const int32_t *a = (const int32_t *)(qs + (size_t)g * n + 32 * b);
            __m256i dot0 = _mm256_setzero_si256(), dot1 = _mm256_setzero_si256();
            for (int j = 0; j < 8; j += 2) {
                dot0 = dot_u8s8_acc(dot0, p[j], _mm256_set1_epi32(a[j]));
                dot1 = dot_u8s8_acc(dot1, p[j + 1], _mm256_set1_epi32(a[j + 1]));
            }
            const __m256i dot = _mm256_add_epi32(dot0, dot1);
            acc[g] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(d[(size_t)b * stride + g])), _mm256_cvtepi32_ps(dot), acc[g]);
            offset[g] = _mm256_fmadd_ps(c, _mm256_set1_ps(sums[(size_t)b * stride + g]), offset[g]);
        }
    }
    for (int g = 0; g < G; g++) store_rows(_mm256_fmadd_ps(_mm256_set1_ps(legacy_k(kind)), offset[g], acc[g]), rows, out + (size_t)g * out_stride);
}

static ALWAYS_INLINE void legacy_panel(int kind, int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d,
                                       const float *sums, int stride, float *out, size_t out_stride) {
    const int nb = n / 32, bytes = legacy_bytes(kind), has_min = legacy_has_min(kind), per = has_min ? 10 : 9;
    const uint8_t *x[8];
    panel_rows(w, row_bytes, rows, x);
    __m256i *packed = tokens >= PACK_MIN_TOKENS ? panel_buffer((size_t)nb * per) : NULL;
    if (packed) {
        for (int b = 0; b < nb; b++) {
            prefetch_next_panel(x[0], row_bytes, b, bytes);
            __m256i v[8];
            for (int r = 0; r < 8; r++) v[r] = legacy_values(x[r] + (size_t)b * bytes, kind);
            transpose8(v, packed + (size_t)per * b);  // vector j, lane r: row r's values 4j..4j+3
            packed[(size_t)per * b + 8] = _mm256_castps_si256(panel_halves(x, b, bytes, 0));
            if (has_min) packed[(size_t)per * b + 9] = _mm256_castps_si256(panel_halves(x, b, bytes, 2));
        }
        int t = 0;
        for (; t + PACK_GROUP <= tokens; t += PACK_GROUP)
            legacy_packed_tokens(kind, packed, nb, PACK_GROUP, qs + (size_t)t * n, n, d + t, sums + t, stride, rows, out + (size_t)t * out_stride, out_stride);
        for (; t < tokens; t++)
            legacy_packed_tokens(kind, packed, nb, 1, qs + (size_t)t * n, n, d + t, sums + t, stride, rows, out + (size_t)t * out_stride, out_stride);
        return;
    }
    for (int t = 0; t < tokens; t++) {
        const int8_t *q = qs + (size_t)t * n;
        __m256 acc = _mm256_setzero_ps(), offset = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            prefetch_next_panel(x[0], row_bytes, b, bytes);
            const __m256i a = _mm256_loadu_si256((const __m256i *)(q + 32 * b));
            __m256i v[8];
            for (int r = 0; r < 8; r++) v[r] = dot_u8s8_acc(_mm256_setzero_si256(), legacy_values(x[r] + (size_t)b * bytes, kind), a);
            const __m256i dot = sum_rows(v);
            const __m256 dw = panel_halves(x, b, bytes, 0);
            const __m256 c = has_min ? panel_halves(x, b, bytes, 2) : dw;
            acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(d[(size_t)b * stride + t])), _mm256_cvtepi32_ps(dot), acc);
            offset = _mm256_fmadd_ps(c, _mm256_set1_ps(sums[(size_t)b * stride + t]), offset);
        }
        store_rows(_mm256_fmadd_ps(_mm256_set1_ps(legacy_k(kind)), offset, acc), rows, out + (size_t)t * out_stride);
    }
}

void VARIANT(llcl_panel_q4_1)(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d,
                              const float *sums, int stride, float *out, size_t out_stride) {
    legacy_panel(LEGACY_Q4_1, n, w, row_bytes, rows, tokens, qs, d, sums, stride, out, out_stride);
}
void VARIANT(llcl_panel_q5_0)(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d,
                              const float *sums, int stride, float *out, size_t out_stride) {
    legacy_panel(LEGACY_Q5_0, n, w, row_bytes, rows, tokens, qs, d, sums, stride, out, out_stride);
}
void VARIANT(llcl_panel_q5_1)(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d,
                              const float *sums, int stride, float *out, size_t out_stride) {
    legacy_panel(LEGACY_Q5_1, n, w, row_bytes, rows, tokens, qs, d, sums, stride, out, out_stride);
}
