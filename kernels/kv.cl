// store-KV: k[t], v[t] → cells[t] of one layer's cache. The cache is one buffer per layer and
// per K/V, [cells, kv_dim] row-major; cell indices come from the BatchPlan (host-checked).
// Global size (kv_dim, rows).
kernel void store_kv(global float* k_cache, global float* v_cache, global const float* k, global const float* v,
                     global const int* cells, int kv_dim) {
    int i = get_global_id(0), t = get_global_id(1);
    if (i >= kv_dim) return;
    size_t dst = (size_t)cells[t] * kv_dim + i, src = (size_t)t * kv_dim + i;
    k_cache[dst] = k[src];
    v_cache[dst] = v[src];
}
