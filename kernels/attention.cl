// attention: for row t and head h, softmax(q·K/sqrt(Dh)) over the cache cells the BatchPlan
// lets t see (CSR: visible[offsets[t] ..< offsets[t+1]], host-built, causal and per sequence),
// times V. GQA: head h reads KV head h / (heads / kv_heads). Softmax in F32 with -inf as the
// running max's start, so the build must not use fast/finite-math flags.
// One work-group per (h, t - row0); power-of-two work-group size ls. Global (ls, heads, rows).
// Local memory: `partial` (ls floats) for the reductions, `q_local` (head_dim floats: the query,
// read by every work-item for every key), `p_tile` and `cell_tile` (ls each: a tile of
// probabilities and cache rows, loaded once for all head_dim outputs instead of once each).
// Scores go to a global scratch [rows, heads, score_stride], normalised in place; the V sum
// runs over cells in plan order, one work-item per output dimension, like the CPU.
kernel void attention_rows(global float* out, global const float* q,
                           global const float* k_cache, global const float* v_cache,
                           global const int* offsets, global const int* visible,
                           global float* scores, int score_stride, int row0,
                           int heads, int kv_heads, int head_dim, float scale,
                           local float* partial, local float* q_local, local float* p_tile, local int* cell_tile) {
    int lid = get_local_id(0), ls = get_local_size(0);
    int h = get_group_id(1), t = row0 + get_group_id(2);
    int kv_dim = kv_heads * head_dim, kvh = h / (heads / kv_heads);
    int lo = offsets[t], n = offsets[t + 1] - lo;
    global const float* qh = q + ((size_t)t * heads + h) * head_dim;
    global float* sc = scores + ((size_t)get_group_id(2) * heads + h) * score_stride;

    for (int d = lid; d < head_dim; d += ls) q_local[d] = qh[d];
    barrier(CLK_LOCAL_MEM_FENCE);

    float m = -INFINITY;
    for (int j = lid; j < n; j += ls) {
        global const float* kr = k_cache + (size_t)visible[lo + j] * kv_dim + kvh * head_dim;
        float s = 0.0f;
        for (int d = 0; d < head_dim; d++) s += q_local[d] * kr[d];
        s *= scale;
        sc[j] = s;
        m = fmax(m, s);
    }
    m = group_reduce_max(partial, m);

    float sum = 0.0f;
    for (int j = lid; j < n; j += ls) {
        float e = exp(sc[j] - m);
        sc[j] = e;
        sum += e;
    }
    const float inv = 1.0f / group_reduce_sum(partial, sum);

    global float* o = out + ((size_t)t * heads + h) * head_dim;
    // one accumulator per output dimension this work-item owns (head_dim ≤ 4·ls: checked by the host)
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int first = 0; first < n; first += ls) {
        // each work-item loads the one score it wrote above: no global barrier needed
        int j = first + lid;
        barrier(CLK_LOCAL_MEM_FENCE);   // the previous tile has been read by everyone
        if (j < n) {
            p_tile[lid] = sc[j] * inv;
            cell_tile[lid] = visible[lo + j] * kv_dim + kvh * head_dim;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        int count = min(ls, n - first);
        for (int r = 0; r * ls < head_dim; r++) {
            int d = lid + r * ls;
            if (d < head_dim)
                for (int c = 0; c < count; c++) acc[r] += p_tile[c] * v_cache[(size_t)cell_tile[c] + d];
        }
    }
    for (int r = 0; r * ls < head_dim; r++) {
        int d = lid + r * ls;
        if (d < head_dim) o[d] = acc[r];
    }
}

// Split-K attention for decode (flash-decoding): a decode step has one row per sequence, so
// one work-group per head (attention_rows) leaves most of a GPU idle at long contexts. Here
// row t's visible cells are cut into chunks of `chunk` and each (chunk, head, row) gets its own
// work-group: s = its chunk's scores in local memory, m = their max, l = Σ e^(s - m), and
// o = Σ e^(s - m)·V. With one chunk (short contexts) the group writes o / l to `out` and no
// combine launch is needed; otherwise it writes (o[head_dim], m, l) to `partials`
// [rows, heads, splits, head_dim + 2] and attention_combine merges them.
// Global (ls, heads, rows · splits); local: `partial` (ls), `q_local` (head_dim), `sc` and
// `cell_tile` (chunk each).
kernel void attention_split_rows(global float* out, global float* partials, global const float* q,
                                 global const float* k_cache, global const float* v_cache,
                                 global const int* offsets, global const int* visible,
                                 int splits, int chunk, int heads, int kv_heads, int head_dim, float scale,
                                 local float* partial, local float* q_local, local float* sc, local int* cell_tile) {
    int lid = get_local_id(0), ls = get_local_size(0);
    int h = get_group_id(1), t = get_group_id(2) / splits, split = get_group_id(2) % splits;
    int kv_dim = kv_heads * head_dim, kvh = h / (heads / kv_heads);
    int first = offsets[t] + split * chunk;
    int count = clamp(offsets[t + 1] - first, 0, chunk);
    global const float* qh = q + ((size_t)t * heads + h) * head_dim;

    for (int d = lid; d < head_dim; d += ls) q_local[d] = qh[d];
    barrier(CLK_LOCAL_MEM_FENCE);

    float m = -INFINITY;
    for (int j = lid; j < count; j += ls) {
        int base = visible[first + j] * kv_dim + kvh * head_dim;
        global const float* kr = k_cache + (size_t)base;
        float s = 0.0f;
        for (int d = 0; d < head_dim; d++) s += q_local[d] * kr[d];
        s *= scale;
        sc[j] = s;
        cell_tile[j] = base;
        m = fmax(m, s);
    }
    m = group_reduce_max(partial, m);
    float sum = 0.0f;
    for (int j = lid; j < count; j += ls) {
        float e = exp(sc[j] - m);
        sc[j] = e;
        sum += e;
    }
    const float l = group_reduce_sum(partial, sum);   // its barriers also publish sc and cell_tile

    // one accumulator per output dimension this work-item owns (head_dim ≤ 4·ls: checked by the host)
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int r = 0; r * ls < head_dim; r++) {
        int d = lid + r * ls;
        if (d < head_dim)
            for (int c = 0; c < count; c++) acc[r] += sc[c] * v_cache[(size_t)cell_tile[c] + d];
    }
    if (splits == 1) {
        global float* o = out + ((size_t)t * heads + h) * head_dim;
        const float inv = l > 0.0f ? 1.0f / l : 0.0f;
        for (int r = 0; r * ls < head_dim; r++) {
            int d = lid + r * ls;
            if (d < head_dim) o[d] = acc[r] * inv;
        }
    } else {
        global float* p = partials + (((size_t)t * heads + h) * splits + split) * (head_dim + 2);
        for (int r = 0; r * ls < head_dim; r++) {
            int d = lid + r * ls;
            if (d < head_dim) p[d] = acc[r];
        }
        if (lid == 0) { p[head_dim] = m; p[head_dim + 1] = l; }
    }
}

// Merges attention_split_rows' chunks: with M = max m_s, out = Σ e^(m_s - M)·o_s / Σ e^(m_s - M)·l_s.
// An empty chunk has m = -inf and contributes nothing. Global (head_dim, heads, rows).
kernel void attention_combine(global float* out, global const float* partials, int splits, int heads, int head_dim) {
    int d = get_global_id(0), h = get_global_id(1), t = get_global_id(2);
    if (d >= head_dim) return;
    global const float* p = partials + ((size_t)t * heads + h) * splits * (head_dim + 2);
    float top = -INFINITY;
    for (int s = 0; s < splits; s++) top = fmax(top, p[s * (head_dim + 2) + head_dim]);
    float l = 0.0f, o = 0.0f;
    for (int s = 0; s < splits; s++) {
        global const float* ps = p + s * (head_dim + 2);
        float ms = ps[head_dim];
        float w = ms == -INFINITY ? 0.0f : exp(ms - top);
        l += w * ps[head_dim + 1];
        o += w * ps[d];
    }
    out[((size_t)t * heads + h) * head_dim + d] = l > 0.0f ? o / l : 0.0f;
}
