// swiglu: out = silu(gate) · up with silu(g) = g / (1 + e^-g), elementwise over count values.
// Uses full-precision exp (no native_/fast-math variants) to stay within the 1e-7 budget.
kernel void swiglu(global float* out, global const float* gate, global const float* up, int count) {
    int i = get_global_id(0);
    if (i >= count) return;
    float g = gate[i];
    out[i] = g / (1.0f + exp(-g)) * up[i];
}
