/// Causal self-attention with grouped KV heads over packed sequences.
///
/// The batch is B rows of T tokens; token t of a row attends to tokens start(t)...t of the same
/// row, where start(t) is where its segment (one packed example) begins. Each segment therefore
/// sees exactly what inference sees for that example alone: positions restart at 0 and nothing
/// from the previous example leaks in. Head h reads KV head h / (H / Hkv), as in inference.
///
/// Shapes: q, out (B·T, H·Dh); k, v (B·T, Hkv·Dh); probs (B, H, T, T), only j in start(t)...t used.
public struct AttentionShape {
    public var batch: Int, length: Int, heads: Int, kvHeads: Int, headDim: Int
    public init(batch: Int, length: Int, heads: Int, kvHeads: Int, headDim: Int) {
        self.batch = batch; self.length = length; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
    }
    var qDim: Int { heads * headDim }
    var kvDim: Int { kvHeads * headDim }
    var group: Int { heads / kvHeads }
    var probsCount: Int { batch * heads * length * length }
}

public enum AttentionOp {
    /// P = softmax(q·kᵀ/√Dh) over the visible keys, out = P·v. Saves P.
    public static func forward<S: TrainScalar>(_ out: UnsafeMutablePointer<S>, probs: UnsafeMutablePointer<S>,
                                               q: UnsafePointer<S>, k: UnsafePointer<S>, v: UnsafePointer<S>,
                                               segmentStart: UnsafePointer<Int32>, shape a: AttentionShape, threads: Int) {
        let T = a.length, hd = a.headDim
        let scale = 1 / S(hd).squareRoot()
        parallelChunks(a.batch * a.heads, threads: threads) { range in
            for task in range {
                let b = task / a.heads, h = task % a.heads, kvh = h / a.group
                for t in 0..<T {
                    let row = b * T + t, start = Int(segmentStart[row])
                    let qt = q + row * a.qDim + h * hd
                    let p = probs + ((b * a.heads + h) * T + t) * T
                    var m = -S.infinity
                    for j in start...t {
                        let s = Gemm.dot(qt, k + (b * T + j) * a.kvDim + kvh * hd, hd) * scale
                        p[j] = s
                        if s > m { m = s }
                    }
                    var sum: S = 0
                    for j in start...t { p[j] = S.exponential(p[j] - m); sum += p[j] }
                    let o = out + row * a.qDim + h * hd
                    o.update(repeating: 0, count: hd)
                    for j in start...t {
                        p[j] /= sum
                        Gemm.axpy(o, p[j], v + (b * T + j) * a.kvDim + kvh * hd, hd)
                    }
                }
            }
        }
    }

    /// With dP = dout·vᵀ and dS = P ⊙ (dP − rowsum(P ⊙ dP)) (the softmax Jacobian):
    /// dq = dS·k/√Dh, dk = dSᵀ·q/√Dh, dv = Pᵀ·dout, summed over the heads that share a KV head.
    /// Writes dq, dk and dv (no accumulation). Work is split by (row, KV head), so the heads
    /// that add into the same dk/dv slice run on one thread.
    public static func backward<S: TrainScalar>(dq: UnsafeMutablePointer<S>, dk: UnsafeMutablePointer<S>, dv: UnsafeMutablePointer<S>,
                                                dOut: UnsafePointer<S>, probs: UnsafePointer<S>,
                                                q: UnsafePointer<S>, k: UnsafePointer<S>, v: UnsafePointer<S>,
                                                segmentStart: UnsafePointer<Int32>, shape a: AttentionShape, threads: Int) {
        let T = a.length, hd = a.headDim
        let scale = 1 / S(hd).squareRoot()
        parallelChunks(a.batch * a.kvHeads, threads: threads) { range in
            var dp = [S](repeating: 0, count: T)
            for task in range {
                let b = task / a.kvHeads, kvh = task % a.kvHeads
                for t in 0..<T {
                    (dk + (b * T + t) * a.kvDim + kvh * hd).update(repeating: 0, count: hd)
                    (dv + (b * T + t) * a.kvDim + kvh * hd).update(repeating: 0, count: hd)
                }
                for h in kvh * a.group..<(kvh + 1) * a.group {
                    for t in 0..<T {
                        let row = b * T + t, start = Int(segmentStart[row])
                        let p = probs + ((b * a.heads + h) * T + t) * T
                        let dot = dOut + row * a.qDim + h * hd
                        let qt = q + row * a.qDim + h * hd
                        let dqt = dq + row * a.qDim + h * hd
                        var weighted: S = 0
                        for j in start...t {
                            dp[j] = Gemm.dot(dot, v + (b * T + j) * a.kvDim + kvh * hd, hd)
                            weighted += p[j] * dp[j]
                        }
                        dqt.update(repeating: 0, count: hd)
                        for j in start...t {
                            let ds = p[j] * (dp[j] - weighted) * scale
                            let kvRow = (b * T + j) * a.kvDim + kvh * hd
                            Gemm.axpy(dqt, ds, k + kvRow, hd)
                            Gemm.axpy(dk + kvRow, ds, qt, hd)
                            Gemm.axpy(dv + kvRow, p[j], dot, hd)
                        }
                    }
                }
            }
        }
    }
}
