// dequantize: rows [row0, row0 + n) of a weight of any type → a dense row-major matrix, F32
// or F16 storage (the latter for HGEMM; vstore_half is core OpenCL C, no cl_khr_fp16 needed).
// Used right before a GEMM, into a reusable scratch buffer. Global size (cols, n).
kernel void dequantize_rows(global float* out, weight_row w, int type, ulong row_bytes, int cols, int row0) {
    int i = get_global_id(0), r = get_global_id(1);
    if (i >= cols) return;
    out[(size_t)r * cols + i] = weight_at(type, w + (size_t)(row0 + r) * row_bytes, i);
}

kernel void dequantize_rows_half(global half* out, weight_row w, int type, ulong row_bytes, int cols, int row0) {
    int i = get_global_id(0), r = get_global_id(1);
    if (i >= cols) return;
    vstore_half_rte(weight_at(type, w + (size_t)(row0 + r) * row_bytes, i), (size_t)r * cols + i, out);
}
