import Foundation
import LlamaCore

/// Forward and backward of each op of the LLaMA block except attention and the linear layers
/// (see `AttentionOp`, `Gemm`). Shapes: N rows (tokens), D width. Backward functions *add* into
/// the gradients they produce for inputs that feed the residual stream, because the residual
/// stream's gradient is the sum of every branch's contribution.
public enum Ops {
    // MARK: Embedding

    /// x[t] = E[token[t]]                                   E (V, D), x (N, D)
    public static func embedForward<S: TrainScalar>(_ x: UnsafeMutablePointer<S>, table: UnsafePointer<S>, tokens: UnsafePointer<Int32>, rows: Int, dim: Int) {
        for t in 0..<rows { (x + t * dim).update(from: table + Int(tokens[t]) * dim, count: dim) }
    }

    /// dE[token[t]] += dx[t]
    public static func embedBackward<S: TrainScalar>(_ dTable: UnsafeMutablePointer<S>, dx: UnsafePointer<S>, tokens: UnsafePointer<Int32>, rows: Int, dim: Int) {
        for t in 0..<rows { Gemm.axpy(dTable + Int(tokens[t]) * dim, 1, dx + t * dim, dim) }
    }

    // MARK: RMSNorm

    /// y[t] = x[t] · r[t] · w,  r[t] = 1/√(mean(x[t]²) + eps). Saves r for the backward pass.
    /// The same summation order and rounding steps as the inference reference op.
    public static func rmsNormForward<S: TrainScalar>(_ y: UnsafeMutablePointer<S>, rstd: UnsafeMutablePointer<S>, _ x: UnsafePointer<S>, weight w: UnsafePointer<S>,
                                                      rows: Int, dim: Int, eps: S, threads: Int = 1) {
        parallelChunks(rows, threads: threads, minimumChunk: 64) { range in
            for t in range {
                let xr = x + t * dim, yr = y + t * dim
                var ss: S = 0
                for i in 0..<dim { ss += xr[i] * xr[i] }
                let r = 1 / (ss / S(dim) + eps).squareRoot()
                rstd[t] = r
                for i in 0..<dim { yr[i] = xr[i] * r * w[i] }
            }
        }
    }

    /// With g = dy ⊙ w:  dx += r·g − x · r³ · (g·x) / D,   dw += Σ_t dy ⊙ x · r.
    /// dx is split by rows, dw by columns (each thread sums all rows of its columns, so the
    /// result does not depend on the thread count).
    public static func rmsNormBackward<S: TrainScalar>(dx: UnsafeMutablePointer<S>, dWeight: UnsafeMutablePointer<S>, dy: UnsafePointer<S>, _ x: UnsafePointer<S>,
                                                       weight w: UnsafePointer<S>, rstd: UnsafePointer<S>, rows: Int, dim: Int, threads: Int = 1) {
        parallelChunks(rows, threads: threads, minimumChunk: 64) { range in
            for t in range {
                let xr = x + t * dim, dyr = dy + t * dim, dxr = dx + t * dim
                let r = rstd[t]
                var gx: S = 0
                for i in 0..<dim { gx += dyr[i] * w[i] * xr[i] }
                let c = r * r * r * gx / S(dim)
                for i in 0..<dim { dxr[i] += r * dyr[i] * w[i] - xr[i] * c }
            }
        }
        parallelChunks(dim, threads: rows * dim < 1 << 14 ? 1 : threads, minimumChunk: 16) { cols in
            for t in 0..<rows {
                let xr = x + t * dim, dyr = dy + t * dim, r = rstd[t]
                for i in cols { dWeight[i] += dyr[i] * xr[i] * r }
            }
        }
    }

    // MARK: RoPE ("normal" pairing (2i, 2i+1), as llama GGUFs use)

    /// Rotates each pair (2i, 2i+1) of every head by position·base^(−2i/Dh). In place.   x (N, H·Dh)
    public static func ropeForward<S: TrainScalar>(_ x: UnsafeMutablePointer<S>, table: RopeTable<S>, positions: UnsafePointer<Int32>, rows: Int, heads: Int) {
        rotate(x, table: table, positions: positions, rows: rows, heads: heads, direction: 1)
    }

    /// A rotation's Jacobian is its transpose, i.e. the rotation by −θ. In place on the gradient.
    public static func ropeBackward<S: TrainScalar>(_ dx: UnsafeMutablePointer<S>, table: RopeTable<S>, positions: UnsafePointer<Int32>, rows: Int, heads: Int) {
        rotate(dx, table: table, positions: positions, rows: rows, heads: heads, direction: -1)
    }

    static func rotate<S: TrainScalar>(_ x: UnsafeMutablePointer<S>, table: RopeTable<S>, positions: UnsafePointer<Int32>, rows: Int, heads: Int, direction: S) {
        let hd = table.headDim, pairs = hd / 2
        for t in 0..<rows {
            let c = table.cos + Int(positions[t]) * pairs, s = table.sin + Int(positions[t]) * pairs
            for h in 0..<heads {
                let head = x + (t * heads + h) * hd
                for i in 0..<pairs {
                    let x0 = head[2 * i], x1 = head[2 * i + 1], sn = direction * s[i]
                    head[2 * i] = x0 * c[i] - x1 * sn
                    head[2 * i + 1] = x0 * sn + x1 * c[i]
                }
            }
        }
    }

    // MARK: SwiGLU

    /// out = silu(a) ⊙ b,  silu(a) = a / (1 + e^−a)
    public static func swigluForward<S: TrainScalar>(_ out: UnsafeMutablePointer<S>, gate a: UnsafePointer<S>, up b: UnsafePointer<S>, count: Int, threads: Int = 1) {
        parallelChunks(count, threads: threads, minimumChunk: 1 << 13) { range in
            for i in range { out[i] = a[i] / (1 + S.exponential(-a[i])) * b[i] }
        }
    }

    /// silu'(a) = σ(a)·(1 + a·(1 − σ(a))):  da = dout·b·silu'(a),  db = dout·silu(a)
    public static func swigluBackward<S: TrainScalar>(dGate: UnsafeMutablePointer<S>, dUp: UnsafeMutablePointer<S>, dOut: UnsafePointer<S>,
                                                      gate a: UnsafePointer<S>, up b: UnsafePointer<S>, count: Int, threads: Int = 1) {
        parallelChunks(count, threads: threads, minimumChunk: 1 << 13) { range in
            for i in range {
                let sig = 1 / (1 + S.exponential(-a[i]))
                dGate[i] = dOut[i] * b[i] * sig * (1 + a[i] * (1 - sig))
                dUp[i] = dOut[i] * a[i] * sig
            }
        }
    }

    // MARK: Cross-entropy

    /// Weighted mean of −log softmax(logits[t])[target[t]] over rows with weight > 0, and, when
    /// `dLogits` is given, its gradient: w[t]/Σw · (softmax(logits[t]) − onehot(target[t])).
    /// Rows are independent, so they are split across threads; per-row losses are summed in
    /// Double in row order, so the result does not depend on the thread count.
    public static func crossEntropy<S: TrainScalar>(dLogits: UnsafeMutablePointer<S>?, logits: UnsafePointer<S>, targets: UnsafePointer<Int32>,
                                                    weights: UnsafePointer<S>, rows: Int, vocab: Int, threads: Int) -> Double {
        var total: S = 0
        for t in 0..<rows { total += weights[t] }
        guard total > 0 else {
            dLogits?.update(repeating: 0, count: rows * vocab)
            return 0
        }
        var rowLoss = [Double](repeating: 0, count: rows)
        rowLoss.withUnsafeMutableBufferPointer { lossOut in
            let lossOut = lossOut.baseAddress!
            parallelChunks(rows, threads: threads, minimumChunk: 16) { range in
                for t in range {
                    let l = logits + t * vocab, w = weights[t]
                    guard w > 0 else {
                        if let d = dLogits { (d + t * vocab).update(repeating: 0, count: vocab) }
                        continue
                    }
                    var m = l[0]
                    for j in 1..<vocab where l[j] > m { m = l[j] }
                    var sum: S = 0
                    for j in 0..<vocab { sum += S.exponential(l[j] - m) }
                    let target = Int(targets[t])
                    lossOut[t] = Double(w) * Double(m + S.logarithm(sum) - l[target])
                    if let d = dLogits {
                        let dr = d + t * vocab, scale = w / total
                        for j in 0..<vocab { dr[j] = S.exponential(l[j] - m) / sum * scale }
                        dr[target] -= scale
                    }
                }
            }
        }
        return rowLoss.reduce(0, +) / Double(total)
    }
}

/// cos and sin of every (position, pair) angle. The angle is computed in Double and rounded
/// once, exactly as the inference reference does, so trained logits match `llamacl eval`.
public final class RopeTable<S: TrainScalar> {
    public let headDim: Int
    public let positions: Int
    let cos: UnsafeMutablePointer<S>
    let sin: UnsafeMutablePointer<S>

    public init(headDim: Int, positions: Int, base: Float) {
        self.headDim = headDim
        self.positions = positions
        let pairs = headDim / 2
        cos = .allocate(capacity: max(1, positions * pairs))
        sin = .allocate(capacity: max(1, positions * pairs))
        // Inference's angles (LlamaCore's one formula; scale and factor 1 leave it exact). They are
        // Float, so Double runs keep the same angles as Float runs and as `llamacl eval`.
        let rope = RopeParams(base: base, dims: headDim, style: .normal)
        for p in 0..<positions {
            for i in 0..<pairs {
                let (c, s) = rope.angle(position: p, pair: i)
                cos[p * pairs + i] = S(c)
                sin[p * pairs + i] = S(s)
            }
        }
    }

    deinit { cos.deallocate(); sin.deallocate() }
}
