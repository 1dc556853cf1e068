// matvec: out[t][o] = Σ_i W[o][i]·x[t][i] (+ bias[o]) for a few rows t (single-token decode),
// reading the weight in its stored type (quantized blocks decoded on the fly, F32 accumulate).
// One work-group per (output o, row t); power-of-two work-group size; `partial` one float per
// work-item. Every supported type goes through weight_at(); the type is uniform per launch, so
// the switch is hoisted out of the loop by the compiler.
// Global size (local_size · outputs, rows).
kernel void matvec_rows(global float* out, weight_row w, int type, ulong row_bytes,
                        global const float* x, global const float* bias, int has_bias,
                        int cols, int outputs, local float* partial) {
    int o = get_group_id(0), t = get_group_id(1), lid = get_local_id(0), ls = get_local_size(0);
    weight_row row = w + (size_t)o * row_bytes;
    global const float* xr = x + (size_t)t * cols;
    float s = 0.0f;
    for (int i = lid; i < cols; i += ls) s += weight_at(type, row, i) * xr[i];
    s = group_reduce_sum(partial, s);
    if (lid == 0) out[(size_t)t * outputs + o] = has_bias ? s + bias[o] : s;
}
