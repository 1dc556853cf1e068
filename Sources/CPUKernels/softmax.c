// The exponentials of the forward pass, 8 at a time: the softmax of attention and SwiGLU's
// sigmoid. With the scalar libm exp they took about a tenth of decoding time.
#include <math.h>
#include "CPUKernels.h"
#include "common.h"

#ifdef LLCL_AVX2
/// e^x as 2^n · p(r) with n = round(x·log2 e) and r = x − n·ln 2 (ln 2 split in two for
/// exactness), p the degree-6 Taylor polynomial of e^r on |r| ≤ ln2/2 (relative error < 2e-7).
/// Below −87 the result is 0; above 88 it stays at e^88 (≈ 1.7e38); NaN stays NaN.
static inline __m256 exp8(__m256 x) {
    const __m256 lowest = _mm256_set1_ps(-87.0f);
    const __m256 underflow = _mm256_cmp_ps(x, lowest, _CMP_LT_OQ);
    x = _mm256_max_ps(lowest, x);  // NaN in x passes through (max and min return their second operand)
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), x);
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(scale)));
}
#endif

float llcl_exp_shifted(float *scores, int n, float max) {
    int j = 0;
    float sum = 0;
#ifdef LLCL_AVX2
    __m256 total = _mm256_setzero_ps();
    const __m256 m = _mm256_set1_ps(max);
    for (; j + 8 <= n; j += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + j), m));
        _mm256_storeu_ps(scores + j, e);
        total = _mm256_add_ps(total, e);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, total);
    for (int k = 0; k < 8; k++) sum += lanes[k];
#endif
    for (; j < n; j++) { scores[j] = expf(scores[j] - max); sum += scores[j]; }
    return sum;
}

void llcl_softmax_in_place(float *scores, int n) {
    // the largest score, NaN skipped; the maximum is exact, so any order finds the same value
    float max = -INFINITY;
    int i = 0;
#ifdef LLCL_AVX2
    __m256 lanes = _mm256_set1_ps(-INFINITY);
    for (; i + 8 <= n; i += 8) lanes = _mm256_max_ps(_mm256_loadu_ps(scores + i), lanes);  // a NaN first operand yields the second
    float lane[8];
    _mm256_storeu_ps(lane, lanes);
    for (int l = 0; l < 8; l++) max = lane[l] > max ? lane[l] : max;
#endif
    for (; i < n; i++) max = scores[i] > max ? scores[i] : max;
    const float inv = 1 / llcl_exp_shifted(scores, n, max);
    for (int i = 0; i < n; i++) scores[i] *= inv;
}

void llcl_swiglu(float *out, const float *gate, const float *up, int n) {
    int i = 0;
#ifdef LLCL_AVX2
    const __m256 one = _mm256_set1_ps(1);
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 sigmoid_denominator = _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g)));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(g, sigmoid_denominator), _mm256_loadu_ps(up + i)));
    }
#endif
    for (; i < n; i++) out[i] = gate[i] / (1 + expf(-gate[i])) * up[i];
}
