// matvec: out[t][o] = Σ_i W[o][i]·x[t][i] for the few rows t of a decode step, reading the weight
// in its stored type (quantized blocks decoded on the fly, F32 accumulate). Decode is bound by
// reading weights, so reading them quantized, and once for all the batch's rows, is the least
// to read.
//
// This file (and qkv.cl, ffn.cl after it) is compiled once per weight type present in the
// model, with -D WEIGHT_TYPE=<ggml type id>: the type is a compile-time constant, so weight_at()
// and unit_decode() fold to the one layout and the inner loop has no type switch.
//
// Layout: `lanes` work-items (a power of two dividing the group) share one output "slot" (a
// row, or a pair of rows in qkv.cl/ffn.cl); a group computes local_size / lanes consecutive
// slots for up to MAX_ROWS batch rows (dimension 1 of the launch walks blocks of MAX_ROWS rows).
// Lanes take "units" of 32 consecutive values: a whole Q4_0/Q8_0 block or one 32-value sub-block
// of a K-quant block, so each scale is decoded once per unit, and each decoded unit is used for
// every batch row. Weights are decoded with weight_at()'s operations (common.cl), so products
// use the exact dequantized values the CPU uses. Types without a unit path, and the ragged tail
// of an F32/F16 row, go through weight_at().
#ifndef WEIGHT_TYPE
#error "matvec.cl is compiled with -D WEIGHT_TYPE=<ggml type id>"
#endif

#define MAX_ROWS 4

#if WEIGHT_TYPE == TYPE_F32 || WEIGHT_TYPE == TYPE_F16 || WEIGHT_TYPE == TYPE_Q4_0 || WEIGHT_TYPE == TYPE_Q8_0 || WEIGHT_TYPE == TYPE_Q4_K || WEIGHT_TYPE == TYPE_Q6_K
#define HAS_UNITS 1
#else
#define HAS_UNITS 0
#endif

// Σ of a·b over 16 lanes, as four float4 dot products (dot() maps to the device's vector
// multiply-add; on a CPU driver the whole unit vectorises).
inline float dot16(float16 a, float16 b) {
    return dot(a.s0123, b.s0123) + dot(a.s4567, b.s4567) + dot(a.s89ab, b.s89ab) + dot(a.scdef, b.scdef);
}

#if HAS_UNITS
// The 32 values of unit u of one row, decoded with weight_at()'s operations.
inline void unit_decode(weight_row row, int u, float16* w0, float16* w1) {
#if WEIGHT_TYPE == TYPE_F32
    global const float* w = (global const float*)row + 32 * u;
    *w0 = vload16(0, w); *w1 = vload16(1, w);
#elif WEIGHT_TYPE == TYPE_F16
    global const half* w = (global const half*)row + 32 * u;
    *w0 = vload_half16(0, w); *w1 = vload_half16(1, w);
#elif WEIGHT_TYPE == TYPE_Q4_0
    weight_row b = row + u * 18;
    const int16 q = convert_int16(vload16(0, b + 2));
    const float d = load_half(b, 0);
    // low nibbles are values 0..15, high nibbles 16..31
    *w0 = convert_float16((q & 0xF) - 8) * d; *w1 = convert_float16((q >> 4) - 8) * d;
#elif WEIGHT_TYPE == TYPE_Q8_0
    weight_row b = row + u * 34;
    global const char* q = (global const char*)(b + 2);
    const float d = load_half(b, 0);
    *w0 = convert_float16(vload16(0, q)) * d; *w1 = convert_float16(vload16(1, q)) * d;
#elif WEIGHT_TYPE == TYPE_Q4_K
    weight_row b = row + (u / 8) * 144;
    int sub = u % 8, chunk = sub / 2, high = sub & 1;
    float2 sm = scale_min_k4(sub, b + 4);
    float scale = load_half(b, 0) * sm.x, offset = load_half(b, 2) * sm.y;
    weight_row qs = b + 16 + 32 * chunk;
    int16 q0 = convert_int16(vload16(0, qs)), q1 = convert_int16(vload16(1, qs));
    if (high) { q0 >>= 4; q1 >>= 4; }
    *w0 = scale * convert_float16(q0 & 0xF) - offset; *w1 = scale * convert_float16(q1 & 0xF) - offset;
#elif WEIGHT_TYPE == TYPE_Q6_K
    weight_row b = row + (u / 8) * 210;
    int r = u % 8, half_ = r / 4, k = r % 4;
    float d = load_half(b, 208);
    float scale0 = d * (float)((char)b[192 + 8 * half_ + 2 * k]);
    float scale1 = d * (float)((char)b[192 + 8 * half_ + 1 + 2 * k]);
    weight_row ql = b + 64 * half_ + (k & 1) * 32, qh = b + 128 + 32 * half_;
    int16 lo0 = convert_int16(vload16(0, ql)), lo1 = convert_int16(vload16(1, ql));
    if (k >= 2) { lo0 >>= 4; lo1 >>= 4; }
    const int16 hi0 = (convert_int16(vload16(0, qh)) >> (2 * k)) & 3, hi1 = (convert_int16(vload16(1, qh)) >> (2 * k)) & 3;
    *w0 = scale0 * convert_float16(((lo0 & 0xF) | (hi0 << 4)) - 32);
    *w1 = scale1 * convert_float16(((lo1 & 0xF) | (hi1 << 4)) - 32);
#endif
}
#endif

// acc[t] += this lane's share of Σ_i W[row][i]·n[t][i] for t < nrows, where n[t] = x[t] when
// `norm` is 0, else the RMS-normalised row x[t]·scale[t]·norm computed on the fly with
// rmsnorm_rows' operations ((x·scale)·w): the norm folded into the product that consumes it.
inline void lane_dots(weight_row row, global const float* x, int cols, int nrows,
                      global const float* norm, const float* scale, int lane, int lanes, float* acc) {
    int done = 0;
#if HAS_UNITS
    int units = cols / 32;
    for (int u = lane; u < units; u += lanes) {
        float16 w0, w1, n0 = (float16)(1.0f), n1 = (float16)(1.0f);
        unit_decode(row, u, &w0, &w1);
        if (norm) { n0 = vload16(0, norm + 32 * u); n1 = vload16(1, norm + 32 * u); }
        // a constant trip count, unrolled, so acc[] and scale[] stay in registers
        #pragma unroll
        for (int t = 0; t < MAX_ROWS; t++) {
            if (t < nrows) {
                global const float* xs = x + (size_t)t * cols + 32 * u;
                float16 x0 = vload16(0, xs), x1 = vload16(1, xs);
                if (norm) { x0 = x0 * scale[t] * n0; x1 = x1 * scale[t] * n1; }
                acc[t] += dot16(w0, x0) + dot16(w1, x1);
            }
        }
    }
    done = units * 32;
#endif
    for (int i = done + lane; i < cols; i += lanes) {
        float w = weight_at(WEIGHT_TYPE, row, i);
        #pragma unroll
        for (int t = 0; t < MAX_ROWS; t++) {
            if (t < nrows) {
                float xv = x[(size_t)t * cols + i];
                if (norm) xv = xv * scale[t] * norm[i];
                acc[t] += w * xv;
            }
        }
    }
}

// scale[t] = 1 / sqrt(mean(x[t]²) + eps) for t < nrows, as rmsnorm_rows computes it. Every
// work-item of the group calls this (it reduces over the group).
inline void rms_scales(global const float* x, int cols, int nrows, float eps, local float* partial, float* scale) {
    int lid = get_local_id(0), ls = get_local_size(0);
    for (int t = 0; t < nrows; t++) {
        global const float* xr = x + (size_t)t * cols;
        float ss = 0.0f;
        for (int i = lid; i < cols; i += ls) ss += xr[i] * xr[i];
        ss = group_reduce_sum(partial, ss);
        scale[t] = 1.0f / sqrt(ss / (float)cols + eps);
    }
}

// The sum of v over the `lanes` work-items of one slot; valid in lane 0. Every work-item of the
// group calls this (barriers).
inline float lanes_sum(local float* partial, float v, int lanes) {
    int lid = get_local_id(0), lane = lid % lanes;
    barrier(CLK_LOCAL_MEM_FENCE);
    partial[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = lanes / 2; step > 0; step >>= 1) {
        if (lane < step) partial[lid] += partial[lid + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return partial[lid];
}

// The batch rows of this group: [t0, t0 + nrows).
inline int block_rows(int rows, int* t0) {
    *t0 = get_group_id(1) * MAX_ROWS;
    return min(MAX_ROWS, rows - *t0);
}

// out[t][o] = W[o]·x[t] (+ bias[o]).   Global (local_size · ⌈outputs / slots per group⌉, ⌈rows / MAX_ROWS⌉).
kernel void matvec_rows(global float* out, weight_row w, ulong row_bytes,
                        global const float* x, global const float* bias, int has_bias,
                        int cols, int outputs, int rows, int lanes, local float* partial) {
    int lid = get_local_id(0), lane = lid % lanes, t0;
    int o = get_group_id(0) * (get_local_size(0) / lanes) + lid / lanes, nrows = block_rows(rows, &t0);
    float acc[MAX_ROWS] = {0.0f, 0.0f, 0.0f, 0.0f}, none[MAX_ROWS];
    if (o < outputs) lane_dots(w + (size_t)o * row_bytes, x + (size_t)t0 * cols, cols, nrows, 0, none, lane, lanes, acc);
    for (int t = 0; t < nrows; t++) {
        float s = lanes_sum(partial, acc[t], lanes);
        if (lane == 0 && o < outputs) out[(size_t)(t0 + t) * outputs + o] = has_bias ? s + bias[o] : s;
    }
}

// x[t][o] += W[o]·a[t]: a product and its residual add in one pass (attention output, FFN down).
kernel void matvec_add_rows(global float* x, weight_row w, ulong row_bytes, global const float* a,
                            int cols, int outputs, int rows, int lanes, local float* partial) {
    int lid = get_local_id(0), lane = lid % lanes, t0;
    int o = get_group_id(0) * (get_local_size(0) / lanes) + lid / lanes, nrows = block_rows(rows, &t0);
    float acc[MAX_ROWS] = {0.0f, 0.0f, 0.0f, 0.0f}, none[MAX_ROWS];
    if (o < outputs) lane_dots(w + (size_t)o * row_bytes, a + (size_t)t0 * cols, cols, nrows, 0, none, lane, lanes, acc);
    for (int t = 0; t < nrows; t++) {
        float s = lanes_sum(partial, acc[t], lanes);
        if (lane == 0 && o < outputs) x[(size_t)(t0 + t) * outputs + o] += s;
    }
}

// out[t][o] = W[o]·(rmsnorm(x[t])·norm): the classifier head, norm folded in.
kernel void rmsnorm_matvec_rows(global float* out, weight_row w, ulong row_bytes, global const float* x,
                                global const float* norm, float eps, int cols, int outputs, int rows, int lanes,
                                local float* partial) {
    int lid = get_local_id(0), lane = lid % lanes, t0;
    int o = get_group_id(0) * (get_local_size(0) / lanes) + lid / lanes, nrows = block_rows(rows, &t0);
    float acc[MAX_ROWS] = {0.0f, 0.0f, 0.0f, 0.0f}, scale[MAX_ROWS];
    global const float* xs = x + (size_t)t0 * cols;
    rms_scales(xs, cols, nrows, eps, partial, scale);
    if (o < outputs) lane_dots(w + (size_t)o * row_bytes, xs, cols, nrows, norm, scale, lane, lanes, acc);
    for (int t = 0; t < nrows; t++) {
        float s = lanes_sum(partial, acc[t], lanes);
        if (lane == 0 && o < outputs) out[(size_t)(t0 + t) * outputs + o] = s;
    }
}
