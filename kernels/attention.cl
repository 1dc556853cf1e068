// attention: for row t and head h, softmax(q·K/sqrt(Dh)) over the cache cells the BatchPlan
// lets t see (CSR: visible[offsets[t] ..< offsets[t+1]], host-built, causal and per sequence),
// times V. GQA: head h reads KV head h / (heads / kv_heads). Softmax in F32 with -inf as the
// running max's start, so the build must not use fast/finite-math flags.
// Scores go to a global scratch [rows, heads, score_stride]; the V sum runs over cells in plan
// order, one work-item per output dimension, like the CPU reference.
// One work-group per (h, t - row0); power-of-two work-group size. Global (ls, heads, rows).
kernel void attention_rows(global float* out, global const float* q,
                           global const float* k_cache, global const float* v_cache,
                           global const int* offsets, global const int* visible,
                           global float* scores, int score_stride, int row0,
                           int heads, int kv_heads, int head_dim, float scale,
                           local float* partial) {
    int lid = get_local_id(0), ls = get_local_size(0);
    int h = get_group_id(1), t = row0 + get_group_id(2);
    int kv_dim = kv_heads * head_dim, kvh = h / (heads / kv_heads);
    int lo = offsets[t], n = offsets[t + 1] - lo;
    global const float* qh = q + ((size_t)t * heads + h) * head_dim;
    global float* sc = scores + ((size_t)get_group_id(2) * heads + h) * score_stride;

    float m = -INFINITY;
    for (int j = lid; j < n; j += ls) {
        global const float* kr = k_cache + (size_t)visible[lo + j] * kv_dim + kvh * head_dim;
        float s = 0.0f;
        for (int d = 0; d < head_dim; d++) s += qh[d] * kr[d];
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
    sum = group_reduce_sum(partial, sum);
    barrier(CLK_GLOBAL_MEM_FENCE);   // every sc[j] written above is read by every work-item below

    global float* o = out + ((size_t)t * heads + h) * head_dim;
    for (int d = lid; d < head_dim; d += ls) {
        float acc = 0.0f;
        for (int j = 0; j < n; j++)
            acc += sc[j] / sum * v_cache[(size_t)visible[lo + j] * kv_dim + kvh * head_dim + d];
        o[d] = acc;
    }
}
