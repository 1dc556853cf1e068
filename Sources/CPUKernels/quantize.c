// Activation quantization, following llama.cpp's x86 numerics (see CPUKernels.h).
#include <math.h>
#include "CPUKernels.h"
#include "common.h"

void llcl_quantize_q8_0(const float *x, int n, int8_t *qs, float *d, float *sums, int stride) {
    for (int b = 0; b < n / 32; b++, x += 32, qs += 32) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        // The dot products use the scale as stored (F16); the multiplier is 127/amax, not 1/d.
        d[b * stride] = llcl_round_to_half(amax / 127.f);
        const float id = amax != 0 ? 127.f / amax : 0;
        int32_t sum = 0;
        for (int j = 0; j < 32; j++) {
            const int v = (int)nearbyintf(x[j] * id);  // default rounding: half to even
            qs[j] = (int8_t)v;
            sum += v;
        }
        sums[b * stride] = d[b * stride] * (float)sum;  // so that Q4_0 takes its +8 offset out with one multiply
    }
}

void llcl_quantize_q8_K(const float *x, int n, int8_t *qs, float *d, int16_t *bsums, int stride) {
    for (int b = 0; b < n / 256; b++, x += 256, qs += 256, bsums += 16) {
        float amax = 0, extreme = 0;
        for (int j = 0; j < 256; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; extreme = x[j]; }
        }
        if (amax == 0) {
            d[b * stride] = 0;
            memset(qs, 0, 256);
            memset(bsums, 0, 16 * sizeof(int16_t));
            continue;
        }
        // Scaled from the signed extreme so that it maps to -127 exactly; +127 clamps.
        const float iscale = -127.f / extreme;
        for (int j = 0; j < 256; j++) {
            const int v = (int)nearbyintf(iscale * x[j]);
            qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += qs[16 * g + j];
            bsums[g] = (int16_t)sum;
        }
        d[b * stride] = 1 / iscale;
    }
}
