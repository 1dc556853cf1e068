// feed-forward input: out[t][o] = silu(Wg[o]·n) · (Wu[o]·n), n = rmsnorm(x[t])·norm, in one
// launch. matvec.cl's slot is the pair (gate row o, up row o): both dot products are in the same
// lanes, so SwiGLU is applied in registers and neither product goes to memory. Same operations
// as rmsnorm_rows, matvec_rows and swiglu, in that order. Gate and up must share the program's
// WEIGHT_TYPE; the host falls back to separate ops otherwise.
// Global (local_size · ⌈outputs / slots per group⌉, ⌈rows / MAX_ROWS⌉).
kernel void gate_up_swiglu_rows(global float* out, weight_row wg, weight_row wu, ulong row_bytes,
                                global const float* x, global const float* norm, float eps,
                                int cols, int outputs, int rows, int lanes, local float* partial) {
    int lid = get_local_id(0), lane = lid % lanes, t0;
    int o = get_group_id(0) * (get_local_size(0) / lanes) + lid / lanes, nrows = block_rows(rows, &t0);
    float acc_g[MAX_ROWS] = {0.0f, 0.0f, 0.0f, 0.0f}, acc_u[MAX_ROWS] = {0.0f, 0.0f, 0.0f, 0.0f}, scale[MAX_ROWS];
    global const float* xs = x + (size_t)t0 * cols;
    rms_scales(xs, cols, nrows, eps, partial, scale);
    if (o < outputs) {
        lane_dots(wg + (size_t)o * row_bytes, xs, cols, nrows, norm, scale, lane, lanes, acc_g);
        lane_dots(wu + (size_t)o * row_bytes, xs, cols, nrows, norm, scale, lane, lanes, acc_u);
    }
    for (int t = 0; t < nrows; t++) {
        float g = lanes_sum(partial, acc_g[t], lanes);
        float u = lanes_sum(partial, acc_u[t], lanes);
        if (lane == 0 && o < outputs) out[(size_t)(t0 + t) * outputs + o] = g / (1.0f + exp(-g)) * u;
    }
}
