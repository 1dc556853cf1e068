// Probes of this machine's limits, for the roofline of `llamacl machine`: how fast one thread
// can stream memory, and its peak F32 fused multiply-add and 8-bit dot-product throughput
// (many independent accumulators, so that throughput, not latency, is measured).
#include "CPUKernels.h"
#include "common.h"

uint64_t llcl_probe_read(const void *p, size_t bytes) {
#ifdef LLCL_AVX2
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    const char *s = p;
    size_t i = 0;
    for (; i + 128 <= bytes; i += 128) {
        a = _mm256_add_epi64(a, _mm256_loadu_si256((const __m256i *)(s + i)));
        b = _mm256_add_epi64(b, _mm256_loadu_si256((const __m256i *)(s + i + 32)));
        c = _mm256_add_epi64(c, _mm256_loadu_si256((const __m256i *)(s + i + 64)));
        d = _mm256_add_epi64(d, _mm256_loadu_si256((const __m256i *)(s + i + 96)));
    }
    a = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
    return (uint64_t)_mm256_extract_epi64(a, 0) + (uint64_t)_mm256_extract_epi64(a, 3);
#else
    const uint64_t *s = p;
    uint64_t sum = 0;
    for (size_t i = 0; i < bytes / 8; i++) sum += s[i];
    return sum;
#endif
}

float llcl_probe_fma(long iterations) {
#ifdef LLCL_AVX2
    __m256 acc[10];
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (int k = 0; k < 10; k++) acc[k] = _mm256_set1_ps((float)k);
    for (long i = 0; i < iterations; i++)
        for (int k = 0; k < 10; k++) acc[k] = _mm256_fmadd_ps(acc[k], x, y);
    __m256 s = acc[0];
    for (int k = 1; k < 10; k++) s = _mm256_add_ps(s, acc[k]);
    return _mm256_cvtss_f32(s);
#else
    float acc[10];
    for (int k = 0; k < 10; k++) acc[k] = (float)k;
    for (long i = 0; i < iterations; i++)
        for (int k = 0; k < 10; k++) acc[k] = acc[k] * 0.999999f + 1e-7f;
    float s = 0;
    for (int k = 0; k < 10; k++) s += acc[k];
    return s;
#endif
}

#ifdef LLCL_AVX2
__attribute__((target("avx2,avx512f,avx512vl,avx512bw,avx512vnni")))
static int32_t int8_vnni(long iterations) {
    __m256i acc[10];
    const __m256i u = _mm256_set1_epi8(3), s = _mm256_set1_epi8(-2);
    for (int k = 0; k < 10; k++) acc[k] = _mm256_set1_epi32(k);
    for (long i = 0; i < iterations; i++)
        for (int k = 0; k < 10; k++) acc[k] = _mm256_dpbusd_epi32(acc[k], u, s);
    __m256i t = acc[0];
    for (int k = 1; k < 10; k++) t = _mm256_add_epi32(t, acc[k]);
    return _mm256_extract_epi32(t, 0);
}

static int32_t int8_avx2(long iterations) {
    __m256i acc[10];
    const __m256i u = _mm256_set1_epi8(3), s = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
    for (int k = 0; k < 10; k++) acc[k] = _mm256_set1_epi32(k);
    for (long i = 0; i < iterations; i++)
        for (int k = 0; k < 10; k++) acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), ones));
    __m256i t = acc[0];
    for (int k = 1; k < 10; k++) t = _mm256_add_epi32(t, acc[k]);
    return _mm256_extract_epi32(t, 0);
}
#endif

int32_t llcl_probe_int8(long iterations) {
#ifdef LLCL_AVX2
    return llcl_kernel_variant() == 2 ? int8_vnni(iterations) : int8_avx2(iterations);
#else
    int32_t acc[10] = {0};
    for (long i = 0; i < iterations; i++)
        for (int k = 0; k < 10; k++)
            for (int j = 0; j < 32; j++) acc[k] += 3 * -2;
    int32_t s = 0;
    for (int k = 0; k < 10; k++) s += acc[k];
    return s;
#endif
}
