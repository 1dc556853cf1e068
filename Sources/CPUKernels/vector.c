// The public kernels: the AVX-512 VNNI copies where the CPU has them, else the AVX2 ones
// (x86-64 builds), else the portable C (other CPUs).
#include "CPUKernels.h"
#include "common.h"
#include "variants.h"

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

#define DISPATCH(name, args, portable)                      \
    switch (llcl_kernel_variant()) {                        \
    case 2: name##_vnni args; break;                        \
    case 1: name##_avx2 args; break;                        \
    default: portable;                                      \
    }

void llcl_matvec_q4_0(int n, const void *w, int tokens, const int8_t *qs, const float *d, const float *sums, float *out, size_t out_stride) {
    DISPATCH(llcl_matvec_q4_0, (n, w, tokens, qs, d, sums, out, out_stride),
             for (int t = 0; t < tokens; t++) out[t * out_stride] = llcl_dot_q4_0_q8_0_portable(n, w, qs + (size_t)t * n, d + t * (n / 32), sums + t * (n / 32)))
}
void llcl_matvec_q8_0(int n, const void *w, int tokens, const int8_t *qs, const float *d, float *out, size_t out_stride) {
    DISPATCH(llcl_matvec_q8_0, (n, w, tokens, qs, d, out, out_stride),
             for (int t = 0; t < tokens; t++) out[t * out_stride] = llcl_dot_q8_0_q8_0_portable(n, w, qs + (size_t)t * n, d + t * (n / 32)))
}
void llcl_matvec_q4_K(int n, const void *w, int tokens, const int8_t *qs, const float *d, const int16_t *bsums, float *out, size_t out_stride) {
    DISPATCH(llcl_matvec_q4_K, (n, w, tokens, qs, d, bsums, out, out_stride),
             for (int t = 0; t < tokens; t++) out[t * out_stride] = llcl_dot_q4_K_q8_K_portable(n, w, qs + (size_t)t * n, d + t * (n / 256), bsums + t * (n / 16)))
}
void llcl_matvec_q6_K(int n, const void *w, int tokens, const int8_t *qs, const float *d, const int16_t *bsums, float *out, size_t out_stride) {
    DISPATCH(llcl_matvec_q6_K, (n, w, tokens, qs, d, bsums, out, out_stride),
             for (int t = 0; t < tokens; t++) out[t * out_stride] = llcl_dot_q6_K_q8_K_portable(n, w, qs + (size_t)t * n, d + t * (n / 256), bsums + t * (n / 16)))
}
void llcl_matvec_f16(int n, const uint16_t *w, int tokens, const float *x, float *out, size_t out_stride) {
    DISPATCH(llcl_matvec_f16, (n, w, tokens, x, out, out_stride),
             for (int t = 0; t < tokens; t++) out[t * out_stride] = llcl_dot_f16_f32_portable(n, w, x + (size_t)t * n))
}

float llcl_dot_q4_0_q8_0(int n, const void *w, const int8_t *qs, const float *d, const float *sums) {
    float out; llcl_matvec_q4_0(n, w, 1, qs, d, sums, &out, 1); return out;
}
float llcl_dot_q8_0_q8_0(int n, const void *w, const int8_t *qs, const float *d) {
    float out; llcl_matvec_q8_0(n, w, 1, qs, d, &out, 1); return out;
}
float llcl_dot_q4_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums) {
    float out; llcl_matvec_q4_K(n, w, 1, qs, d, bsums, &out, 1); return out;
}
float llcl_dot_q6_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums) {
    float out; llcl_matvec_q6_K(n, w, 1, qs, d, bsums, &out, 1); return out;
}
float llcl_dot_f16_f32(int n, const uint16_t *w, const float *x) {
    float out; llcl_matvec_f16(n, w, 1, x, &out, 1); return out;
}

#else  // no AVX2: the portable kernels are the kernels

int llcl_kernel_variant(void) { return 0; }
int llcl_use_kernel_variant(int variant) { (void)variant; return 0; }

float llcl_dot_q4_0_q8_0(int n, const void *w, const int8_t *qs, const float *d, const float *sums) { return llcl_dot_q4_0_q8_0_portable(n, w, qs, d, sums); }
float llcl_dot_q8_0_q8_0(int n, const void *w, const int8_t *qs, const float *d) { return llcl_dot_q8_0_q8_0_portable(n, w, qs, d); }
float llcl_dot_q4_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums) { return llcl_dot_q4_K_q8_K_portable(n, w, qs, d, bsums); }
float llcl_dot_q6_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums) { return llcl_dot_q6_K_q8_K_portable(n, w, qs, d, bsums); }
float llcl_dot_f16_f32(int n, const uint16_t *w, const float *x) { return llcl_dot_f16_f32_portable(n, w, x); }

void llcl_matvec_q4_0(int n, const void *w, int tokens, const int8_t *qs, const float *d, const float *sums, float *out, size_t out_stride) {
    for (int t = 0; t < tokens; t++) out[t * out_stride] = llcl_dot_q4_0_q8_0_portable(n, w, qs + (size_t)t * n, d + t * (n / 32), sums + t * (n / 32));
}
void llcl_matvec_q8_0(int n, const void *w, int tokens, const int8_t *qs, const float *d, float *out, size_t out_stride) {
    for (int t = 0; t < tokens; t++) out[t * out_stride] = llcl_dot_q8_0_q8_0_portable(n, w, qs + (size_t)t * n, d + t * (n / 32));
}
void llcl_matvec_q4_K(int n, const void *w, int tokens, const int8_t *qs, const float *d, const int16_t *bsums, float *out, size_t out_stride) {
    for (int t = 0; t < tokens; t++) out[t * out_stride] = llcl_dot_q4_K_q8_K_portable(n, w, qs + (size_t)t * n, d + t * (n / 256), bsums + t * (n / 16));
}
void llcl_matvec_q6_K(int n, const void *w, int tokens, const int8_t *qs, const float *d, const int16_t *bsums, float *out, size_t out_stride) {
    for (int t = 0; t < tokens; t++) out[t * out_stride] = llcl_dot_q6_K_q8_K_portable(n, w, qs + (size_t)t * n, d + t * (n / 256), bsums + t * (n / 16));
}
void llcl_matvec_f16(int n, const uint16_t *w, int tokens, const float *x, float *out, size_t out_stride) {
    for (int t = 0; t < tokens; t++) out[t * out_stride] = llcl_dot_f16_f32_portable(n, w, x + (size_t)t * n);
}

#endif
