// The kernels for AVX2 + FMA + F16C (x86-64 since 2013).
#include <math.h>
#include <stdlib.h>
#include "CPUKernels.h"
#include "common.h"
#include "variants.h"

#ifdef LLCL_AVX2
#define VARIANT(name) name##_avx2
#define MAX_GROUP 4  // 16 vector registers: larger groups would spill
#include "vector_body.h"
#include "panel_body.h"
#include "panel_k_body.h"
#include "attention_body.h"
#endif
