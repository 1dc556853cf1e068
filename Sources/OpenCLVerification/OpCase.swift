import GGUF
import LlamaCore

/// One op check's inputs, as data: the op, its shapes and a seed. `run` executes it on any
/// backend, so the CPU reference and OpenCL see identical inputs and identical calls.
/// Shapes: T rows, D width, O outputs, H heads, Dh head size.
enum OpCase {
    case embed(type: TensorType, tableRows: Int, cols: Int, tokens: [Int32])
    case matmul(type: TensorType, outputs: Int, cols: Int, rows: Int, bias: Bool)
    case rmsNorm(rows: Int, dim: Int)
    case rope(rows: Int, heads: Int, headDim: Int, dims: Int, style: RopeStyle, factors: Bool, scale: Float, maxPosition: Int32)
    case swiglu(rows: Int, cols: Int)
    case add(rows: Int, cols: Int)
    case gather(rows: Int, cols: Int, pick: [Int])
    /// Rows of K and V into scattered `cells` (distinct) of layer 1 of a 2-layer cache.
    case storeKV(cacheCells: Int, kvDim: Int, cells: [Int32])
    case attention(AttentionScenario)
    /// x += W·a (matvec_add_rows for decode rows).
    case matmulAdd(type: TensorType, outputs: Int, cols: Int, rows: Int)
    /// W·(rmsnorm(x)·norm) (rmsnorm_matvec_rows).
    case normMatmul(type: TensorType, outputs: Int, cols: Int, rows: Int)
    /// silu(Wg·n)·(Wu·n), n = rmsnorm(x)·norm (gate_up_swiglu_rows).
    case feedForward(type: TensorType, outputs: Int, cols: Int, rows: Int)
    /// Norm, Q/K/V (+ biases), RoPE and the KV store (attention_input_rows): q, then the K and V
    /// rows of the cells written.
    case attentionInput(type: TensorType, cols: Int, heads: Int, kvHeads: Int, headDim: Int, dims: Int, style: RopeStyle, bias: Bool, cells: [Int32])
    /// Row argmaxes (argmax_rows), as floats; rows include ties, NaNs and a NaN in column 0.
    case argmax(rows: Int, cols: Int)

    func run<B: Backend>(on backend: B, seed: UInt64) throws -> [Float] {
        var rng = SeededRandom(seed: seed)
        let h = OpHarness(backend: backend)
        switch self {
        case let .embed(type, tableRows, cols, tokens):
            let table = try h.weight(rng.floats(tableRows * cols), type: type, rows: tableRows, cols: cols, name: "table")
            let out = try backend.makeTensor(rows: tokens.count, cols: cols)
            try backend.embed(out, table: table, plan: Plans.sequential(rows: tokens.count, tokens: tokens))
            return try backend.read(out, rows: tokens.count)

        case let .matmul(type, outputs, cols, rows, bias):
            // Weights ~ U(±√(3/D)) like the synthetic models, so outputs have unit scale.
            let w = try h.weight(rng.floats(outputs * cols, scale: (3 / Float(cols)).squareRoot()), type: type, rows: outputs, cols: cols, name: "w")
            let x = try h.tensor(rng.floats(rows * cols), rows: rows, cols: cols)
            let b = bias ? try h.weight(rng.floats(outputs), rows: 1, cols: outputs, name: "bias") : nil
            let out = try backend.makeTensor(rows: rows, cols: outputs)
            try backend.matmul(out, x, w, bias: b, rows: rows)
            return try backend.read(out, rows: rows)

        case let .rmsNorm(rows, dim):
            let x = try h.tensor(rng.floats(rows * dim, scale: 3), rows: rows, cols: dim)
            let w = try h.weight(rng.floats(dim).map { 1 + 0.1 * $0 }, rows: 1, cols: dim, name: "norm")
            let out = try backend.makeTensor(rows: rows, cols: dim)
            try backend.rmsNorm(out, x, weight: w, eps: 1e-5, rows: rows)
            return try backend.read(out, rows: rows)

        case let .rope(rows, heads, headDim, dims, style, factors, scale, maxPosition):
            let x = try h.tensor(rng.floats(rows * heads * headDim), rows: rows, cols: heads * headDim)
            let f = factors ? try h.weight(rng.floats(dims / 2).map { 1 + 4 * abs($0) }, rows: 1, cols: dims / 2, name: "rope_freqs") : nil
            let positions = (0..<rows).map { _ in Int32.random(in: 0...maxPosition, using: &rng) }
            let params = RopeParams(base: 10000, dims: dims, style: style, positionScale: scale)
            try backend.rope(x, heads: heads, headDim: headDim, params: params, freqFactors: f, plan: Plans.sequential(rows: rows, positions: positions))
            return try backend.read(x, rows: rows)

        case let .swiglu(rows, cols):
            let g = try h.tensor(rng.floats(rows * cols, scale: 6), rows: rows, cols: cols)
            let u = try h.tensor(rng.floats(rows * cols, scale: 2), rows: rows, cols: cols)
            let out = try backend.makeTensor(rows: rows, cols: cols)
            try backend.swiglu(out, gate: g, up: u, rows: rows)
            return try backend.read(out, rows: rows)

        case let .add(rows, cols):
            let x = try h.tensor(rng.floats(rows * cols), rows: rows, cols: cols)
            let y = try h.tensor(rng.floats(rows * cols), rows: rows, cols: cols)
            try backend.add(x, y, rows: rows)
            return try backend.read(x, rows: rows)

        case let .gather(rows, cols, pick):
            let x = try h.tensor(rng.floats(rows * cols), rows: rows, cols: cols)
            let out = try backend.makeTensor(rows: pick.count, cols: cols)
            try backend.gatherRows(out, x, rows: pick)
            return try backend.read(out, rows: pick.count)

        case let .storeKV(cacheCells, kvDim, cells):
            return try Self.storeKV(on: backend, cacheCells: cacheCells, kvDim: kvDim, cells: cells, rng: &rng)

        case let .attention(s):
            return try s.run(on: backend, rng: &rng)

        case let .matmulAdd(type, outputs, cols, rows):
            let w = try h.weight(rng.floats(outputs * cols, scale: (3 / Float(cols)).squareRoot()), type: type, rows: outputs, cols: cols, name: "w")
            let a = try h.tensor(rng.floats(rows * cols), rows: rows, cols: cols)
            let x = try h.tensor(rng.floats(rows * outputs), rows: rows, cols: outputs)
            try backend.matmulAdd(x, a, w, scratch: try backend.makeTensor(rows: rows, cols: outputs), rows: rows)
            return try backend.read(x, rows: rows)

        case let .normMatmul(type, outputs, cols, rows):
            let w = try h.weight(rng.floats(outputs * cols, scale: (3 / Float(cols)).squareRoot()), type: type, rows: outputs, cols: cols, name: "w")
            let x = try h.tensor(rng.floats(rows * cols, scale: 3), rows: rows, cols: cols)
            let norm = try h.weight(rng.floats(cols).map { 1 + 0.1 * $0 }, rows: 1, cols: cols, name: "norm")
            let out = try backend.makeTensor(rows: rows, cols: outputs)
            try backend.rmsNormMatmul(out, x, norm: norm, eps: 1e-5, w, scratch: try backend.makeTensor(rows: rows, cols: cols), rows: rows)
            return try backend.read(out, rows: rows)

        case let .feedForward(type, outputs, cols, rows):
            let scale = (3 / Float(cols)).squareRoot()
            let g = try h.weight(rng.floats(outputs * cols, scale: scale), type: type, rows: outputs, cols: cols, name: "gate")
            let u = try h.weight(rng.floats(outputs * cols, scale: scale), type: type, rows: outputs, cols: cols, name: "up")
            let x = try h.tensor(rng.floats(rows * cols, scale: 3), rows: rows, cols: cols)
            let norm = try h.weight(rng.floats(cols).map { 1 + 0.1 * $0 }, rows: 1, cols: cols, name: "norm")
            let out = try backend.makeTensor(rows: rows, cols: outputs)
            try backend.feedForwardInput(out, x: x, norm: norm, eps: 1e-5, gate: g, up: u,
                                         scratch: (try backend.makeTensor(rows: rows, cols: cols), try backend.makeTensor(rows: rows, cols: outputs)), rows: rows)
            return try backend.read(out, rows: rows)

        case let .attentionInput(type, cols, heads, kvHeads, headDim, dims, style, bias, cells):
            let rows = cells.count, qDim = heads * headDim, kvDim = kvHeads * headDim
            let scale = (3 / Float(cols)).squareRoot()
            func matrix(_ n: Int, _ name: String) throws -> B.Weight { try h.weight(rng.floats(n * cols, scale: scale), type: type, rows: n, cols: cols, name: name) }
            let wq = try matrix(qDim, "wq"), wk = try matrix(kvDim, "wk"), wv = try matrix(kvDim, "wv")
            func vector(_ n: Int, _ name: String) throws -> B.Weight? { bias ? try h.weight(rng.floats(n), rows: 1, cols: n, name: name) : nil }
            let bq = try vector(qDim, "bq"), bk = try vector(kvDim, "bk"), bv = try vector(kvDim, "bv")
            let x = try h.tensor(rng.floats(rows * cols, scale: 3), rows: rows, cols: cols)
            let norm = try h.weight(rng.floats(cols).map { 1 + 0.1 * $0 }, rows: 1, cols: cols, name: "norm")
            let cacheCells = Int(cells.max() ?? 0) + 3
            let cache = try backend.makeKVCache(layers: 2, cells: cacheCells, kvDim: kvDim)
            let positions = (0..<rows).map { _ in Int32.random(in: 0...5000, using: &rng) }
            let plan = Plans.causal(tokens: [Int32](repeating: 0, count: rows), positions: positions, cells: cells,
                                    visible: cells.map { [$0] })
            let q = try backend.makeTensor(rows: rows, cols: qDim)
            let params = RopeParams(base: 10000, dims: dims, style: style)
            try backend.attentionInput(q: q, x: x, norm: norm, eps: 1e-5, wq: wq, wk: wk, wv: wv, bq: bq, bk: bk, bv: bv, rope: params,
                                       freqFactors: nil, cache: cache, layer: 1, heads: heads, kvHeads: kvHeads, headDim: headDim, plan: plan,
                                       scratch: (try backend.makeTensor(rows: rows, cols: cols), try backend.makeTensor(rows: rows, cols: kvDim),
                                                 try backend.makeTensor(rows: rows, cols: kvDim)))
            // only the written cells: the others hold whatever the device memory held
            let (k, v) = try backend.readKV(cache, layer: 1)
            var result = try backend.read(q, rows: rows)
            for c in cells.map({ Int($0) }) {
                let row: Range<Int> = c * kvDim..<(c + 1) * kvDim
                result += k[row]
                result += v[row]
            }
            return result

        case let .argmax(rows, cols):
            var values = rng.floats(rows * cols)
            if rows > 1 { values[cols + 700 % cols] = 5; values[cols + 300 % cols] = 5 }    // a tie: the first wins
            if rows > 2 { values[2 * cols] = .nan; values[2 * cols + 9] = 7 }               // NaN in column 0: 0
            if rows > 3 { for i in stride(from: 1, to: cols, by: 3) { values[3 * cols + i] = .nan } }   // NaNs are never chosen
            let x = try h.tensor(values, rows: rows, cols: cols)
            return try backend.argmaxRows(x, rows: rows).map(Float.init)
        }
    }

    /// Fills every cell of both layers with known rows first (a fresh device buffer holds
    /// whatever was there), then stores the scattered rows, and returns all of both layers: a
    /// row in the wrong cell, a stray write or a write to the wrong layer all show.
    static func storeKV<B: Backend>(on backend: B, cacheCells: Int, kvDim: Int, cells: [Int32], rng: inout SeededRandom) throws -> [Float] {
        let h = OpHarness(backend: backend)
        let cache = try backend.makeKVCache(layers: 2, cells: cacheCells, kvDim: kvDim)
        func store(_ cells: [Int32], layer: Int) throws {
            let n = cells.count
            let k = try h.tensor(rng.floats(n * kvDim), rows: n, cols: kvDim)
            let v = try h.tensor(rng.floats(n * kvDim), rows: n, cols: kvDim)
            let plan = Plans.causal(tokens: [Int32](repeating: 0, count: n), positions: (0..<Int32(n)).map { $0 },
                                    cells: cells, visible: [[Int32]](repeating: [], count: n))
            try backend.storeKV(cache, layer: layer, k: k, v: v, plan: plan)
        }
        let everyCell = (0..<Int32(cacheCells)).map { $0 }
        try store(everyCell, layer: 0)
        try store(everyCell, layer: 1)
        try store(cells, layer: 1)
        let (k0, v0) = try backend.readKV(cache, layer: 0), (k1, v1) = try backend.readKV(cache, layer: 1)
        return k0 + v0 + k1 + v1
    }
}

/// Store-KV then attention: `stored` rows of K/V go to cells `storedCells` of layer 1 (of 2,
/// so the layer offset is exercised), then `queries` rows attend over their visible lists.
struct AttentionScenario {
    var heads: Int, kvHeads: Int, headDim: Int
    var cacheCells: Int
    var storedCells: [Int32]
    var visible: [[Int32]]

    var kvDim: Int { kvHeads * headDim }

    func run<B: Backend>(on backend: B, rng: inout SeededRandom) throws -> [Float] {
        let h = OpHarness(backend: backend)
        let cache = try backend.makeKVCache(layers: 2, cells: cacheCells, kvDim: kvDim)
        let n = storedCells.count
        let k = try h.tensor(rng.floats(n * kvDim), rows: n, cols: kvDim)
        let v = try h.tensor(rng.floats(n * kvDim), rows: n, cols: kvDim)
        let store = Plans.causal(tokens: [Int32](repeating: 0, count: n), positions: (0..<Int32(n)).map { $0 },
                                 cells: storedCells, visible: [[Int32]](repeating: [], count: n))
        try backend.storeKV(cache, layer: 1, k: k, v: v, plan: store)
        let rows = visible.count
        let q = try h.tensor(rng.floats(rows * heads * headDim, scale: 2), rows: rows, cols: heads * headDim)
        let plan = Plans.causal(tokens: [Int32](repeating: 0, count: rows), positions: (0..<Int32(rows)).map { $0 },
                                cells: (0..<Int32(rows)).map { $0 }, visible: visible)
        let out = try backend.makeTensor(rows: rows, cols: heads * headDim)
        try backend.attention(out, q: q, cache: cache, layer: 1, heads: heads, kvHeads: kvHeads, headDim: headDim, plan: plan)
        return try backend.read(out, rows: rows)
    }

    /// A causal prompt of `rows` tokens in cells 0..<rows.
    static func prompt(rows: Int, heads: Int, kvHeads: Int, headDim: Int) -> AttentionScenario {
        AttentionScenario(heads: heads, kvHeads: kvHeads, headDim: headDim, cacheCells: rows,
                          storedCells: (0..<Int32(rows)).map { $0 }, visible: (0..<rows).map { Array(0...Int32($0)) })
    }

    /// One decode token over a long context of `context` cells, stored in scattered cell order.
    static func longDecode(context: Int, heads: Int, kvHeads: Int, headDim: Int) -> AttentionScenario {
        let cells = (0..<Int32(context)).map { ($0 * 7) % Int32(context) }   // 7 is coprime with the sizes used
        return AttentionScenario(heads: heads, kvHeads: kvHeads, headDim: headDim, cacheCells: context,
                                 storedCells: cells, visible: [cells])
    }

    /// `sequences` samples sharing a `prompt`-token prefix, each with `own` tokens of its own; one
    /// plan holds each sample's last `own` rows (parallel decode / best-of-N).
    static func sharedPrompt(prompt: Int, sequences: Int, own: Int, heads: Int, kvHeads: Int, headDim: Int) -> AttentionScenario {
        let total = prompt + sequences * own
        var visible: [[Int32]] = []
        for s in 0..<sequences {
            for j in 0..<own {
                let mine = (0...j).map { Int32(prompt + s * own + $0) }
                visible.append((0..<Int32(prompt)).map { $0 } + mine)
            }
        }
        return AttentionScenario(heads: heads, kvHeads: kvHeads, headDim: headDim, cacheCells: total,
                                 storedCells: (0..<Int32(total)).map { $0 }, visible: visible)
    }
}
