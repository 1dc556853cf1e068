// rope: rotates pairs of every head of x in place. Pairs are (2i, 2i+1) for "normal" (llama)
// and (i, i + pairs) for "neox" (qwen2). The angles come from the host as a cos/sin table
// [rows, pairs], computed in double precision exactly as the CPU reference does, so the
// rotation matches it bit for bit (no float pow/sin/cos drift at large positions).
// Global size (pairs, heads, rows).
kernel void rope_rows(global float* x, global const float* cosines, global const float* sines,
                      int heads, int head_dim, int pairs, int neox) {
    int i = get_global_id(0), h = get_global_id(1), t = get_global_id(2);
    if (i >= pairs) return;
    global float* head = x + ((size_t)t * heads + h) * head_dim;
    int a = neox ? i : 2 * i, b = neox ? i + pairs : 2 * i + 1;
    float c = cosines[(size_t)t * pairs + i], s = sines[(size_t)t * pairs + i];
    float x0 = head[a], x1 = head[b];
    head[a] = x0 * c - x1 * s;
    head[b] = x0 * s + x1 * c;
}
