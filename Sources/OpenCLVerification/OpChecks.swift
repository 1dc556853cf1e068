import CPUBackend
import Foundation
import GGUF
import LlamaCore
import OpenCLBackend

/// Every OpenCL kernel against its CPU reference op (`ReferenceOps`, the plain loops: through
/// `CPUBackend(mode: .reference)` for the `Backend` ops, directly for the rest) on seeded random
/// inputs, over a spread of shapes: awkward widths (not multiples of 32), one row, batches that
/// take the matvec and the GEMM paths, long contexts, several sequences in one plan, and every
/// weight type for embed, dequantize and matmul. `kernels(halfGemm:matvecMaxRows:)` says which
/// kernels the checks exercise; a test keeps that equal to every kernel of the program.
public enum OpChecks {
    /// Widths per weight type: whole blocks, but not powers of two where the type allows.
    static func awkwardWidth(_ type: TensorType) -> Int {
        switch type.blockSize {
        case 1: return 100
        case 32: return 96
        default: return 512
        }
    }

    struct Item {
        let name: String
        let op: OpCase
        let budget: Double
        /// The OpenCL kernels this check runs (kernels/*.cl names).
        let kernels: [String]
    }

    /// The kernels one matrix product runs: matvec_rows for decode-sized batches, else a GEMM
    /// over weights dequantized to F32 (none for F32 weights) or, with HGEMM, converted to F16
    /// around it; the bias is then added by add_bias_rows.
    static func matmulKernels(type: TensorType, rows: Int, bias: Bool, halfGemm: Bool, matvecMaxRows: Int) -> [String] {
        if rows <= matvecMaxRows { return ["matvec_rows"] }
        let gemm = halfGemm ? ["f32_to_f16", "dequantize_rows_half", "f16_to_f32"] : (type == .f32 ? [] : ["dequantize_rows"])
        return gemm + (bias ? ["add_bias_rows"] : [])
    }

    /// The checks that go through the `Backend` protocol, in report order. Matmul budgets depend
    /// on the product's precision: F32 accumulate over F32 values (matvec, SGEMM) gets
    /// `openCLMatmulF32`, HGEMM `openCLMatmul`.
    static func items(halfGemm: Bool, matvecMaxRows: Int, attentionChunk: Int = 256) -> [Item] {
        var out: [Item] = []
        let elementwise = Budget.openCLElementwise
        func matmul(_ name: String, _ type: TensorType, outputs: Int, cols: Int, rows: Int, bias: Bool) -> Item {
            let budget = halfGemm && rows > matvecMaxRows ? Budget.openCLMatmul : Budget.openCLMatmulF32
            return Item(name: name, op: .matmul(type: type, outputs: outputs, cols: cols, rows: rows, bias: bias), budget: budget,
                        kernels: matmulKernels(type: type, rows: rows, bias: bias, halfGemm: halfGemm, matvecMaxRows: matvecMaxRows))
        }
        for type in TensorType.allCases {
            let cols = awkwardWidth(type)
            out.append(Item(name: "embed \(type) 5 of 67×\(cols)", op: .embed(type: type, tableRows: 67, cols: cols, tokens: [3, 66, 0, 3, 41]),
                            budget: elementwise, kernels: ["embed_rows"]))
            for rows in [1, 3, 37] {
                out.append(matmul("matmul \(type) 67×\(cols), \(rows) row\(rows == 1 ? "" : "s")", type, outputs: 67, cols: cols, rows: rows, bias: false))
            }
        }
        for rows in [1, 19] {
            out.append(matmul("matmul Q8_0 + bias 131×256, \(rows) rows", .q8_0, outputs: 131, cols: 256, rows: rows, bias: true))
        }
        out.append(matmul("matmul Q4_K 1000×2048, 64 rows", .q4_K, outputs: 1000, cols: 2048, rows: 64, bias: false))
        for (rows, dim) in [(1, 100), (7, 288), (3, 4096)] {
            out.append(Item(name: "rmsnorm \(rows)×\(dim)", op: .rmsNorm(rows: rows, dim: dim), budget: elementwise, kernels: ["rmsnorm_rows"]))
        }
        let ropes: [(String, OpCase)] = [
            ("rope normal 5×3×64", .rope(rows: 5, heads: 3, headDim: 64, dims: 64, style: .normal, factors: false, scale: 1, maxPosition: 8000)),
            ("rope neox 5×3×64", .rope(rows: 5, heads: 3, headDim: 64, dims: 64, style: .neox, factors: false, scale: 1, maxPosition: 8000)),
            ("rope normal + freq factors 1×4×128", .rope(rows: 1, heads: 4, headDim: 128, dims: 128, style: .normal, factors: true, scale: 1, maxPosition: 100_000)),
            ("rope neox partial 32 of 80, scale 0.25", .rope(rows: 9, heads: 2, headDim: 80, dims: 32, style: .neox, factors: false, scale: 0.25, maxPosition: 4000)),
        ]
        out += ropes.map { Item(name: $0.0, op: $0.1, budget: elementwise, kernels: ["rope_rows"]) }
        for (rows, cols) in [(1, 100), (37, 768)] {
            out.append(Item(name: "swiglu \(rows)×\(cols)", op: .swiglu(rows: rows, cols: cols), budget: elementwise, kernels: ["swiglu"]))
            out.append(Item(name: "add \(rows)×\(cols)", op: .add(rows: rows, cols: cols), budget: elementwise, kernels: ["add_in_place"]))
        }
        out.append(Item(name: "gather rows [4, 0, 2, 2] of 5×100", op: .gather(rows: 5, cols: 100, pick: [4, 0, 2, 2]), budget: elementwise,
                        kernels: ["gather_rows"]))
        // A copy: anything but the same bits is a bug, so the budget is exact.
        out.append(Item(name: "store-KV 7 rows into scattered cells of 40 × 96", op: .storeKV(cacheCells: 40, kvDim: 96, cells: [39, 0, 17, 5, 6, 23, 1]),
                        budget: 0, kernels: ["store_kv"]))
        let attention: [(String, AttentionScenario)] = [
            ("attention prompt 37 rows, 4/2 heads × 64", .prompt(rows: 37, heads: 4, kvHeads: 2, headDim: 64)),
            ("attention prompt 1 row, 8/8 heads × 48", .prompt(rows: 1, heads: 8, kvHeads: 8, headDim: 48)),
            ("attention decode over 333 cells, 6/1 heads × 64", .longDecode(context: 333, heads: 6, kvHeads: 1, headDim: 64)),
            ("attention 3 sequences sharing 20 cells, 4/2 × 32", .sharedPrompt(prompt: 20, sequences: 3, own: 4, heads: 4, kvHeads: 2, headDim: 32)),
            // decode rows over long contexts: split-K chunks merged by attention_combine
            ("attention decode, 4 sequences sharing 1100 cells, 4/2 × 64", .sharedPrompt(prompt: 1100, sequences: 4, own: 1, heads: 4, kvHeads: 2, headDim: 64)),
        ]
        out += attention.map { name, scenario in
            let decode = scenario.visible.count <= matvecMaxRows
            let longest = scenario.visible.map(\.count).max() ?? 0
            let kernels = decode ? ["store_kv", "attention_split_rows"] + (longest > attentionChunk ? ["attention_combine"] : []) : ["store_kv", "attention_rows"]
            return Item(name: "store-KV + " + name, op: .attention(scenario), budget: Budget.openCLMatmul, kernels: kernels)
        }
        out += fusedItems(halfGemm: halfGemm, matvecMaxRows: matvecMaxRows)
        return out
    }

    /// The fused decode entry points (qkv.cl, ffn.cl, matvec.cl's residual and norm variants,
    /// argmax.cl) against the op sequences they replace, run by the CPU reference backend. Decode
    /// row counts take the fused kernels; 7 rows checks the fallback to the composed ops.
    static func fusedItems(halfGemm: Bool, matvecMaxRows: Int) -> [Item] {
        var out: [Item] = []
        func budget(_ rows: Int) -> Double { halfGemm && rows > matvecMaxRows ? Budget.openCLMatmul : Budget.openCLMatmulF32 }
        func composedMatmul(_ type: TensorType, _ rows: Int) -> [String] {
            matmulKernels(type: type, rows: rows, bias: false, halfGemm: halfGemm, matvecMaxRows: matvecMaxRows)
        }
        // every unit path (F32, F16, Q4_0, Q8_0, Q4_K, Q6_K) and one per-element type (Q5_1)
        let types: [TensorType] = [.f32, .f16, .q4_0, .q8_0, .q4_K, .q6_K, .q5_1]
        for type in types {
            let cols = awkwardWidth(type)
            for rows in [1, 3, 7] {
                let fused = rows <= matvecMaxRows
                out.append(Item(name: "fused matmul+add \(type) 67×\(cols), \(rows) rows", op: .matmulAdd(type: type, outputs: 67, cols: cols, rows: rows),
                                budget: budget(rows), kernels: fused ? ["matvec_add_rows"] : composedMatmul(type, rows) + ["add_in_place"]))
                out.append(Item(name: "fused rmsnorm+matmul \(type) 67×\(cols), \(rows) rows", op: .normMatmul(type: type, outputs: 67, cols: cols, rows: rows),
                                budget: budget(rows), kernels: fused ? ["rmsnorm_matvec_rows"] : ["rmsnorm_rows"] + composedMatmul(type, rows)))
                out.append(Item(name: "fused rmsnorm+gate/up+swiglu \(type) 67×\(cols), \(rows) rows", op: .feedForward(type: type, outputs: 67, cols: cols, rows: rows),
                                budget: budget(rows), kernels: fused ? ["gate_up_swiglu_rows"] : ["rmsnorm_rows"] + composedMatmul(type, rows) + ["swiglu"]))
            }
        }
        let qkv: [(String, OpCase, Int)] = [
            ("Q4_0 normal, 4/2 heads × 32, 1 row", .attentionInput(type: .q4_0, cols: 96, heads: 4, kvHeads: 2, headDim: 32, dims: 32, style: .normal, bias: false, cells: [5]), 1),
            ("Q8_0 neox + biases, 6/2 heads × 16, 3 rows", .attentionInput(type: .q8_0, cols: 128, heads: 6, kvHeads: 2, headDim: 16, dims: 16, style: .neox, bias: true, cells: [9, 0, 4]), 3),
            ("Q4_K normal partial 32 of 64, 2/1 heads, 2 rows", .attentionInput(type: .q4_K, cols: 512, heads: 2, kvHeads: 1, headDim: 64, dims: 32, style: .normal, bias: false, cells: [1, 2]), 2),
            ("F16 neox partial 8 of 20, 3/3 heads, 1 row", .attentionInput(type: .f16, cols: 100, heads: 3, kvHeads: 3, headDim: 20, dims: 8, style: .neox, bias: false, cells: [0]), 1),
            ("Q6_K normal + biases, 4/4 heads × 16, 7 rows", .attentionInput(type: .q6_K, cols: 512, heads: 4, kvHeads: 4, headDim: 16, dims: 16, style: .normal, bias: true, cells: [6, 5, 4, 3, 2, 1, 0]), 7),
        ]
        for (name, op, rows) in qkv {
            guard case let .attentionInput(type, _, _, _, _, _, _, bias, _) = op else { continue }
            let composed = ["rmsnorm_rows"] + matmulKernels(type: type, rows: rows, bias: bias, halfGemm: halfGemm, matvecMaxRows: matvecMaxRows) + ["rope_rows", "store_kv"]
            out.append(Item(name: "fused attention input (norm, QKV, rope, store-KV) " + name, op: op, budget: budget(rows),
                            kernels: rows <= matvecMaxRows ? ["attention_input_rows"] : composed))
        }
        // Indices must be equal: any difference is a wrong token.
        out.append(Item(name: "argmax 4 rows × 32000 (ties, NaNs)", op: .argmax(rows: 4, cols: 32000), budget: 0, kernels: ["argmax_rows"]))
        return out
    }

    /// Every kernel the checks run on a backend with these settings (verify reports on the
    /// backend it is given; the test that compares this with the program uses both settings).
    static func kernels(halfGemm: Bool, matvecMaxRows: Int, attentionChunk: Int = 256) -> Set<String> {
        Set(items(halfGemm: halfGemm, matvecMaxRows: matvecMaxRows, attentionChunk: attentionChunk).flatMap(\.kernels)).union(directKernels)
    }

    /// The kernels checked outside the `Backend` protocol, by `dequantizeChecks` and `conversionChecks`.
    static let directKernels: Set<String> = ["dequantize_rows", "dequantize_rows_half", "f32_to_f16", "f16_to_f32"]

    /// Runs every op check; `progress` hears each check's name before it runs. The checks make
    /// their own tensors and KV caches, so they can run on a backend that also holds a model.
    public static func run(on openCL: OpenCLBackend, seed: UInt64 = 0x11A3A, progress: ((String) -> Void)? = nil) throws -> [Check] {
        let reference = CPUBackend(mode: .reference, threads: 1)
        var checks: [Check] = []
        for (i, item) in items(halfGemm: openCL.usesHalfGemm, matvecMaxRows: openCL.options.matvecMaxRows,
                                attentionChunk: openCL.options.attentionChunk).enumerated() {
            progress?(item.name)
            let s = seed &+ UInt64(i)
            checks.append(.nmse(item.name, try item.op.run(on: openCL, seed: s), try item.op.run(on: reference, seed: s), budget: item.budget))
        }
        checks += try dequantizeChecks(on: openCL, reference: reference, seed: seed, progress: progress)
        checks += try conversionChecks(on: openCL, seed: seed, progress: progress)
        return checks
    }

    /// Every type decoded on the device, to F32 (`dequantize_rows`) and to F16 (`dequantize_rows_half`),
    /// against `ReferenceOps.dequantizeRows` / `dequantizeRowsHalf`. Decoding is exact arithmetic
    /// on the stored blocks, and F16 rounding is specified to the bit, so both must agree exactly.
    static func dequantizeChecks(on openCL: OpenCLBackend, reference: CPUBackend, seed: UInt64, progress: ((String) -> Void)?) throws -> [Check] {
        try TensorType.allCases.flatMap { type -> [Check] in
            let cols = awkwardWidth(type), rows = 67
            var rng = SeededRandom(seed: seed ^ UInt64(type.rawValue))
            let bytes = HostBytes(Quantize.run(type, rng.floats(rows * cols)))
            let source = bytes.source(name: "dequantize \(type)", type: type, rows: rows, cols: cols)
            let w = try openCL.upload(source), cpu = try reference.upload(source)

            let name = "dequantize \(type) \(rows)×\(cols)"
            progress?(name)
            var expected = [Float](repeating: 0, count: rows * cols)
            ReferenceOps.dequantizeRows(&expected, cpu, rows: 0..<rows)
            let f32 = Check.nmse(name, try openCL.dequantizedWeight(w), expected, budget: Budget.openCLElementwise)

            let halfName = "dequantize to F16 \(type) \(rows)×\(cols)"
            progress?(halfName)
            var expectedHalf = [UInt16](repeating: 0, count: rows * cols)
            ReferenceOps.dequantizeRowsHalf(&expectedHalf, cpu, rows: 0..<rows)
            let f16 = mismatches(halfName, try openCL.dequantizedWeightHalf(w), expectedHalf)
            return [f32, f16]
        }
    }

    /// The F32 ↔ F16 conversions around HGEMM against `ReferenceOps.f32ToF16` / `f16ToF32`, bit
    /// for bit. They use vstore_half_rte / vload_half, core OpenCL C, so they are checked on every
    /// device, cl_khr_fp16 or not (without it HGEMM is off and they are simply unused).
    static func conversionChecks(on openCL: OpenCLBackend, seed: UInt64, progress: ((String) -> Void)?) throws -> [Check] {
        var rng = SeededRandom(seed: seed ^ 0xF16)
        // Every magnitude from F16's subnormals to past its largest value, exact ties (1 + k/2048
        // for odd k lies halfway between two halves), signed zeros, infinities and a NaN.
        var values = (0..<4096).map { i -> Float in
            let magnitude = Float(pow(2.0, Double(i % 48) - 30))
            return (rng.floats(1)[0]) * magnitude
        }
        values += (0..<64).map { 1 + Float(2 * $0 + 1) / 2048 }
        values += [0, -0.0, 65504, 65519, 65520, -70000, 0x1p-24, 0x1p-25, 0x1.8p-25, .infinity, -.infinity, .nan]
        let toHalfName = "f32_to_f16 \(values.count) values"
        progress?(toHalfName)
        var expectedHalf = [UInt16](repeating: 0, count: values.count)
        ReferenceOps.f32ToF16(&expectedHalf, values, count: values.count)
        let toHalf = mismatches(toHalfName, try openCL.convertedToHalf(values), expectedHalf)

        let halves = (0...UInt16.max).map { $0 }
        let fromHalfName = "f16_to_f32 all \(halves.count) halves"
        progress?(fromHalfName)
        var expected = [Float](repeating: 0, count: halves.count)
        ReferenceOps.f16ToF32(&expected, halves, count: halves.count)
        let fromHalf = mismatches(fromHalfName, try openCL.convertedFromHalf(halves).map(\.bitPattern), expected.map(\.bitPattern),
                                  isNaN: { Float(bitPattern: $0).isNaN })
        return [toHalf, fromHalf]
    }

    /// An exact check: how many values differ (NaN matches any NaN: payloads are not specified).
    static func mismatches<T: Equatable>(_ name: String, _ actual: [T], _ reference: [T], isNaN: (T) -> Bool) -> Check {
        let count = actual.count == reference.count
            ? zip(actual, reference).filter { a, r in a != r && !(isNaN(a) && isNaN(r)) }.count
            : max(actual.count, reference.count)
        return Check(name: name, metric: "mismatches", value: Double(count), budget: 0)
    }

    static func mismatches(_ name: String, _ actual: [UInt16], _ reference: [UInt16]) -> Check {
        mismatches(name, actual, reference, isNaN: { $0 & 0x7C00 == 0x7C00 && $0 & 0x03FF != 0 })
    }
}
