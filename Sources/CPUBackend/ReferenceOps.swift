import Foundation
import GGUF
import LlamaCore

/// The reference ops: plain loops, one per math step, in the llama2.c spirit. They are the
/// oracle that fast paths and other backends are checked against; keep them obvious.
/// Shapes: T rows, D width, O outputs, H heads, Dh head size.
public enum ReferenceOps {
    /// out[t] = x[t] / sqrt(mean(x[t]²) + eps) · w          x, out (T, D)
    public static func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, rows: Int, dim: Int, eps: Float) {
        for t in 0..<rows {
            var ss: Float = 0
            for i in 0..<dim { ss += x[t * dim + i] * x[t * dim + i] }
            let scale = 1 / (ss / Float(dim) + eps).squareRoot()
            for i in 0..<dim { out[t * dim + i] = x[t * dim + i] * scale * w[i] }
        }
    }

    /// out[t][o] = Σ_i W[o][i] · x[t][i]                      W (O, D) in any type, x (T, D) -> (T, O)
    public static func matmul(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: CPUWeight, rows: Int) {
        var wrow = [Float](repeating: 0, count: w.cols)
        for o in 0..<w.rows {
            Dequantize.run(w.source.type, w.row(o), &wrow, count: w.cols)
            for t in 0..<rows {
                var s: Float = 0
                for i in 0..<w.cols { s += wrow[i] * x[t * w.cols + i] }
                out[t * w.rows + o] = s
            }
        }
    }

    /// The angle of rotation pair i at `position`: pos·scale · base^(−2i/dims) / factor[i].
    /// Computed in Double so every backend rounds the same exact angle.
    @inline(__always) public static func ropeAngle(position: Int32, pair i: Int, params p: RopeParams, factor: Float) -> (cos: Float, sin: Float) {
        let theta = Double(position) * Double(p.positionScale) * pow(Double(p.base), -2 * Double(i) / Double(p.dims)) / Double(factor)
        return (Float(cos(theta)), Float(sin(theta)))
    }

    /// Rotates pairs of each head in place: (2i, 2i+1) for normal, (i, i + dims/2) for neox.   x (T, H·Dh)
    public static func rope(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int, positions: [Int32], params p: RopeParams, factors: [Float]?) {
        for t in 0..<rows {
            for h in 0..<heads {
                let head = x + t * heads * headDim + h * headDim
                for i in 0..<p.dims / 2 {
                    let (c, s) = ropeAngle(position: positions[t], pair: i, params: p, factor: factors?[i] ?? 1)
                    let (a, b) = p.style == .normal ? (2 * i, 2 * i + 1) : (i, i + p.dims / 2)
                    let x0 = head[a], x1 = head[b]
                    head[a] = x0 * c - x1 * s
                    head[b] = x0 * s + x1 * c
                }
            }
        }
    }

    /// For each row t and head h: softmax(q·K / sqrt(Dh)) over the visible cells, times V.
    /// K, V (cells, Hkv·Dh); q, out (T, H·Dh). Head h reads KV head h / (H / Hkv).
    public static func attention(_ out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
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

    /// out = silu(gate) · up,  silu(x) = x / (1 + e^−x)
    public static func swiglu(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = gate[i] / (1 + exp(-gate[i])) * up[i] }
    }
}
