// The attention of the query heads that share a KV head over their cached positions, included
// once per instruction-set variant (vector_avx2.c, vector_vnni.c) like vector_body.h. Every
// variant gives the bits of llcl_attend_group_portable (portable.c): each score is summed in 16
// lanes (lane = dimension mod 16, dimensions in order), the lanes folded in halves (8 + 8,
// 4 + 4, 2 + 2, 1 + 1), the head size's remainder added after, then scaled; the output sums
// the keys' values in order, one fused multiply-add per key and dimension.
//
// At a long context, attention was a third of decoding time, mostly one horizontal sum per key
// and head and the same keys read again for every head of a group. Here the heads that share a
// KV head meet each block of 16 keys while it is in L1, and the AVX-512 copy folds 16 keys'
// lanes together (15 shuffles per 16 keys instead of 4 per key). TinyLlama at 1024 cached
// tokens, one core, cache in L3: 358 → 120 µs per layer (the AVX2 copy 385 → 260). Two heads
// share each load of a value vector, and the softmax finds its maximum 8 scores at a time.

/// Lanes 0–7 and 8–15 of one key's 16-lane dot product with q, in the first 16·⌊n/16⌋ dimensions.
static ALWAYS_INLINE void attend_lanes(const float *q, const float *k, int n16, __m256 *lo, __m256 *hi) {
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    for (int i = 0; i < n16; i += 16) {
        a = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + i), a);
        b = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(k + i + 8), b);
    }
    *lo = a; *hi = b;
}

/// A folded lane sum finished: the dimensions past the last whole 16, then the scale.
static ALWAYS_INLINE float attend_finish(float s, const float *q, const float *k, int n16, int n, float scale) {
    for (int i = n16; i < n; i++) s = fmaf(q[i], k[i], s);
    return s * scale;
}

#ifdef LLCL_VNNI
/// The folded sums of 16 keys' 16-lane accumulators. Slot s holds key 4·(s mod 4) + ⌊s/4⌋:
/// the shuffles leave slot 4m + k's sum in lane 4k + m, so lane L ends up with key L's.
/// Each add is one of hsum's pairwise adds for that key, so each sum has the same bits.
static ALWAYS_INLINE __m512 attend_fold16(const __m512 a[16]) {
    __m512 r[8], p[4], u[2];
    for (int i = 0; i < 8; i++)  // 16 → 8 lanes: [key 2i | key 2i+1]
        r[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0x44), _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0xEE));
    for (int i = 0; i < 4; i++)  // 8 → 4: one key per 128-bit chunk
        p[i] = _mm512_add_ps(_mm512_shuffle_f32x4(r[2 * i], r[2 * i + 1], 0x88), _mm512_shuffle_f32x4(r[2 * i], r[2 * i + 1], 0xDD));
    for (int i = 0; i < 2; i++)  // 4 → 2: two keys per chunk
        u[i] = _mm512_add_ps(_mm512_shuffle_ps(p[2 * i], p[2 * i + 1], 0x44), _mm512_shuffle_ps(p[2 * i], p[2 * i + 1], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_ps(u[0], u[1], 0x88), _mm512_shuffle_ps(u[0], u[1], 0xDD));  // 2 → 1
}
#endif

/// Keys per block: a block's keys and values (16 × head size floats each) stay in L1 while
/// every query head of the group meets them, so the group reads the cache once, not once per head.
enum { ATTEND_BLOCK = 16 };

/// Scores of one head against one block of nb keys (rows at keys[]), scaled, into s[0..<nb].
static ALWAYS_INLINE void attend_scores(const float *q, const float *const *keys, int nb, int head_dim, float scale, float *s) {
    const int n16 = head_dim / 16 * 16;
    int j = 0;
#ifdef LLCL_VNNI
    if (nb == ATTEND_BLOCK) {
        __m512 acc[16];
        for (int slot = 0; slot < 16; slot++) {
            const float *key = keys[4 * (slot & 3) + (slot >> 2)];
            __m512 a = _mm512_setzero_ps();
            for (int i = 0; i < n16; i += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(key + i), a);
            acc[slot] = a;
        }
        _mm512_storeu_ps(s, attend_fold16(acc));
        for (int L = 0; L < 16; L++) s[L] = attend_finish(s[L], q, keys[L], n16, head_dim, scale);
        j = 16;
    }
#endif
    for (; j < nb; j++) {
        __m256 lo, hi;
        attend_lanes(q, keys[j], n16, &lo, &hi);
        s[j] = attend_finish(hsum(_mm256_add_ps(lo, hi)), q, keys[j], n16, head_dim, scale);
    }
}

/// o += Σ_j p[j] · values[j] over one block, for each dimension in key order.
static ALWAYS_INLINE void attend_values(const float *p, const float *const *values, int nb, int head_dim, float *o) {
    int d = 0;
#ifdef LLCL_VNNI
    for (; d + 64 <= head_dim; d += 64) {
        __m512 o0 = _mm512_loadu_ps(o + d), o1 = _mm512_loadu_ps(o + d + 16), o2 = _mm512_loadu_ps(o + d + 32), o3 = _mm512_loadu_ps(o + d + 48);
        for (int j = 0; j < nb; j++) {
            const float *value = values[j] + d;
            const __m512 pj = _mm512_set1_ps(p[j]);
            o0 = _mm512_fmadd_ps(pj, _mm512_loadu_ps(value), o0);
            o1 = _mm512_fmadd_ps(pj, _mm512_loadu_ps(value + 16), o1);
            o2 = _mm512_fmadd_ps(pj, _mm512_loadu_ps(value + 32), o2);
            o3 = _mm512_fmadd_ps(pj, _mm512_loadu_ps(value + 48), o3);
        }
        _mm512_storeu_ps(o + d, o0); _mm512_storeu_ps(o + d + 16, o1);
        _mm512_storeu_ps(o + d + 32, o2); _mm512_storeu_ps(o + d + 48, o3);
    }
#endif
    for (; d + 16 <= head_dim; d += 16) {
        __m256 o0 = _mm256_loadu_ps(o + d), o1 = _mm256_loadu_ps(o + d + 8);
        for (int j = 0; j < nb; j++) {
            const __m256 pj = _mm256_set1_ps(p[j]);
            o0 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(values[j] + d), o0);
            o1 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(values[j] + d + 8), o1);
        }
        _mm256_storeu_ps(o + d, o0); _mm256_storeu_ps(o + d + 8, o1);
    }
    for (; d < head_dim; d++)
        for (int j = 0; j < nb; j++) o[d] = fmaf(p[j], values[j][d], o[d]);
}

#ifdef LLCL_VNNI
/// attend_values for two heads at once: each value vector is loaded once for both (the loop is
/// bound by loads), and each head's sums are the same operations in the same order.
static ALWAYS_INLINE void attend_values2(const float *pa, const float *pb, const float *const *values, int nb, int head_dim, float *oa, float *ob) {
    int d = 0;
    for (; d + 64 <= head_dim; d += 64) {
        __m512 a[4], b[4];
        for (int i = 0; i < 4; i++) { a[i] = _mm512_loadu_ps(oa + d + 16 * i); b[i] = _mm512_loadu_ps(ob + d + 16 * i); }
        for (int j = 0; j < nb; j++) {
            const __m512 wa = _mm512_set1_ps(pa[j]), wb = _mm512_set1_ps(pb[j]);
            for (int i = 0; i < 4; i++) {
                const __m512 value = _mm512_loadu_ps(values[j] + d + 16 * i);
                a[i] = _mm512_fmadd_ps(wa, value, a[i]);
                b[i] = _mm512_fmadd_ps(wb, value, b[i]);
            }
        }
        for (int i = 0; i < 4; i++) { _mm512_storeu_ps(oa + d + 16 * i, a[i]); _mm512_storeu_ps(ob + d + 16 * i, b[i]); }
    }
    if (d < head_dim) {  // the rest of the dimensions one head at a time
        const float *rest[ATTEND_BLOCK];
        for (int j = 0; j < nb; j++) rest[j] = values[j] + d;
        attend_values(pa, rest, nb, head_dim - d, oa + d);
        attend_values(pb, rest, nb, head_dim - d, ob + d);
    }
}
#endif

/// The rows of one block (keys or values of cells[j0..<j0 + nb]); returns nb.
static ALWAYS_INLINE int attend_rows(const float *base, size_t kv_stride, const int32_t *cells, int j0, int n, const float **rows) {
    const int nb = n - j0 < ATTEND_BLOCK ? n - j0 : ATTEND_BLOCK;
    for (int j = 0; j < nb; j++) rows[j] = base + (size_t)cells[j0 + j] * kv_stride;
    return nb;
}

/// The whole group (inlined with head_dim a constant where the caller has one).
static ALWAYS_INLINE void attend_group(int head_dim, int group, const float *q, const float *k, const float *v, size_t kv_stride,
                                       const int32_t *cells, int n, float scale, float *scores, float *out) {
    const float *rows[ATTEND_BLOCK];
    for (int j0 = 0; j0 < n; j0 += ATTEND_BLOCK) {
        const int nb = attend_rows(k, kv_stride, cells, j0, n, rows);
        for (int g = 0; g < group; g++) attend_scores(q + (size_t)g * head_dim, rows, nb, head_dim, scale, scores + (size_t)g * n + j0);
    }
    for (int g = 0; g < group; g++) llcl_softmax_in_place(scores + (size_t)g * n, n);
    for (int i = 0; i < group * head_dim; i++) out[i] = 0;
    for (int j0 = 0; j0 < n; j0 += ATTEND_BLOCK) {
        const int nb = attend_rows(v, kv_stride, cells, j0, n, rows);
        int g = 0;
#ifdef LLCL_VNNI
        for (; g + 2 <= group; g += 2)
            attend_values2(scores + (size_t)g * n + j0, scores + (size_t)(g + 1) * n + j0, rows, nb, head_dim, out + (size_t)g * head_dim,
                           out + (size_t)(g + 1) * head_dim);
#endif
        for (; g < group; g++) attend_values(scores + (size_t)g * n + j0, rows, nb, head_dim, out + (size_t)g * head_dim);
    }
}

void VARIANT(llcl_attend_group)(int head_dim, int group, const float *q, const float *k, const float *v, size_t kv_stride, const int32_t *cells,
                                int n, float scale, float *scores, float *out) {
    // the usual head sizes as constants: the compiler unrolls the dimensions and keeps q in registers
    switch (head_dim) {
    case 64: attend_group(64, group, q, k, v, kv_stride, cells, n, scale, scores, out); break;
    case 128: attend_group(128, group, q, k, v, kv_stride, cells, n, scale, scores, out); break;
    default: attend_group(head_dim, group, q, k, v, kv_stride, cells, n, scale, scores, out);
    }
}
