// add: the residual x += y over count values, and the bias add out[t][o] += b[o]
// (qwen2's Q/K/V biases after a GEMM; the fused matvec adds its bias itself).
kernel void add_in_place(global float* x, global const float* y, int count) {
    int i = get_global_id(0);
    if (i < count) x[i] += y[i];
}

// Global size (cols, rows).
kernel void add_bias_rows(global float* out, global const float* bias, int cols) {
    int o = get_global_id(0), t = get_global_id(1);
    if (o < cols) out[(size_t)t * cols + o] += bias[o];
}
