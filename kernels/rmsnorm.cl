// rmsnorm: out[t] = x[t] / sqrt(mean(x[t]²) + eps) · w, one work-group per row t.
// Assumes a power-of-two work-group size and `partial` holding one float per work-item.
// x and out may be the same buffer (every element is read and written by one work-item).
kernel void rmsnorm_rows(global float* out, global const float* x, global const float* w,
                         int dim, float eps, local float* partial) {
    int t = get_group_id(0), lid = get_local_id(0), ls = get_local_size(0);
    global const float* xr = x + (size_t)t * dim;
    float ss = 0.0f;
    for (int i = lid; i < dim; i += ls) ss += xr[i] * xr[i];
    ss = group_reduce_sum(partial, ss);
    float scale = 1.0f / sqrt(ss / (float)dim + eps);
    for (int i = lid; i < dim; i += ls) out[(size_t)t * dim + i] = xr[i] * scale * w[i];
}
