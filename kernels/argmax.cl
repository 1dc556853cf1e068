// argmax: out[t] = the index of the largest value of row t, the first one on ties, exactly as
// LlamaCore.argmax (a sequential `x[i] > x[best]` scan from best = 0): NaNs are never chosen,
// and a NaN in x[0] makes the answer 0. Greedy decoding then reads back 4 bytes per row instead
// of the whole row of logits. One work-group per row; power-of-two group size; `best_v` and
// `best_i` hold one candidate per work-item. Global (local_size · rows).
kernel void argmax_rows(global int* out, global const float* x, int cols, local float* best_v, local int* best_i) {
    int t = get_group_id(0), lid = get_local_id(0), ls = get_local_size(0);
    global const float* xr = x + (size_t)t * cols;
    float bv = -INFINITY;
    int bi = cols;   // no candidate yet: loses to any value, -inf included
    for (int i = lid; i < cols; i += ls) {
        float v = xr[i];
        if (!isnan(v) && (v > bv || (v == bv && i < bi))) { bv = v; bi = i; }
    }
    best_v[lid] = bv; best_i[lid] = bi;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = ls / 2; s > 0; s >>= 1) {
        if (lid < s) {
            float ov = best_v[lid + s];
            int oi = best_i[lid + s];
            if (ov > best_v[lid] || (ov == best_v[lid] && oi < best_i[lid])) { best_v[lid] = ov; best_i[lid] = oi; }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) out[t] = (isnan(xr[0]) || best_i[0] >= cols) ? 0 : best_i[0];
}
