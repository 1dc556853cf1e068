// matvec: out[t][o] = Σ_i W[o][i]·x[t][i] (+ bias[o]) for a few rows t (single-token decode),
// reading the weight in its stored type (quantized blocks decoded on the fly, F32 accumulate).
// Decode is bound by reading weights, so reading them quantized is the least to read.
// A few work-items ("lanes") per output row, several rows per work-group (so a CPU driver is
// not swamped by tens of thousands of tiny groups); power-of-two sizes; `partial` one float per
// work-item. Lanes take "units" of 32 consecutive values: a whole Q4_0/Q8_0 block or one
// 32-value sub-block of a K-quant block, so each scale is decoded once per unit. Each weight is
// decoded with the same operations as weight_at() (common.cl), so products use the exact
// dequantized values the CPU uses. Types without a unit path, and the ragged tail of an F32/F16
// row, go through weight_at().
// Global size (local_size · ⌈outputs / (local_size / lanes)⌉, rows).

// Σ of a·b over 16 lanes, as four float4 dot products (dot() maps to the device's vector
// multiply-add; on a CPU driver the whole unit vectorises).
inline float dot16(float16 a, float16 b) {
    return dot(a.s0123, b.s0123) + dot(a.s4567, b.s4567) + dot(a.s89ab, b.s89ab) + dot(a.scdef, b.scdef);
}

// Σ_l W[32u + l]·x[32u + l] over one unit; 0 when the type has no unit path here. Weights and
// activations are read 16 at a time (vloadN has no alignment needs beyond the element's), the
// weights decoded with weight_at()'s operations, so each product is the CPU's exact product.
inline float dot_unit(int type, weight_row row, int u, global const float* xs) {
    const float16 x0 = vload16(0, xs), x1 = vload16(1, xs);
    switch (type) {
    case TYPE_F32: {
        global const float* w = (global const float*)row + 32 * u;
        return dot16(vload16(0, w), x0) + dot16(vload16(1, w), x1);
    }
    case TYPE_F16: {
        global const half* w = (global const half*)row + 32 * u;
        return dot16(vload_half16(0, w), x0) + dot16(vload_half16(1, w), x1);
    }
    case TYPE_Q4_0: {
        weight_row b = row + u * 18;
        const int16 q = convert_int16(vload16(0, b + 2));
        const float d = load_half(b, 0);
        // low nibbles are values 0..15, high nibbles 16..31
        return dot16(convert_float16((q & 0xF) - 8) * d, x0) + dot16(convert_float16((q >> 4) - 8) * d, x1);
    }
    case TYPE_Q8_0: {
        weight_row b = row + u * 34;
        global const char* q = (global const char*)(b + 2);
        const float d = load_half(b, 0);
        return dot16(convert_float16(vload16(0, q)) * d, x0) + dot16(convert_float16(vload16(1, q)) * d, x1);
    }
    case TYPE_Q4_K: {
        weight_row b = row + (u / 8) * 144;
        int sub = u % 8, chunk = sub / 2, high = sub & 1;
        float2 sm = scale_min_k4(sub, b + 4);
        float scale = load_half(b, 0) * sm.x, offset = load_half(b, 2) * sm.y;
        weight_row qs = b + 16 + 32 * chunk;
        int16 q0 = convert_int16(vload16(0, qs)), q1 = convert_int16(vload16(1, qs));
        if (high) { q0 >>= 4; q1 >>= 4; }
        return dot16(scale * convert_float16(q0 & 0xF) - offset, x0) + dot16(scale * convert_float16(q1 & 0xF) - offset, x1);
    }
    case TYPE_Q6_K: {
        weight_row b = row + (u / 8) * 210;
        int r = u % 8, half_ = r / 4, k = r % 4;
        float d = load_half(b, 208);
        float scale0 = d * (float)((char)b[192 + 8 * half_ + 2 * k]);
        float scale1 = d * (float)((char)b[192 + 8 * half_ + 1 + 2 * k]);
        weight_row ql = b + 64 * half_ + (k & 1) * 32, qh = b + 128 + 32 * half_;
        int16 lo0 = convert_int16(vload16(0, ql)), lo1 = convert_int16(vload16(1, ql));
        if (k >= 2) { lo0 >>= 4; lo1 >>= 4; }
        const int16 hi0 = (convert_int16(vload16(0, qh)) >> (2 * k)) & 3, hi1 = (convert_int16(vload16(1, qh)) >> (2 * k)) & 3;
        return dot16(scale0 * convert_float16(((lo0 & 0xF) | (hi0 << 4)) - 32), x0)
             + dot16(scale1 * convert_float16(((lo1 & 0xF) | (hi1 << 4)) - 32), x1);
    }
    default: return 0.0f;
    }
}

inline int has_unit_path(int type) {
    return type == TYPE_F32 || type == TYPE_F16 || type == TYPE_Q4_0 || type == TYPE_Q8_0 || type == TYPE_Q4_K || type == TYPE_Q6_K;
}

kernel void matvec_rows(global float* out, weight_row w, int type, ulong row_bytes,
                        global const float* x, global const float* bias, int has_bias,
                        int cols, int outputs, int lanes, local float* partial) {
    // `lanes` work-items (a power of two dividing the group) share one output row; a group
    // computes local_size / lanes consecutive outputs.
    int lid = get_local_id(0), lane = lid % lanes;
    int o = get_group_id(0) * (get_local_size(0) / lanes) + lid / lanes, t = get_group_id(1);
    float s = 0.0f;
    if (o < outputs) {
        weight_row row = w + (size_t)o * row_bytes;
        global const float* xr = x + (size_t)t * cols;
        int done = 0;
        if (has_unit_path(type)) {
            int units = cols / 32;
            for (int u = lane; u < units; u += lanes) s += dot_unit(type, row, u, xr + 32 * u);
            done = units * 32;
        }
        for (int i = done + lane; i < cols; i += lanes) s += weight_at(type, row, i) * xr[i];
    }
    // Reduce each row's lanes (every work-item takes part in the barriers).
    partial[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = lanes / 2; step > 0; step >>= 1) {
        if (lane < step) partial[lid] += partial[lid + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane == 0 && o < outputs) out[(size_t)t * outputs + o] = has_bias ? partial[lid] + bias[o] : partial[lid];
}
