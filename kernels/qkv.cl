// attention input: one launch for everything between the residual stream and attention.
//   n = rmsnorm(x[t])·norm, q[t] = rope(Wq·n + bq), K cell = rope(Wk·n + bk), V cell = Wv·n + bv
// The slot of matvec.cl is a PAIR of output rows here: the two values RoPE rotates together
// ((2i, 2i+1) for "normal", (i, i + dims/2) for "neox"; rows past the rotated `dims` of a head,
// and V's rows, are paired (r, r+1) and not rotated). Both dot products of a pair are in the same
// lanes, so the rotation happens in registers, and K and V are written straight into the cells
// of the KV cache: no q/k/v round trip, no separate rope or store-KV launch. Weights must share
// one type (the program's WEIGHT_TYPE) and width; the host falls back to separate ops otherwise.
// The rotation uses the host's cos/sin table [rows, rope_pairs] (rope.cl explains why) and the
// same operations as rope_rows, so q and K are bit-identical to matvec + rope + store.
// Global (local_size · ⌈slots / slots per group⌉, ⌈rows / MAX_ROWS⌉), slots = (q_dim + 2·kv_dim) / 2.
kernel void attention_input_rows(global float* q, global float* k_cache, global float* v_cache,
                                 weight_row wq, weight_row wk, weight_row wv, ulong row_bytes,
                                 global const float* bq, global const float* bk, global const float* bv, int has_bias,
                                 global const float* x, global const float* norm, float eps,
                                 global const float* cosines, global const float* sines, global const int* cells,
                                 int cols, int heads, int kv_heads, int head_dim, int rope_pairs, int neox,
                                 int rows, int lanes, local float* partial) {
    int lid = get_local_id(0), lane = lid % lanes, t0;
    int slot = get_group_id(0) * (get_local_size(0) / lanes) + lid / lanes, nrows = block_rows(rows, &t0);
    int q_slots = heads * head_dim / 2, kv_slots = kv_heads * head_dim / 2, kv_dim = kv_heads * head_dim;
    int valid = slot < q_slots + 2 * kv_slots;

    // which matrix, and the two rows of the pair
    int which = slot < q_slots ? 0 : (slot < q_slots + kv_slots ? 1 : 2);
    int p = slot - (which == 0 ? 0 : (which == 1 ? q_slots : q_slots + kv_slots));
    int a = 2 * p, b = 2 * p + 1, rotate = 0, pair = 0;
    if (which < 2) {
        int half_dim = head_dim / 2, h = p / half_dim, j = p % half_dim;
        if (j < rope_pairs) {
            rotate = 1; pair = j;
            a = neox ? j : 2 * j; b = neox ? j + rope_pairs : 2 * j + 1;
        } else {
            a = 2 * j; b = a + 1;   // past the rotated dims: 2·rope_pairs + 2·(j - rope_pairs)
        }
        a += h * head_dim; b += h * head_dim;
    }
    weight_row w = which == 0 ? wq : (which == 1 ? wk : wv);
    global const float* bias = which == 0 ? bq : (which == 1 ? bk : bv);

    float acc_a[MAX_ROWS] = {0.0f, 0.0f, 0.0f, 0.0f}, acc_b[MAX_ROWS] = {0.0f, 0.0f, 0.0f, 0.0f}, scale[MAX_ROWS];
    global const float* xs = x + (size_t)t0 * cols;
    rms_scales(xs, cols, nrows, eps, partial, scale);
    if (valid) {
        lane_dots(w + (size_t)a * row_bytes, xs, cols, nrows, norm, scale, lane, lanes, acc_a);
        lane_dots(w + (size_t)b * row_bytes, xs, cols, nrows, norm, scale, lane, lanes, acc_b);
    }
    for (int i = 0; i < nrows; i++) {
        float va = lanes_sum(partial, acc_a[i], lanes);
        float vb = lanes_sum(partial, acc_b[i], lanes);
        if (lane != 0 || !valid) continue;
        int t = t0 + i;
        if (has_bias) { va = va + bias[a]; vb = vb + bias[b]; }
        if (rotate) {
            float c = cosines[(size_t)t * rope_pairs + pair], s = sines[(size_t)t * rope_pairs + pair];
            float ra = va * c - vb * s, rb = va * s + vb * c;
            va = ra; vb = rb;
        }
        global float* dst = which == 0 ? q + (size_t)t * heads * head_dim
                          : (which == 1 ? k_cache : v_cache) + (size_t)cells[t] * kv_dim;
        dst[a] = va;
        dst[b] = vb;
    }
}
