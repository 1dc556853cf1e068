import CPUBackend
import Foundation
import GGUF
import LlamaCore
import OpenCLBackend

/// Every OpenCL op against the CPU reference op (`CPUBackend(mode: .reference)`, the plain
/// loops) on seeded random inputs, over a spread of shapes: awkward widths (not multiples of
/// 32), one row, batches that take the matvec and the GEMM paths, long contexts, several
/// sequences in one plan, and every weight type for embed, dequantize and matmul.
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
    }

    /// The checks, in report order. Matmul budgets depend on the product's precision: F32
    /// accumulate over F32 values (matvec, SGEMM) gets `openCLMatmulF32`, HGEMM `openCLMatmul`.
    static func items(halfGemm: Bool, matvecMaxRows: Int) -> [Item] {
        var out: [Item] = []
        let elementwise = Budget.openCLElementwise
        for type in TensorType.allCases {
            let cols = awkwardWidth(type)
            out.append(Item(name: "embed \(type) 5 of 67×\(cols)", op: .embed(type: type, tableRows: 67, cols: cols, tokens: [3, 66, 0, 3, 41]), budget: elementwise))
            for rows in [1, 3, 37] {
                let budget = halfGemm && rows > matvecMaxRows ? Budget.openCLMatmul : Budget.openCLMatmulF32
                out.append(Item(name: "matmul \(type) 67×\(cols), \(rows) row\(rows == 1 ? "" : "s")",
                                op: .matmul(type: type, outputs: 67, cols: cols, rows: rows, bias: false), budget: budget))
            }
        }
        for rows in [1, 19] {
            let budget = halfGemm && rows > matvecMaxRows ? Budget.openCLMatmul : Budget.openCLMatmulF32
            out.append(Item(name: "matmul Q8_0 + bias 131×256, \(rows) rows", op: .matmul(type: .q8_0, outputs: 131, cols: 256, rows: rows, bias: true), budget: budget))
        }
        out.append(Item(name: "matmul Q4_K 1000×2048, 64 rows", op: .matmul(type: .q4_K, outputs: 1000, cols: 2048, rows: 64, bias: false),
                        budget: halfGemm ? Budget.openCLMatmul : Budget.openCLMatmulF32))
        for (rows, dim) in [(1, 100), (7, 288), (3, 4096)] {
            out.append(Item(name: "rmsnorm \(rows)×\(dim)", op: .rmsNorm(rows: rows, dim: dim), budget: elementwise))
        }
        let ropes: [(String, OpCase)] = [
            ("rope normal 5×3×64", .rope(rows: 5, heads: 3, headDim: 64, dims: 64, style: .normal, factors: false, scale: 1, maxPosition: 8000)),
            ("rope neox 5×3×64", .rope(rows: 5, heads: 3, headDim: 64, dims: 64, style: .neox, factors: false, scale: 1, maxPosition: 8000)),
            ("rope normal + freq factors 1×4×128", .rope(rows: 1, heads: 4, headDim: 128, dims: 128, style: .normal, factors: true, scale: 1, maxPosition: 100_000)),
            ("rope neox partial 32 of 80, scale 0.25", .rope(rows: 9, heads: 2, headDim: 80, dims: 32, style: .neox, factors: false, scale: 0.25, maxPosition: 4000)),
        ]
        out += ropes.map { Item(name: $0.0, op: $0.1, budget: elementwise) }
        for (rows, cols) in [(1, 100), (37, 768)] {
            out.append(Item(name: "swiglu \(rows)×\(cols)", op: .swiglu(rows: rows, cols: cols), budget: elementwise))
            out.append(Item(name: "add \(rows)×\(cols)", op: .add(rows: rows, cols: cols), budget: elementwise))
        }
        out.append(Item(name: "gather rows [4, 0, 2, 2] of 5×100", op: .gather(rows: 5, cols: 100, pick: [4, 0, 2, 2]), budget: elementwise))
        let attention: [(String, AttentionScenario)] = [
            ("attention prompt 37 rows, 4/2 heads × 64", .prompt(rows: 37, heads: 4, kvHeads: 2, headDim: 64)),
            ("attention prompt 1 row, 8/8 heads × 48", .prompt(rows: 1, heads: 8, kvHeads: 8, headDim: 48)),
            ("attention decode over 333 cells, 6/1 heads × 64", .longDecode(context: 333, heads: 6, kvHeads: 1, headDim: 64)),
            ("attention 3 sequences sharing 20 cells, 4/2 × 32", .sharedPrompt(prompt: 20, sequences: 3, own: 4, heads: 4, kvHeads: 2, headDim: 32)),
        ]
        out += attention.map { Item(name: "store-KV + " + $0.0, op: .attention($0.1), budget: Budget.openCLMatmul) }
        return out
    }

    /// Runs every op check; `progress` hears each check's name before it runs. The attention
    /// checks replace the backend's KV storage, so run this before loading a model onto it.
    public static func run(on openCL: OpenCLBackend, seed: UInt64 = 0x11A3A, progress: ((String) -> Void)? = nil) throws -> [Check] {
        let reference = CPUBackend(mode: .reference, threads: 1)
        var checks: [Check] = []
        for (i, item) in items(halfGemm: openCL.usesHalfGemm, matvecMaxRows: openCL.options.matvecMaxRows).enumerated() {
            progress?(item.name)
            let s = seed &+ UInt64(i)
            checks.append(.nmse(item.name, try item.op.run(on: openCL, seed: s), try item.op.run(on: reference, seed: s), budget: item.budget))
        }
        checks += try dequantizeChecks(on: openCL, seed: seed, progress: progress)
        return checks
    }

    /// Every type decoded on the device against `Dequantize` (the GGUF reference decoder).
    static func dequantizeChecks(on openCL: OpenCLBackend, seed: UInt64, progress: ((String) -> Void)?) throws -> [Check] {
        try TensorType.allCases.map { type in
            let cols = awkwardWidth(type), rows = 67
            let name = "dequantize \(type) \(rows)×\(cols)"
            progress?(name)
            var rng = SeededRandom(seed: seed ^ UInt64(type.rawValue))
            let bytes = HostBytes(Quantize.run(type, rng.floats(rows * cols)))
            let w = try openCL.upload(bytes.source(name: name, type: type, rows: rows, cols: cols))
            let reference = bytes.bytes.withUnsafeBytes { Dequantize.toFloats(type, $0.baseAddress!, count: rows * cols) }
            return .nmse(name, try openCL.dequantizedWeight(w), reference, budget: Budget.openCLElementwise)
        }
    }
}
