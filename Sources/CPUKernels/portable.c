// The dot products in plain C: the path on CPUs without AVX2, and a second oracle in tests.
#include <math.h>
#include "CPUKernels.h"
#include "common.h"

float llcl_dot_q4_0_q8_0_portable(int n, const void *w, const int8_t *qs, const float *d, const float *sums, int stride) {
    const block_q4_0 *x = w;
    float acc = 0, offset = 0;
    for (int b = 0; b < n / 32; b++) {
        int32_t s = 0;
        for (int j = 0; j < 16; j++) {
            s += (x[b].qs[j] & 0xF) * qs[32 * b + j] + (x[b].qs[j] >> 4) * qs[32 * b + j + 16];
        }
        // the panel kernels' float operations, in their order (fused where they fuse)
        const float dw = llcl_half(x[b].d);
        acc = fmaf(dw * d[b * stride], (float)s, acc);
        // nibbles are stored with +8: subtract 8·Σ dw·(da·Σa) once at the end
        offset = fmaf(dw, sums[b * stride], offset);
    }
    return fmaf(-8, offset, acc);
}

float llcl_dot_q8_0_q8_0_portable(int n, const void *w, const int8_t *qs, const float *d, const float *sums, int stride) {
    const block_q8_0 *x = w;
    float acc = 0, offset = 0;
    for (int b = 0; b < n / 32; b++) {
        int32_t s = 0;
        // as the panel kernels: weights biased to unsigned (w + 128), the bias removed at the end
        for (int j = 0; j < 32; j++) s += (x[b].qs[j] + 128) * qs[32 * b + j];
        const float dw = llcl_half(x[b].d);
        acc = fmaf(dw * d[b * stride], (float)s, acc);
        offset = fmaf(dw, sums[b * stride], offset);
    }
    return fmaf(-128, offset, acc);
}

/// Q4_1, Q5_0 and Q5_1 (blocks of 32 with 4-bit low parts at `qs_at`, the fifth bits as a 32-bit
/// word at `qh_at` or none, the F16 scale at 0 and, for the _1 types, the F16 minimum at 2): as
/// Q4_0, Σ_b fma(dw·da, float(Σ u·a), ·) over the unsigned codes u, with the second term
/// Σ_b fma(c, sums_b, ·) added at the end times `k`: c = dw and k = −16 for Q5_0 (codes carry
/// +16), c = the minimum and k = 1 for Q4_1/Q5_1 (sums are the Q8_1 block sums da·Σa).
static float dot_legacy_portable(int n, const uint8_t *w, int block_bytes, int qs_at, int qh_at, int min_at, float k, const int8_t *qs,
                                 const float *d, const float *sums, int stride) {
    float acc = 0, offset = 0;
    for (int b = 0; b < n / 32; b++) {
        const uint8_t *blk = w + (size_t)b * block_bytes;
        uint32_t qh = 0;
        if (qh_at >= 0) memcpy(&qh, blk + qh_at, 4);
        int32_t s = 0;
        for (int j = 0; j < 16; j++) {
            const int lo = (blk[qs_at + j] & 0xF) | (int)((qh >> j) & 1) << 4;
            const int hi = (blk[qs_at + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            s += lo * qs[32 * b + j] + hi * qs[32 * b + j + 16];
        }
        uint16_t h;
        memcpy(&h, blk, 2);
        const float dw = llcl_half(h);
        float c = dw;
        if (min_at >= 0) { memcpy(&h, blk + min_at, 2); c = llcl_half(h); }
        acc = fmaf(dw * d[b * stride], (float)s, acc);
        offset = fmaf(c, sums[b * stride], offset);
    }
    return fmaf(k, offset, acc);
}

float llcl_dot_q4_1_q8_1_portable(int n, const void *w, const int8_t *qs, const float *d, const float *sums, int stride) {
    return dot_legacy_portable(n, w, 20, 4, -1, 2, 1, qs, d, sums, stride);
}
float llcl_dot_q5_0_q8_0_portable(int n, const void *w, const int8_t *qs, const float *d, const float *sums, int stride) {
    return dot_legacy_portable(n, w, 22, 6, 2, -1, -16, qs, d, sums, stride);
}
float llcl_dot_q5_1_q8_1_portable(int n, const void *w, const int8_t *qs, const float *d, const float *sums, int stride) {
    return dot_legacy_portable(n, w, 24, 8, 4, 2, 1, qs, d, sums, stride);
}

/// Q4_K and Q5_K (five = 1: the fifth bit of sub-block sb's values is bit sb of qh[l]).
static float dot_k45_portable(int five, int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums, int stride) {
    const int block_bytes = five ? 176 : 144, qs_at = five ? 48 : 16;
    float acc = 0, mins = 0;
    for (int b = 0; b < n / 256; b++) {
        const uint8_t *blk = (const uint8_t *)w + (size_t)b * block_bytes;
        const int8_t *a = qs + 256 * b;
        const int16_t *bs = bsums + 16 * b;
        int32_t sumq = 0, summ = 0;
        for (int sb = 0; sb < 8; sb++) {
            uint8_t sc, m;
            llcl_scale_min_k4(sb, blk + 4, &sc, &m);
            const uint8_t *q = blk + qs_at + 32 * (sb / 2);
            const int shift = 4 * (sb % 2);
            int32_t s = 0;
            for (int l = 0; l < 32; l++) {
                const int high = five ? ((blk[16 + l] >> sb) & 1) << 4 : 0;
                s += (((q[l] >> shift) & 0xF) | high) * a[32 * sb + l];
            }
            sumq += sc * s;
            summ += m * (bs[2 * sb] + bs[2 * sb + 1]);
        }
        // the panel kernels' float operations, in their order
        uint16_t hd, hm;
        memcpy(&hd, blk, 2); memcpy(&hm, blk + 2, 2);
        const float da = d[b * stride];
        acc = fmaf(llcl_half(hd) * da, (float)sumq, acc);
        mins = fmaf(llcl_half(hm) * da, (float)summ, mins);
    }
    return acc - mins;
}

float llcl_dot_q5_K_q8_K_portable(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums, int stride) {
    return dot_k45_portable(1, n, w, qs, d, bsums, stride);
}

float llcl_dot_q4_K_q8_K_portable(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums, int stride) {
    const block_q4_K *x = w;
    float acc = 0, mins = 0;
    for (int b = 0; b < n / 256; b++) {
        const int8_t *a = qs + 256 * b;
        const int16_t *bs = bsums + 16 * b;
        int32_t sumq = 0, summ = 0;
        for (int sb = 0; sb < 8; sb++) {
            uint8_t sc, m;
            llcl_scale_min_k4(sb, x[b].scales, &sc, &m);
            const uint8_t *q = x[b].qs + 32 * (sb / 2);
            const int shift = 4 * (sb % 2);
            int32_t s = 0;
            for (int l = 0; l < 32; l++) s += ((q[l] >> shift) & 0xF) * a[32 * sb + l];
            sumq += sc * s;
            summ += m * (bs[2 * sb] + bs[2 * sb + 1]);
        }
        // the panel kernels' float operations, in their order
        const float da = d[b * stride];
        acc = fmaf(llcl_half(x[b].d) * da, (float)sumq, acc);
        mins = fmaf(llcl_half(x[b].dmin) * da, (float)summ, mins);
    }
    return acc - mins;
}

float llcl_dot_q6_K_q8_K_portable(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums, int stride) {
    const block_q6_K *x = w;
    float acc = 0;
    for (int b = 0; b < n / 256; b++) {
        const int8_t *a = qs + 256 * b;
        const int16_t *bs = bsums + 16 * b;
        int32_t sum = 0;
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = x[b].ql + 64 * half, *qh = x[b].qh + 32 * half;
            const int8_t *sc = x[b].scales + 8 * half;
            const int8_t *y = a + 128 * half;
            for (int l = 0; l < 32; l++) {
                const int g = l / 16;
                // 6-bit values stored with +32; the offset is taken out below through bsums
                sum += sc[g] * ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) * y[l];
                sum += sc[g + 2] * ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) * y[l + 32];
                sum += sc[g + 4] * ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) * y[l + 64];
                sum += sc[g + 6] * ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) * y[l + 96];
            }
        }
        int32_t offset = 0;
        for (int g = 0; g < 16; g++) offset += x[b].scales[g] * bs[g];
        acc = fmaf(llcl_half(x[b].d) * d[b * stride], (float)(sum - 32 * offset), acc);
    }
    return acc;
}

/// The vector kernels' horizontal sum of 16 lanes: folded in halves (8 + 8, 4 + 4, 2 + 2, 1 + 1).
static float fold_lanes16(float lane[16]) {
    for (int half = 8; half >= 1; half /= 2)
        for (int l = 0; l < half; l++) lane[l] += lane[l + half];
    return lane[0];
}

/// The vector kernels' order: 16 lanes (two vectors of 8) of fused multiply-adds, folded, then the tail.
float llcl_dot_f16_f32_portable(int n, const uint16_t *w, const float *x) {
    float lane[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++) lane[l] = fmaf(llcl_half(w[i + l]), x[i + l], lane[l]);
    float s = fold_lanes16(lane);
    for (; i < n; i++) s = fmaf(llcl_half(w[i]), x[i], s);
    return s;
}

/// attention_body.h's order, one head after another: a score's 16 lanes folded in halves, the
/// remainder, the scale; each output dimension summed key by key with fused multiply-adds.
void llcl_attend_group_portable(int head_dim, int group, const float *q, const float *k, const float *v, size_t kv_stride, const int32_t *cells,
                                int n, float scale, float *scores, float *out) {
    const int n16 = head_dim / 16 * 16;
    for (int g = 0; g < group; g++) {
        const float *qg = q + (size_t)g * head_dim;
        float *s = scores + (size_t)g * n, *o = out + (size_t)g * head_dim;
        for (int j = 0; j < n; j++) {
            const float *key = k + (size_t)cells[j] * kv_stride;
            float lane[16] = {0};
            for (int i = 0; i < n16; i += 16)
                for (int l = 0; l < 16; l++) lane[l] = fmaf(qg[i + l], key[i + l], lane[l]);
            float dot = fold_lanes16(lane);
            for (int i = n16; i < head_dim; i++) dot = fmaf(qg[i], key[i], dot);
            s[j] = dot * scale;
        }
        llcl_softmax_in_place(s, n);
        for (int d = 0; d < head_dim; d++) {
            float sum = 0;
            for (int j = 0; j < n; j++) sum = fmaf(s[j], v[(size_t)cells[j] * kv_stride + d], sum);
            o[d] = sum;
        }
    }
}
