import Kernels

/// Every kernel of the embedded program (kernels/*.cl), created once per backend.
final class KernelSet {
    let program: Program
    let embed, dequantize, dequantizeHalf, matvec: Kernel
    let rmsNorm, rope, attention, storeKV: Kernel
    let swiglu, add, addBias, gather, toHalf, fromHalf: Kernel

    /// `extraSource` is appended to the program (tests inject a broken kernel through it).
    init(compiler: Compiler, extraSource: String = "") throws {
        let source = KernelSources.program + (extraSource.isEmpty ? "" : "\n#line 1 \"injected.cl\"\n" + extraSource)
        // No -cl-fast-relaxed-math / -cl-finite-math-only: attention relies on -inf, and verify
        // relies on NaN and inf surviving to the host.
        let built = try compiler.build(source: source, options: "")
        program = built
        func k(_ name: String) throws -> Kernel { try Kernel(program: built, name: name) }
        embed = try k("embed_rows")
        dequantize = try k("dequantize_rows")
        dequantizeHalf = try k("dequantize_rows_half")
        matvec = try k("matvec_rows")
        rmsNorm = try k("rmsnorm_rows")
        rope = try k("rope_rows")
        attention = try k("attention_rows")
        storeKV = try k("store_kv")
        swiglu = try k("swiglu")
        add = try k("add_in_place")
        addBias = try k("add_bias_rows")
        gather = try k("gather_rows")
        toHalf = try k("f32_to_f16")
        fromHalf = try k("f16_to_f32")
    }
}
