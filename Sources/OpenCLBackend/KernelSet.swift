import GGUF
import Kernels

/// Every kernel of the embedded main program (kernels/*.cl), created once per backend, and the
/// decode-product kernels of one program per weight type, built on first use.
final class KernelSet {
    let program: Program
    let embed, dequantize, dequantizeHalf: Kernel
    let rmsNorm, rope, attention, attentionSplit, attentionCombine, storeKV: Kernel
    let swiglu, add, addBias, gather, toHalf, fromHalf, argmax: Kernel
    private let compiler: Compiler
    private var typedSets: [TensorType: TypedKernels] = [:]

    /// `extraSource` is appended to the program (tests inject a broken kernel through it).
    init(compiler: Compiler, extraSource: String = "") throws {
        self.compiler = compiler
        let source = KernelSources.program + (extraSource.isEmpty ? "" : "\n#line 1 \"injected.cl\"\n" + extraSource)
        let built = try compiler.build(source: source, options: KernelSet.options)
        program = built
        func k(_ name: String) throws -> Kernel { try Kernel(program: built, name: name) }
        embed = try k("embed_rows")
        dequantize = try k("dequantize_rows")
        dequantizeHalf = try k("dequantize_rows_half")
        rmsNorm = try k("rmsnorm_rows")
        rope = try k("rope_rows")
        attention = try k("attention_rows")
        attentionSplit = try k("attention_split_rows")
        attentionCombine = try k("attention_combine")
        storeKV = try k("store_kv")
        swiglu = try k("swiglu")
        add = try k("add_in_place")
        addBias = try k("add_bias_rows")
        gather = try k("gather_rows")
        toHalf = try k("f32_to_f16")
        fromHalf = try k("f16_to_f32")
        argmax = try k("argmax_rows")
    }

    /// No -cl-fast-relaxed-math / -cl-finite-math-only: attention relies on -inf, and verify
    /// relies on NaN and inf surviving to the host.
    static let options = ""

    /// The decode-product kernels specialised for `type` (matvec.cl, qkv.cl, ffn.cl built with
    /// -D WEIGHT_TYPE=<ggml id>): built the first time a weight of that type is multiplied, and
    /// cached on disk like the main program.
    func typed(_ type: TensorType) throws -> TypedKernels {
        if let set = typedSets[type] { return set }
        let built = try compiler.build(source: KernelSources.typedProgram, options: "-D WEIGHT_TYPE=\(type.rawValue)")
        let set = try TypedKernels(program: built, type: type)
        typedSets[type] = set
        return set
    }
}

/// The decode products of one weight type (see `KernelSet.typed`).
final class TypedKernels {
    let type: TensorType
    let matvec, matvecAdd, normMatvec, attentionInput, gateUpSwiglu: Kernel

    init(program: Program, type: TensorType) throws {
        self.type = type
        func k(_ name: String) throws -> Kernel { try Kernel(program: program, name: name) }
        matvec = try k("matvec_rows")
        matvecAdd = try k("matvec_add_rows")
        normMatvec = try k("rmsnorm_matvec_rows")
        attentionInput = try k("attention_input_rows")
        gateUpSwiglu = try k("gate_up_swiglu_rows")
    }
}
