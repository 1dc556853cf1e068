import CPUKernels
import Foundation
import GGUF
import LlamaCore

/// Threaded, vectorised versions of the reference ops. Each output element is computed by
/// exactly one code path whatever the batch size, so results do not depend on batching.
enum FastOps {
    /// out (T, O) = x (T, D) · Wᵀ; output rows are split over threads, each weight row is
    /// decoded once into a per-thread buffer and used for every row of the batch.
    static func matmul(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: CPUWeight, rows T: Int, pool: ThreadPool) {
        let D = w.cols, O = w.rows
        if w.source.type == .f16 {
            // converted in registers (F16C) and accumulated in F32: no decoded copy of the row
            let base = w.source.data.assumingMemoryBound(to: UInt16.self)
            Tiling.forEachTile(rows: O, tokens: T, bytesPerToken: 4 * D, pool: pool) { rows, t0, count in
                llcl_matmul_f16(Int32(D), base + rows.lowerBound * D, D, Int32(rows.count), Int32(count), x + t0 * D, out + t0 * O + rows.lowerBound, O)
            }
            return
        }
        pool.parallelFor(O, minimumChunk: 16) { range in
            if w.source.type == .f32 {
                let base = w.source.data.assumingMemoryBound(to: Float.self)
                for o in range { for t in 0..<T { out[t * O + o] = SIMDMath.dot(base + o * D, x + t * D, D) } }
                return
            }

            let buf = UnsafeMutablePointer<Float>.allocate(capacity: D)
            defer { buf.deallocate() }
            for o in range {
                FastDequantize.run(w.source.type, w.row(o), buf, count: D)
                for t in 0..<T { out[t * O + o] = SIMDMath.dot(buf, x + t * D, D) }
            }
        }
    }

    /// RMSNorm with a vectorised sum of squares (its order fixed by dim alone) and scaling.
    static func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, rows: Int, dim: Int, eps: Float) {
        for t in 0..<rows {
            let row = x + t * dim, target = out + t * dim
            let scale = 1 / (SIMDMath.dot(row, row, dim) / Float(dim) + eps).squareRoot()
            for i in 0..<dim { target[i] = row[i] * scale * w[i] }
        }
    }

    /// Attention with (row, KV head) pairs split over threads: one kernel call takes the query
    /// heads that share a KV head (adjacent in q and out), so the group reads the cache once.
    static func attention(_ out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                          heads: Int, kvHeads: Int, headDim: Int, plan: BatchPlan, pool: ThreadPool) {
        let kvDim = kvHeads * headDim, qDim = heads * headDim
        let scale = 1 / Float(headDim).squareRoot()
        let group = heads / kvHeads
        let maxVisible = (0..<plan.rows).map { Int(plan.visibleOffsets[$0 + 1] - plan.visibleOffsets[$0]) }.max() ?? 0
        plan.visibleCells.withUnsafeBufferPointer { cells in
            pool.parallelFor(plan.rows * kvHeads) { range in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: group * max(1, maxVisible))
                defer { scores.deallocate() }
                for job in range {
                    let t = job / kvHeads, kvh = job % kvHeads, head = kvh * group
                    let lo = Int(plan.visibleOffsets[t]), n = Int(plan.visibleOffsets[t + 1]) - lo
                    llcl_attend_group(Int32(headDim), Int32(group), q + t * qDim + head * headDim, k + kvh * headDim, v + kvh * headDim, kvDim,
                                      cells.baseAddress! + lo, Int32(n), scale, scores, out + t * qDim + head * headDim)
                }
            }
        }
    }
}

/// cos/sin of every (row, pair) of one batch, computed once and used by every layer.
struct RopeTable {
    let pairs: Int
    let style: RopeStyle
    let cosines: [Float], sines: [Float]

    init(positions: [Int32], params p: RopeParams, factors: [Float]?) {
        pairs = p.dims / 2
        style = p.style
        var c = [Float](), s = [Float]()
        c.reserveCapacity(positions.count * pairs); s.reserveCapacity(positions.count * pairs)
        for pos in positions {
            for i in 0..<pairs {
                let (ci, si) = p.angle(position: Int(pos), pair: i, factor: factors?[i] ?? 1)
                c.append(ci); s.append(si)
            }
        }
        cosines = c; sines = s
    }

    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int) {
        let half = pairs
        for t in 0..<rows {
            for h in 0..<heads {
                let head = x + (t * heads + h) * headDim
                for i in 0..<pairs {
                    let c = cosines[t * pairs + i], s = sines[t * pairs + i]
                    let (a, b) = style == .normal ? (2 * i, 2 * i + 1) : (i, i + half)
                    let x0 = head[a], x1 = head[b]
                    head[a] = x0 * c - x1 * s
                    head[b] = x0 * s + x1 * c
                }
            }
        }
    }
}
