import Foundation
import GGUF
import LlamaCore

/// The reference ops: plain loops, one per math step, in the llama2.c spirit. They are the
/// oracle that fast paths and other backends are checked against; keep them obvious.
///
/// There is one op per OpenCL kernel (kernels/*.cl), named after it: `embedRows` is the oracle
/// of `embed_rows`, and so on. `llamacl verify --ops` runs each kernel against its op on the
/// same inputs, and the CPU backend's `.reference` mode is made of these ops alone.
/// Shapes: T rows, D width, O outputs, H heads, Dh head size; all row-major.
public enum ReferenceOps {
    // MARK: Weights

    /// Oracle of `embed_rows` (embed.cl): out[t] = row tokens[t] of the table, decoded to F32.
    /// table (V, D) in any type -> out (T, D). Token ids must be in range (the caller checks).
    public static func embedRows(_ out: UnsafeMutablePointer<Float>, table: CPUWeight, tokens: [Int32]) {
        for (t, token) in tokens.enumerated() {
            Dequantize.run(table.source.type, table.row(Int(token)), out + t * table.cols, count: table.cols)
        }
    }

    /// Oracle of `dequantize_rows` (dequantize.cl): rows `rows` of W decoded to F32, one after
    /// another.   W (O, D) in any type -> out (rows.count, D)
    public static func dequantizeRows(_ out: UnsafeMutablePointer<Float>, _ w: CPUWeight, rows: Range<Int>) {
        for (r, row) in rows.enumerated() {
            Dequantize.run(w.source.type, w.row(row), out + r * w.cols, count: w.cols)
        }
    }

    /// Oracle of `dequantize_rows_half` (dequantize.cl): `dequantizeRows`, each value then
    /// rounded to F16 as `f32ToF16` does (HGEMM's input).   -> out (rows.count, D) F16 bits
    public static func dequantizeRowsHalf(_ out: UnsafeMutablePointer<UInt16>, _ w: CPUWeight, rows: Range<Int>) {
        var decoded = [Float](repeating: 0, count: rows.count * w.cols)
        decoded.withUnsafeMutableBufferPointer { dequantizeRows($0.baseAddress!, w, rows: rows) }
        f32ToF16(out, decoded, count: decoded.count)
    }

    /// Oracle of `matvec_rows` (matvec.cl) and of the GEMM path (`dequantize_rows`, CLBlast,
    /// `add_bias_rows`): out[t][o] = Σ_i W[o][i] · x[t][i] (+ bias[o]).
    /// W (O, D) in any type, x (T, D) -> out (T, O)
    public static func matvecRows(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: CPUWeight,
                                  bias: UnsafePointer<Float>?, rows: Int) {
        var wrow = [Float](repeating: 0, count: w.cols)
        for o in 0..<w.rows {
            dequantizeRows(&wrow, w, rows: o..<o + 1)
            for t in 0..<rows {
                var s: Float = 0
                for i in 0..<w.cols { s += wrow[i] * x[t * w.cols + i] }
                out[t * w.rows + o] = s
            }
        }
        if let bias { addBiasRows(out, bias: bias, rows: rows, cols: w.rows) }
    }

    // MARK: Activations

    /// Oracle of `rmsnorm_rows` (rmsnorm.cl): out[t] = x[t] / sqrt(mean(x[t]²) + eps) · w.
    /// x, out (T, D)
    public static func rmsnormRows(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, rows: Int, dim: Int, eps: Float) {
        for t in 0..<rows {
            var ss: Float = 0
            for i in 0..<dim { ss += x[t * dim + i] * x[t * dim + i] }
            let scale = 1 / (ss / Float(dim) + eps).squareRoot()
            for i in 0..<dim { out[t * dim + i] = x[t * dim + i] * scale * w[i] }
        }
    }

    /// Oracle of `rope_rows` (rope.cl): rotates pairs of each head in place by the angles of
    /// `RopeParams.angle`: (2i, 2i+1) for normal, (i, i + dims/2) for neox.   x (T, H·Dh)
    public static func ropeRows(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int, positions: [Int32], params p: RopeParams, factors: [Float]?) {
        for t in 0..<rows {
            for h in 0..<heads {
                let head = x + t * heads * headDim + h * headDim
                for i in 0..<p.dims / 2 {
                    let (c, s) = p.angle(position: Int(positions[t]), pair: i, factor: factors?[i] ?? 1)
                    let (a, b) = p.style == .normal ? (2 * i, 2 * i + 1) : (i, i + p.dims / 2)
                    let x0 = head[a], x1 = head[b]
                    head[a] = x0 * c - x1 * s
                    head[b] = x0 * s + x1 * c
                }
            }
        }
    }

    /// Oracle of `store_kv` (kv.cl): k[t], v[t] → cell cells[t] of one layer's K and V.
    /// k, v (T, kvDim) -> kCache, vCache (cells, kvDim)
    public static func storeKV(kCache: UnsafeMutablePointer<Float>, vCache: UnsafeMutablePointer<Float>,
                               k: UnsafePointer<Float>, v: UnsafePointer<Float>, cells: [Int32], kvDim: Int) {
        for (t, cell) in cells.enumerated() {
            for i in 0..<kvDim {
                kCache[Int(cell) * kvDim + i] = k[t * kvDim + i]
                vCache[Int(cell) * kvDim + i] = v[t * kvDim + i]
            }
        }
    }

    /// Oracle of `attention_rows` (attention.cl): for each row t and head h, softmax(q·K / sqrt(Dh))
    /// over the visible cells, times V. K, V (cells, Hkv·Dh); q, out (T, H·Dh). Head h reads KV
    /// head h / (H / Hkv).
    public static func attentionRows(_ out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                     heads: Int, kvHeads: Int, headDim: Int, plan: BatchPlan) {
        let kvDim = kvHeads * headDim, qDim = heads * headDim
        let scale = 1 / Float(headDim).squareRoot()
        for t in 0..<plan.rows {
            let visible = plan.visibleCells[Int(plan.visibleOffsets[t])..<Int(plan.visibleOffsets[t + 1])]
            for h in 0..<heads {
                let kvh = h / (heads / kvHeads)
                let qh = q + t * qDim + h * headDim
                var scores = visible.map { cell -> Float in
                    var s: Float = 0
                    for i in 0..<headDim { s += qh[i] * k[Int(cell) * kvDim + kvh * headDim + i] }
                    return s * scale
                }
                let m = scores.max() ?? 0
                var sum: Float = 0
                for j in scores.indices { scores[j] = exp(scores[j] - m); sum += scores[j] }
                let o = out + t * qDim + h * headDim
                for i in 0..<headDim { o[i] = 0 }
                for (j, cell) in visible.enumerated() {
                    for i in 0..<headDim { o[i] += scores[j] / sum * v[Int(cell) * kvDim + kvh * headDim + i] }
                }
            }
        }
    }

    /// Oracle of `swiglu` (swiglu.cl): out = silu(gate) · up,  silu(x) = x / (1 + e^−x)
    public static func swiglu(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = gate[i] / (1 + exp(-gate[i])) * up[i] }
    }

    /// Oracle of `add_in_place` (add.cl): x += y over `count` values (the residual).
    public static func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// Oracle of `add_bias_rows` (add.cl): out[t][o] += bias[o].   out (T, O)
    public static func addBiasRows(_ out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int) {
        for t in 0..<rows { for o in 0..<cols { out[t * cols + o] += bias[o] } }
    }

    /// Oracle of `gather_rows` (gather.cl): out[r] = x[rows[r]].   x (·, D) -> out (rows.count, D)
    public static func gatherRows(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: [Int], cols: Int) {
        for (r, source) in rows.enumerated() {
            for i in 0..<cols { out[r * cols + i] = x[source * cols + i] }
        }
    }

    // MARK: Fused decode kernels (each the plain sequence of the ops above it replaces)

    /// Oracle of `matvec_add_rows` (matvec.cl): x[t] += W · a[t], i.e. `matvecRows` into a
    /// temporary, then `addInPlace`.   W (O, D), a (T, D) -> x (T, O)
    public static func matvecAddRows(_ x: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ w: CPUWeight, rows: Int) {
        var product = [Float](repeating: 0, count: rows * w.rows)
        product.withUnsafeMutableBufferPointer { matvecRows($0.baseAddress!, a, w, bias: nil, rows: rows) }
        addInPlace(x, product, count: rows * w.rows)
    }

    /// Oracle of `rmsnorm_matvec_rows` (matvec.cl): out[t] = W · rmsnorm(x[t]) · norm.
    /// x (T, D), norm (D), W (O, D) -> out (T, O)
    public static func rmsnormMatvecRows(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, norm: UnsafePointer<Float>, eps: Float,
                                         _ w: CPUWeight, rows: Int) {
        var n = [Float](repeating: 0, count: rows * w.cols)
        n.withUnsafeMutableBufferPointer { rmsnormRows($0.baseAddress!, x, norm, rows: rows, dim: w.cols, eps: eps) }
        matvecRows(out, n, w, bias: nil, rows: rows)
    }

    /// Oracle of `gate_up_swiglu_rows` (ffn.cl): n = rmsnorm(x)·norm, out = swiglu(Wg·n, Wu·n).
    /// x (T, D), Wg and Wu (F, D) -> out (T, F)
    public static func gateUpSwigluRows(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, norm: UnsafePointer<Float>, eps: Float,
                                        gate: CPUWeight, up: CPUWeight, rows: Int) {
        var n = [Float](repeating: 0, count: rows * gate.cols)
        var g = [Float](repeating: 0, count: rows * gate.rows), u = g
        n.withUnsafeMutableBufferPointer { rmsnormRows($0.baseAddress!, x, norm, rows: rows, dim: gate.cols, eps: eps) }
        g.withUnsafeMutableBufferPointer { matvecRows($0.baseAddress!, n, gate, bias: nil, rows: rows) }
        u.withUnsafeMutableBufferPointer { matvecRows($0.baseAddress!, n, up, bias: nil, rows: rows) }
        swiglu(out, gate: g, up: u, count: rows * gate.rows)
    }

    /// Oracle of `attention_input_rows` (qkv.cl): n = rmsnorm(x)·norm, q = rope(Wq·n + bq), and
    /// cells[t] of kCache/vCache get rope(Wk·n + bk) and Wv·n + bv.
    /// x (T, D) -> q (T, H·Dh); kCache, vCache (cells, Hkv·Dh)
    public static func attentionInputRows(q: UnsafeMutablePointer<Float>, kCache: UnsafeMutablePointer<Float>, vCache: UnsafeMutablePointer<Float>,
                                          _ x: UnsafePointer<Float>, norm: UnsafePointer<Float>, eps: Float,
                                          wq: CPUWeight, wk: CPUWeight, wv: CPUWeight, bq: UnsafePointer<Float>?, bk: UnsafePointer<Float>?, bv: UnsafePointer<Float>?,
                                          heads: Int, kvHeads: Int, headDim: Int, positions: [Int32], cells: [Int32], params: RopeParams, factors: [Float]?) {
        let rows = positions.count, kvDim = kvHeads * headDim
        var n = [Float](repeating: 0, count: rows * wq.cols)
        var k = [Float](repeating: 0, count: rows * kvDim), v = k
        n.withUnsafeMutableBufferPointer { rmsnormRows($0.baseAddress!, x, norm, rows: rows, dim: wq.cols, eps: eps) }
        matvecRows(q, n, wq, bias: bq, rows: rows)
        k.withUnsafeMutableBufferPointer { matvecRows($0.baseAddress!, n, wk, bias: bk, rows: rows) }
        v.withUnsafeMutableBufferPointer { matvecRows($0.baseAddress!, n, wv, bias: bv, rows: rows) }
        ropeRows(q, rows: rows, heads: heads, headDim: headDim, positions: positions, params: params, factors: factors)
        k.withUnsafeMutableBufferPointer { ropeRows($0.baseAddress!, rows: rows, heads: kvHeads, headDim: headDim, positions: positions, params: params, factors: factors) }
        storeKV(kCache: kCache, vCache: vCache, k: k, v: v, cells: cells, kvDim: kvDim)
    }

    /// Oracle of `attention_split_rows` (attention.cl, flash-decoding): for row t, head h and
    /// chunk s of `chunk` visible cells: m = max score, l = Σ e^(score − m), o = Σ e^(score − m)·V,
    /// written to partials[t][h][s] as (o[Dh], m, l); with one chunk, out = o / l instead.
    /// Scores as in `attentionRows`. q, out (T, H·Dh); partials (T, H, splits, Dh + 2)
    public static func attentionSplitRows(_ out: UnsafeMutablePointer<Float>, partials: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>,
                                          k: UnsafePointer<Float>, v: UnsafePointer<Float>, heads: Int, kvHeads: Int, headDim: Int,
                                          plan: BatchPlan, chunk: Int, splits: Int) {
        let kvDim = kvHeads * headDim, qDim = heads * headDim
        let scale = 1 / Float(headDim).squareRoot()
        for t in 0..<plan.rows {
            let lo = Int(plan.visibleOffsets[t]), hi = Int(plan.visibleOffsets[t + 1])
            for h in 0..<heads {
                let kvh = h / (heads / kvHeads)
                let qh = q + t * qDim + h * headDim
                for s in 0..<splits {
                    let cells = plan.visibleCells[min(hi, lo + s * chunk)..<min(hi, lo + (s + 1) * chunk)]
                    let scores = cells.map { cell -> Float in
                        var dot: Float = 0
                        for i in 0..<headDim { dot += qh[i] * k[Int(cell) * kvDim + kvh * headDim + i] }
                        return dot * scale
                    }
                    let m = scores.max() ?? -.infinity
                    let e = scores.map { exp($0 - m) }
                    let l = e.reduce(0, +)
                    var o = [Float](repeating: 0, count: headDim)
                    for (j, cell) in cells.enumerated() {
                        for i in 0..<headDim { o[i] += e[j] * v[Int(cell) * kvDim + kvh * headDim + i] }
                    }
                    if splits == 1 {
                        for i in 0..<headDim { out[t * qDim + h * headDim + i] = l > 0 ? o[i] * (1 / l) : 0 }
                    } else {
                        let p = partials + ((t * heads + h) * splits + s) * (headDim + 2)
                        for i in 0..<headDim { p[i] = o[i] }
                        p[headDim] = m; p[headDim + 1] = l
                    }
                }
            }
        }
    }

    /// Oracle of `attention_combine` (attention.cl): out = Σ_s e^(m_s − M)·o_s / Σ_s e^(m_s − M)·l_s
    /// with M = max_s m_s over `attentionSplitRows`' partials.   -> out (T, H·Dh)
    public static func attentionCombine(_ out: UnsafeMutablePointer<Float>, partials: UnsafePointer<Float>, rows: Int, heads: Int, headDim: Int, splits: Int) {
        for t in 0..<rows {
            for h in 0..<heads {
                let p = partials + (t * heads + h) * splits * (headDim + 2)
                let top = (0..<splits).map { p[$0 * (headDim + 2) + headDim] }.max() ?? -.infinity
                let weights = (0..<splits).map { s -> Float in
                    let m = p[s * (headDim + 2) + headDim]
                    return m == -.infinity ? 0 : exp(m - top)
                }
                var l: Float = 0
                for s in 0..<splits { l += weights[s] * p[s * (headDim + 2) + headDim + 1] }
                for i in 0..<headDim {
                    var o: Float = 0
                    for s in 0..<splits { o += weights[s] * p[s * (headDim + 2) + i] }
                    out[(t * heads + h) * headDim + i] = l > 0 ? o / l : 0
                }
            }
        }
    }

    /// Oracle of `argmax_rows` (argmax.cl): LlamaCore's argmax of each row (first index on ties).
    /// x (T, D) -> out (T)
    public static func argmaxRows(_ out: UnsafeMutablePointer<Int32>, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        for t in 0..<rows { out[t] = Int32(argmax(Array(UnsafeBufferPointer(start: x + t * cols, count: cols)))) }
    }

    // MARK: Storage conversions (around HGEMM)

    /// Oracle of `f32_to_f16` (convert.cl): IEEE half bits, rounded to nearest even, overflow to ±inf.
    public static func f32ToF16(_ out: UnsafeMutablePointer<UInt16>, _ x: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = Half.fromFloat(x[i]) }
    }

    /// Oracle of `f16_to_f32` (convert.cl): every half value is exact in F32.
    public static func f16ToF32(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<UInt16>, count: Int) {
        for i in 0..<count { out[i] = Half.toFloat(x[i]) }
    }
}
