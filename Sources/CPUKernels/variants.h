// The per-instruction-set copies of the matvec kernels (vector_body.h), for vector.c's dispatch.
#ifndef LLAMACL_CPU_KERNELS_VARIANTS_H
#define LLAMACL_CPU_KERNELS_VARIANTS_H
#include <stddef.h>
#include <stdint.h>

#define DECLARE_VARIANT(suffix)                                                                                              \
    void llcl_panel_q4_0_##suffix(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums, int stride, float *out, size_t out_stride); \
    void llcl_panel_q8_0_##suffix(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums, int stride, float *out, size_t out_stride);                     \
    void llcl_panel_q4_1_##suffix(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums, int stride, float *out, size_t out_stride); \
    void llcl_panel_q5_0_##suffix(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums, int stride, float *out, size_t out_stride); \
    void llcl_panel_q5_1_##suffix(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums, int stride, float *out, size_t out_stride); \
    void llcl_panel_q5_K_##suffix(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums, int stride, float *out, size_t out_stride); \
    void llcl_panel_q4_K_##suffix(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums, int stride, float *out, size_t out_stride); \
    void llcl_panel_q6_K_##suffix(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums, int stride, float *out, size_t out_stride); \
    void llcl_matvec_f16_##suffix(int n, const uint16_t *w, int tokens, const float *x, float *out, size_t out_stride); \
    void llcl_matmul_f16_##suffix(int n, const uint16_t *w, size_t row_stride, int rows, int tokens, const float *x, float *out, size_t out_stride); \
    void llcl_attend_group_##suffix(int head_dim, int group, const float *q, const float *k, const float *v, size_t kv_stride, const int32_t *cells, int n, float scale, float *scores, float *out);

DECLARE_VARIANT(avx2)
DECLARE_VARIANT(vnni)
#endif
