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

// Σ_l W[32u + l]·x[32u + l] over one unit; 0 when the type has no unit path here.
inline float dot_unit(int type, weight_row row, int u, global const float* xs) {
    float s = 0.0f;
    switch (type) {
    case TYPE_F32: {
        global const float* w = (global const float*)row + 32 * u;
        for (int l = 0; l < 32; l++) s += w[l] * xs[l];
        return s;
    }
    case TYPE_F16:
        for (int l = 0; l < 32; l++) s += vload_half(32 * u + l, (global const half*)row) * xs[l];
        return s;
    case TYPE_Q4_0: {
        weight_row b = row + u * 18;
        float d = load_half(b, 0);
        for (int j = 0; j < 16; j++) {
            int q = b[2 + j];
            s += (float)((q & 0xF) - 8) * d * xs[j];
            s += (float)((q >> 4) - 8) * d * xs[j + 16];
        }
        return s;
    }
    case TYPE_Q8_0: {
        weight_row b = row + u * 34;
        float d = load_half(b, 0);
        for (int l = 0; l < 32; l++) s += (float)((char)b[2 + l]) * d * xs[l];
        return s;
    }
    case TYPE_Q4_K: {
        weight_row b = row + (u / 8) * 144;
        int sub = u % 8, chunk = sub / 2, high = sub & 1;
        float2 sm = scale_min_k4(sub, b + 4);
        float scale = load_half(b, 0) * sm.x, offset = load_half(b, 2) * sm.y;
        weight_row qs = b + 16 + 32 * chunk;
        for (int l = 0; l < 32; l++) {
            int q = high ? (qs[l] >> 4) : (qs[l] & 0xF);
            s += (scale * (float)q - offset) * xs[l];
        }
        return s;
    }
    case TYPE_Q6_K: {
        weight_row b = row + (u / 8) * 210;
        int r = u % 8, half_ = r / 4, k = r % 4;
        float d = load_half(b, 208);
        float scale0 = d * (float)((char)b[192 + 8 * half_ + 2 * k]);
        float scale1 = d * (float)((char)b[192 + 8 * half_ + 1 + 2 * k]);
        weight_row ql = b + 64 * half_ + (k & 1) * 32, qh = b + 128 + 32 * half_;
        for (int l = 0; l < 32; l++) {
            int lo = k >= 2 ? (ql[l] >> 4) : (ql[l] & 0xF);
            int hi = (qh[l] >> (2 * k)) & 3;
            s += (l < 16 ? scale0 : scale1) * (float)((lo | (hi << 4)) - 32) * xs[l];
        }
        return s;
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
