// convert: F32 ↔ F16 storage around HGEMM (round to nearest even). vload_half/vstore_half are
// core OpenCL C, so this file builds on devices without cl_khr_fp16 too.
kernel void f32_to_f16(global half* out, global const float* x, int count) {
    int i = get_global_id(0);
    if (i < count) vstore_half_rte(x[i], i, out);
}

kernel void f16_to_f32(global float* out, global const half* x, int count) {
    int i = get_global_id(0);
    if (i < count) out[i] = vload_half(i, x);
}
