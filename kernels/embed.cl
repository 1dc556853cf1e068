// embed: out[t][i] = element i of row tokens[t] of the token table, decoded from any weight
// type. Assumes token ids were range-checked on the host (Transformer.forward does).
// Global size (cols, rows).
kernel void embed_rows(global float* out, weight_row table, int type, ulong row_bytes,
                       global const int* tokens, int cols) {
    int i = get_global_id(0), t = get_global_id(1);
    if (i >= cols) return;
    out[(size_t)t * cols + i] = weight_at(type, table + (size_t)tokens[t] * row_bytes, i);
}
