// gather rows: out[r] = x[rows[r]] (the rows that want logits). Global size (cols, n).
kernel void gather_rows(global float* out, global const float* x, global const int* rows, int cols) {
    int i = get_global_id(0), r = get_global_id(1);
    if (i < cols) out[(size_t)r * cols + i] = x[(size_t)rows[r] * cols + i];
}
