// common: shared by every kernel file (it is compiled first, into the same program).
// - Weight type ids are the ggml ids (GGUF TensorType raw values).
// - weight_at() decodes element i of one weight row of any supported type, mirroring the
//   block layouts of Sources/GGUF/Dequantize.swift exactly, operation for operation, so a
//   dequantized value is bit-identical to the CPU's.
// - Contraction into fma is off for the same reason: the CPU reference rounds a·b + c twice.
// - group_reduce_*() reduce one float over a work-group whose size is a power of two.
#pragma OPENCL FP_CONTRACT OFF

#define TYPE_F32 0
#define TYPE_F16 1
#define TYPE_Q4_0 2
#define TYPE_Q4_1 3
#define TYPE_Q5_0 6
#define TYPE_Q5_1 7
#define TYPE_Q8_0 8
#define TYPE_Q2_K 10
#define TYPE_Q3_K 11
#define TYPE_Q4_K 12
#define TYPE_Q5_K 13
#define TYPE_Q6_K 14
#define TYPE_BF16 30

typedef global const uchar* weight_row;

// Halves sit at even byte offsets in every block layout, so this pointer is half-aligned.
// vload_half is core OpenCL C: it needs no cl_khr_fp16.
inline float load_half(weight_row p, int offset) { return vload_half(0, (global const half*)(p + offset)); }

// The 6-bit scale (x) and min (y) of sub-block j (0..<8) in the 12 packed bytes of Q4_K/Q5_K.
inline float2 scale_min_k4(int j, weight_row s) {
    if (j < 4) return (float2)((float)(s[j] & 63), (float)(s[j + 4] & 63));
    int sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    int mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    return (float2)((float)sc, (float)mn);
}

inline float weight_at(int type, weight_row row, int i) {
    switch (type) {
    case TYPE_F32: return ((global const float*)row)[i];
    case TYPE_F16: return load_half(row, 2 * i);
    case TYPE_BF16: return as_float(((uint)row[2 * i] | ((uint)row[2 * i + 1] << 8)) << 16);
    case TYPE_Q4_0: {           // { half d; uchar qs[16] }: lo nibbles are x[0..16), hi x[16..32)
        weight_row b = row + (i / 32) * 18;
        int j = i % 32, q = b[2 + (j & 15)];
        q = j < 16 ? (q & 0xF) : (q >> 4);
        return (float)(q - 8) * load_half(b, 0);
    }
    case TYPE_Q4_1: {           // { half d, m; uchar qs[16] }
        weight_row b = row + (i / 32) * 20;
        int j = i % 32, q = b[4 + (j & 15)];
        q = j < 16 ? (q & 0xF) : (q >> 4);
        return (float)q * load_half(b, 0) + load_half(b, 2);
    }
    case TYPE_Q5_0:             // { half d; uint qh; uchar qs[16] }, x = (q - 16)·d
    case TYPE_Q5_1: {           // { half d, m; uint qh; uchar qs[16] }, x = q·d + m
        int has_min = type == TYPE_Q5_1;
        weight_row b = row + (i / 32) * (has_min ? 24 : 22);
        int h = has_min ? 4 : 2;
        uint qh = (uint)b[h] | ((uint)b[h + 1] << 8) | ((uint)b[h + 2] << 16) | ((uint)b[h + 3] << 24);
        int j = i % 32, q = b[h + 4 + (j & 15)];
        q = (j < 16 ? (q & 0xF) : (q >> 4)) | (int)(((qh >> j) & 1) << 4);
        float m = has_min ? load_half(b, 2) : 0.0f;
        return (float)(q - (has_min ? 0 : 16)) * load_half(b, 0) + m;
    }
    case TYPE_Q8_0: {           // { half d; char qs[32] }
        weight_row b = row + (i / 32) * 34;
        return (float)((char)b[2 + i % 32]) * load_half(b, 0);
    }
    case TYPE_Q2_K: {           // { uchar scales[16]; uchar qs[64]; half d, dmin }: scale byte = min << 4 | scale
        weight_row b = row + (i / 256) * 84;
        int j = i % 256, h = j / 128, k = (j % 128) / 32, l = j % 32;
        int sc = b[8 * h + 2 * k + l / 16];
        float dl = load_half(b, 80) * (float)(sc & 0xF), ml = load_half(b, 82) * (float)(sc >> 4);
        int q = (b[16 + 32 * h + l] >> (2 * k)) & 3;
        return dl * (float)q - ml;
    }
    case TYPE_Q3_K: {           // { uchar hmask[32]; uchar qs[64]; uchar scales[12]; half d }
        weight_row b = row + (i / 256) * 110;
        int j = i % 256, h = j / 128, k = (j % 128) / 32, l = j % 32, s = 8 * h + 2 * k + l / 16;
        int low = s < 8 ? (b[96 + s] & 0xF) : (b[96 + s - 8] >> 4);
        int high = (b[104 + s % 4] >> (2 * (s / 4))) & 3;
        float dl = load_half(b, 108) * (float)((low | (high << 4)) - 32);
        int q = (b[32 + 32 * h + l] >> (2 * k)) & 3;
        int hbit = (b[l] >> (4 * h + k)) & 1;
        return dl * (float)(q - (hbit ? 0 : 4));
    }
    case TYPE_Q4_K:             // { half d, dmin; uchar scales[12]; uchar qs[128] }
    case TYPE_Q5_K: {           // { half d, dmin; uchar scales[12]; uchar qh[32]; uchar qs[128] }
        int five = type == TYPE_Q5_K;
        weight_row b = row + (i / 256) * (five ? 176 : 144);
        int j = i % 256, chunk = j / 64, high = (j % 64) >= 32, l = j % 32;
        float2 sm = scale_min_k4(2 * chunk + high, b + 4);
        int q = b[(five ? 48 : 16) + 32 * chunk + l];
        q = high ? (q >> 4) : (q & 0xF);
        if (five) q |= ((b[16 + l] >> (2 * chunk + high)) & 1) << 4;
        return load_half(b, 0) * sm.x * (float)q - load_half(b, 2) * sm.y;
    }
    case TYPE_Q6_K: {           // { uchar ql[128]; uchar qh[64]; char scales[16]; half d }
        weight_row b = row + (i / 256) * 210;
        int j = i % 256, half_ = j / 128, k = (j % 128) / 32, l = j % 32;
        int lo = b[64 * half_ + l + (k & 1) * 32];
        lo = k >= 2 ? (lo >> 4) : (lo & 0xF);
        int hi = (b[128 + 32 * half_ + l] >> (2 * k)) & 3;
        float scale = load_half(b, 208) * (float)((char)b[192 + 8 * half_ + l / 16 + 2 * k]);
        return scale * (float)((lo | (hi << 4)) - 32);
    }
    default: return NAN;        // unreachable: the host only launches supported types
    }
}

inline float group_reduce_sum(local float* partial, float v) {
    int lid = get_local_id(0);
    barrier(CLK_LOCAL_MEM_FENCE);   // `partial` may still be read by a previous reduction
    partial[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) partial[lid] += partial[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return partial[0];
}

inline float group_reduce_max(local float* partial, float v) {
    int lid = get_local_id(0);
    barrier(CLK_LOCAL_MEM_FENCE);
    partial[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) partial[lid] = fmax(partial[lid], partial[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return partial[0];
}
