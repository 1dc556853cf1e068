// The kernels again with AVX-512 VNNI (vpdpbusd) and the 32 vector registers of AVX-512VL,
// chosen at run time where the CPU has them (vector.c).
#include <math.h>
#include <stdlib.h>
#include "CPUKernels.h"
#include "common.h"
#include "variants.h"

#ifdef LLCL_AVX2
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni"))), apply_to = function)
#define LLCL_VNNI 1
#define VARIANT(name) name##_vnni
#define MAX_GROUP 8  // 32 vector registers (AVX-512VL)
#include "vector_body.h"
#include "panel_body.h"
#include "panel_k_body.h"
#include "attention_body.h"
#pragma clang attribute pop
#endif
