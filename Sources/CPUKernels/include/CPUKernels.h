// Integer and half-precision dot products for the CPU backend's hot loops.
//
// Swift cannot yet name x86 instructions such as vpmaddubsw or vcvtph2ps, and its SIMD types
// lose their speed in widening conversions, so the few loops that decide decoding speed are
// written here in C with compiler intrinsics: AVX2 + FMA + F16C on x86-64, with AVX-512 VNNI
// copies chosen at run time where the CPU has them, plain C elsewhere. Everything around them
// stays in Swift; each kernel is tested against the Swift reference ops and the variants
// against each other.
//
// Activations are quantized per block the way llama.cpp does on x86, so results follow its
// numerics: Q8_0 blocks of 32 (scale amax/127 rounded to F16, values rounded half to even) for
// Q4_0/Q5_0/Q8_0 weights; the same with llama.cpp's Q8_1 block sums (F16(amax/127 · Σq)) for
// Q4_1/Q5_1 weights, whose minimum multiplies that sum; Q8_K blocks of 256 (F32 scale from the
// signed extreme, values clamped to 127, with the sum of every 16) for K-quant weights.
#ifndef LLAMACL_CPU_KERNELS_H
#define LLAMACL_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// The kernels in use: 2 = AVX-512 VNNI, 1 = AVX2, 0 = portable C.
int llcl_kernel_variant(void);
/// Uses `variant` (or the best below it that the CPU has; −1 = the best) from now on and returns
/// the one chosen. For tests and benchmarks that compare the variants; not thread-safe.
int llcl_use_kernel_variant(int variant);

/// x[n] → Q8_0: qs[n]; for block b, d[b·stride] (the F16-rounded scale, as float) and
/// sums[b·stride] (d · Σ qs). A stride of T interleaves the blocks of T tokens (block-major),
/// the layout the panel kernels read.
void llcl_quantize_q8_0(const float *x, int n, int8_t *qs, float *d, float *sums, int stride);
/// x[n] → Q8_1 (llama.cpp's x86 quantize_row_q8_1): qs and d as Q8_0, sums[b·stride] =
/// F16(amax/127 · Σ qs) (the unrounded scale times the integer sum, rounded to F16).
void llcl_quantize_q8_1(const float *x, int n, int8_t *qs, float *d, float *sums, int stride);
/// x[n] → Q8_K: qs[n], d[b·stride] per block of 256, bsums[n/16].
void llcl_quantize_q8_K(const float *x, int n, int8_t *qs, float *d, int16_t *bsums, int stride);

/// Σ w·x over n elements of one weight row (GGUF block layout) against quantized activations:
/// a one-row, one-token panel (for tests and single dot products; matrices use the panels).
float llcl_dot_q4_0_q8_0(int n, const void *w, const int8_t *qs, const float *d, const float *sums);
float llcl_dot_q8_0_q8_0(int n, const void *w, const int8_t *qs, const float *d, const float *sums);
float llcl_dot_q4_1_q8_1(int n, const void *w, const int8_t *qs, const float *d, const float *sums);
float llcl_dot_q5_0_q8_0(int n, const void *w, const int8_t *qs, const float *d, const float *sums);
float llcl_dot_q5_1_q8_1(int n, const void *w, const int8_t *qs, const float *d, const float *sums);
float llcl_dot_q4_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums);
float llcl_dot_q5_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums);
float llcl_dot_q6_K_q8_K(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums);
/// Σ w·x with F16 weights and F32 activations, F32 accumulation (no activation rounding).
float llcl_dot_f16_f32(int n, const uint16_t *w, const float *x);

/// `rows` ≤ 8 weight rows (row r at w + r·row_bytes) against `tokens` activation rows:
/// out[t · out_stride + r] = Σ w_r·x_t. Token t's values are at qs + t·n, its bsums (Q8_K) at
/// bsums + t·n/16; block scales and Q8_0 block sums are block-major, d[b·stride + t] (as
/// quantized with that stride; stride ≥ tokens, so that a call can take a slice of a batch).
/// With two tokens or more the panel is repacked once so that each vector lane is one row;
/// results are the same bits as one row and one token at a time, and as the portable dot
/// products, whatever the kernel variant.
void llcl_panel_q4_0(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums,
                     int stride, float *out, size_t out_stride);
void llcl_panel_q8_0(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums, int stride,
                     float *out, size_t out_stride);
void llcl_panel_q4_1(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums,
                     int stride, float *out, size_t out_stride);
void llcl_panel_q5_0(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums,
                     int stride, float *out, size_t out_stride);
void llcl_panel_q5_1(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const float *sums,
                     int stride, float *out, size_t out_stride);
void llcl_panel_q5_K(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums,
                     int stride, float *out, size_t out_stride);
void llcl_panel_q4_K(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums,
                     int stride, float *out, size_t out_stride);
void llcl_panel_q6_K(int n, const void *w, size_t row_bytes, int rows, int tokens, const int8_t *qs, const float *d, const int16_t *bsums,
                     int stride, float *out, size_t out_stride);
/// F16 weights against `tokens` F32 rows (row t at x + t·n).
void llcl_matvec_f16(int n, const uint16_t *w, int tokens, const float *x, float *out, size_t out_stride);
/// `rows` rows (row r at w + r·row_stride) against `tokens` F32 rows: out[t · out_stride + r],
/// the same bits as llcl_matvec_f16 row by row (register tiles of rows × tokens for prompts).
void llcl_matmul_f16(int n, const uint16_t *w, size_t row_stride, int rows, int tokens, const float *x, float *out, size_t out_stride);

/// Attention of the `group` query heads that share one KV head, over n ≥ 1 cached positions:
/// out[g] (head_dim floats each, heads one after another, as in q) = Σ_j softmax_j(scale ·
/// q[g]·k_j) v_j, where key j is k + cells[j]·kv_stride (value j likewise, strides in floats);
/// scores is scratch for group × n floats. Every kernel variant gives the same bits.
void llcl_attend_group(int head_dim, int group, const float *q, const float *k, const float *v, size_t kv_stride, const int32_t *cells, int n,
                       float scale, float *scores, float *out);
/// scores[0..<n] = their softmax: e^(s − max) (llcl_exp_shifted), each times 1 / the sum.
void llcl_softmax_in_place(float *scores, int n);

/// The same in plain C whatever the build: the portable path, and a second oracle in tests
/// (block b's scale and sum at d[b·stride], sums[b·stride]).
float llcl_dot_q4_0_q8_0_portable(int n, const void *w, const int8_t *qs, const float *d, const float *sums, int stride);
float llcl_dot_q8_0_q8_0_portable(int n, const void *w, const int8_t *qs, const float *d, const float *sums, int stride);
float llcl_dot_q4_1_q8_1_portable(int n, const void *w, const int8_t *qs, const float *d, const float *sums, int stride);
float llcl_dot_q5_0_q8_0_portable(int n, const void *w, const int8_t *qs, const float *d, const float *sums, int stride);
float llcl_dot_q5_1_q8_1_portable(int n, const void *w, const int8_t *qs, const float *d, const float *sums, int stride);
float llcl_dot_q5_K_q8_K_portable(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums, int stride);
float llcl_dot_q4_K_q8_K_portable(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums, int stride);
float llcl_dot_q6_K_q8_K_portable(int n, const void *w, const int8_t *qs, const float *d, const int16_t *bsums, int stride);
float llcl_dot_f16_f32_portable(int n, const uint16_t *w, const float *x);
void llcl_attend_group_portable(int head_dim, int group, const float *q, const float *k, const float *v, size_t kv_stride, const int32_t *cells, int n, float scale, float *scores, float *out);

/// scores[j] = e^(scores[j] − max) for j < n (max ≥ every score), returning their sum: the
/// softmax of attention, vectorised (relative error < 2e-7 against expf).
float llcl_exp_shifted(float *scores, int n, float max);
/// out[i] = silu(gate[i]) · up[i] = gate[i] / (1 + e^−gate[i]) · up[i], vectorised.
void llcl_swiglu(float *out, const float *gate, const float *up, int n);

/// Machine probes (probe.c): stream `bytes` from p; `iterations` rounds of 10 × 8 F32 fused
/// multiply-adds; `iterations` rounds of 10 × 32 u8·s8 products with the active kernel variant.
/// The results only keep the work from being optimised away.
uint64_t llcl_probe_read(const void *p, size_t bytes);
float llcl_probe_fma(long iterations);
int32_t llcl_probe_int8(long iterations);

/// A hint to the CPU inside a spin-wait loop (x86 `pause`), so that a spinning thread yields
/// pipeline resources and power.
static inline void llcl_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
