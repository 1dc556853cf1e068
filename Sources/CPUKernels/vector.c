// The public kernels: the AVX-512 VNNI copies where the CPU has them, else the AVX2 ones
// (x86-64 builds), else the portable C (other CPUs, or when a test asks for it).
#include "CPUKernels.h"
#include "common.h"
#include "variants.h"

// The portable matvecs: one portable dot product per token (block-major scales).
static void portable_panel_q4_0(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums,
                                int stride, float *out, size_t out_stride) {
    for (int t = 0; t < tokens; t++)
        for (int r = 0; r < rows; r++)
            out[t * out_stride + r] = llcl_dot_q4_0_q8_0_portable(n, (const char *)w + r * row_bytes, qs + (size_t)t * n, d + t, sums + t, stride);
}
static void portable_panel_q8_0(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums, int stride,
                                float *out, size_t out_stride) {
    for (int t = 0; t < tokens; t++)
        for (int r = 0; r < rows; r++)
            out[t * out_stride + r] = llcl_dot_q8_0_q8_0_portable(n, (const char *)w + r * row_bytes, qs + (size_t)t * n, d + t, sums + t, stride);
}
#define PORTABLE_PANEL_32(name, dot)                                                                                             \
    static void portable_panel_##name(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, \
                                      const float *sums, int stride, float *out, size_t out_stride) {                              \
        for (int t = 0; t < tokens; t++)                                                                                       \
            for (int r = 0; r < rows; r++)                                                                                     \
                out[t * out_stride + r] = dot(n, (const char *)w + r * row_bytes, qs + (size_t)t * n, d + t, sums + t, stride);   \
    }
PORTABLE_PANEL_32(q4_1, llcl_dot_q4_1_q8_1_portable)
PORTABLE_PANEL_32(q5_0, llcl_dot_q5_0_q8_0_portable)
PORTABLE_PANEL_32(q5_1, llcl_dot_q5_1_q8_1_portable)
static void portable_panel_q5_K(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums,
                                int stride, float *out, size_t out_stride) {
    for (int t = 0; t < tokens; t++)
        for (int r = 0; r < rows; r++)
            out[t * out_stride + r] = llcl_dot_q5_K_q8_K_portable(n, (const char *)w + r * row_bytes, qs + (size_t)t * n, d + t, bsums + (size_t)t * (n / 16), stride);
}
static void portable_panel_q4_K(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums,
                                int stride, float *out, size_t out_stride) {
    for (int t = 0; t < tokens; t++)
        for (int r = 0; r < rows; r++)
            out[t * out_stride + r] = llcl_dot_q4_K_q8_K_portable(n, (const char *)w + r * row_bytes, qs + (size_t)t * n, d + t, bsums + (size_t)t * (n / 16), stride);
}
static void portable_panel_q6_K(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums,
                                int stride, float *out, size_t out_stride) {
    for (int t = 0; t < tokens; t++)
        for (int r = 0; r < rows; r++)
            out[t * out_stride + r] = llcl_dot_q6_K_q8_K_portable(n, (const char *)w + r * row_bytes, qs + (size_t)t * n, d + t, bsums + (size_t)t * (n / 16), stride);
}
static void portable_matvec_f16(int n, const uint16_t *w, int tokens, const float *x, float *out, size_t out_stride) {
    for (int t = 0; t < tokens; t++) out[t * out_stride] = llcl_dot_f16_f32_portable(n, w, x + (size_t)t * n);
}
static void portable_matmul_f16(int n, const uint16_t *w, size_t row_stride, int rows, int tokens, const float *x, float *out, size_t out_stride) {
    for (int r = 0; r < rows; r++) portable_matvec_f16(n, w + r * row_stride, tokens, x, out + r, out_stride);
}

static void portable_attend_group(int head_dim, int group, const float *q, const float *k, const float *v, size_t kv_stride, const int32_t *cells,
                                  int n, float scale, float *scores, float *out) {
    llcl_attend_group_portable(head_dim, group, q, k, v, kv_stride, cells, n, scale, scores, out);
}

#ifdef LLCL_AVX2

/// 2 = AVX-512 VNNI, 1 = AVX2, 0 = portable; the best the CPU has unless a test asked for less.
static int active = -1;

static int best_variant(void) {
    __builtin_cpu_init();
    const int vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
    return vnni ? 2 : 1;
}

int llcl_kernel_variant(void) {
    if (active < 0) active = best_variant();
    return active;
}

int llcl_use_kernel_variant(int variant) {
    const int best = best_variant();
    active = variant < 0 ? best : (variant < best ? variant : best);
    return active;
}

#define DISPATCH(kind, name, args)                      \
    switch (llcl_kernel_variant()) {                   \
    case 2: llcl_##kind##_##name##_vnni args; break;   \
    case 1: llcl_##kind##_##name##_avx2 args; break;   \
    default: portable_##kind##_##name args;            \
    }

#else

int llcl_kernel_variant(void) { return 0; }
int llcl_use_kernel_variant(int variant) { (void)variant; return 0; }

#define DISPATCH(kind, name, args) portable_##kind##_##name args;

#endif


void llcl_panel_q4_0(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums,
                     int stride, float *out, size_t out_stride) {
    DISPATCH(panel, q4_0, (n, w, row_bytes, rows, tokens, qs, d, sums, stride, out, out_stride))
}
void llcl_panel_q8_0(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums, int stride,
                     float *out, size_t out_stride) {
    DISPATCH(panel, q8_0, (n, w, row_bytes, rows, tokens, qs, d, sums, stride, out, out_stride))
}
void llcl_panel_q4_1(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums,
                     int stride, float *out, size_t out_stride) {
    DISPATCH(panel, q4_1, (n, w, row_bytes, rows, tokens, qs, d, sums, stride, out, out_stride))
}
void llcl_panel_q5_0(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums,
                     int stride, float *out, size_t out_stride) {
    DISPATCH(panel, q5_0, (n, w, row_bytes, rows, tokens, qs, d, sums, stride, out, out_stride))
}
void llcl_panel_q5_1(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums,
                     int stride, float *out, size_t out_stride) {
    DISPATCH(panel, q5_1, (n, w, row_bytes, rows, tokens, qs, d, sums, stride, out, out_stride))
}
void llcl_panel_q5_K(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums,
                     int stride, float *out, size_t out_stride) {
    DISPATCH(panel, q5_K, (n, w, row_bytes, rows, tokens, qs, d, bsums, stride, out, out_stride))
}
void llcl_panel_q4_K(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums,
                     int stride, float *out, size_t out_stride) {
    DISPATCH(panel, q4_K, (n, w, row_bytes, rows, tokens, qs, d, bsums, stride, out, out_stride))
}
void llcl_panel_q6_K(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums,
                     int stride, float *out, size_t out_stride) {
    DISPATCH(panel, q6_K, (n, w, row_bytes, rows, tokens, qs, d, bsums, stride, out, out_stride))
}
void llcl_matvec_f16(int n, const uint16_t *w, int tokens, const float *x, float *out, size_t out_stride) {
    DISPATCH(matvec, f16, (n, w, tokens, x, out, out_stride))
}
void llcl_matmul_f16(int n, const uint16_t *w, size_t row_stride, int rows, int tokens, const float *x, float *out, size_t out_stride) {
    DISPATCH(matmul, f16, (n, w, row_stride, rows, tokens, x, out, out_stride))
}

float llcl_dot_q4_0_q8_0(int n, const void *w, const int8_t *qs, const float *d, const float *sums) {
    float out; llcl_panel_q4_0(n, w, 0, 1, 1, qs, d, sums, 1, &out, 1); return out;
}
float llcl_dot_q8_0_q8_0(int n, const void *w, const int8_t *qs, const float *d, const float *sums) {
    float out; llcl_panel_q8_0(n, w, 0, 1, 1, qs, d, sums, 1, &out, 1); return out;
}
float llcl_dot_q4_1_q8_1(int n, const void *w, const int8_t *qs, const float *d, const float *sums) {
    float out; llcl_panel_q4_1(n, w, 0, 1, 1, qs, d, sums, 1, &out, 1); return out;
}
float llcl_dot_q5_0_q8_0(int n, const void *w, const int8_t *qs, const float *d, const float *sums) {
    float out; llcl_panel_q5_0(n, w, 0, 1, 1, qs, d, sums, 1, &out, 1); return out;
}
float llcl_dot_q5_1_q8_1(int n, const void *w, const int8_t *qs, const float *d, const float *sums) {
    float out; llcl_panel_q5_1(n, w, 0, 1, 1, qs, d, sums, 1, &out, 1); return out;
}
float llcl_dot_q5_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums) {
    float out; llcl_panel_q5_K(n, w, 0, 1, 1, qs, d, bsums, 1, &out, 1); return out;
}
float llcl_dot_q4_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums) {
    float out; llcl_panel_q4_K(n, w, 0, 1, 1, qs, d, bsums, 1, &out, 1); return out;
}
float llcl_dot_q6_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums) {
    float out; llcl_panel_q6_K(n, w, 0, 1, 1, qs, d, bsums, 1, &out, 1); return out;
}
float llcl_dot_f16_f32(int n, const uint16_t *w, const float *x) {
    float out; llcl_matvec_f16(n, w, 1, x, &out, 1); return out;
}

void llcl_attend_group(int head_dim, int group, const float *q, const float *k, const float *v, size_t kv_stride, const int32_t *cells, int n,
                       float scale, float *scores, float *out) {
    DISPATCH(attend, group, (head_dim, group, q, k, v, kv_stride, cells, n, scale, scores, out))
}
