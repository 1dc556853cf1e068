import Training
import XCTest

/// Every op's backward against float64 central differences: relative error ≤ 1e-4.
final class OpGradientTests: XCTestCase {
    typealias G = GradientCheck
    let budget = 1e-4

    func assertClose(_ name: String, _ analytic: [Double], _ numeric: [Double], file: StaticString = #filePath, line: UInt = #line) {
        let err = G.maxRelativeError(analytic, numeric)
        GradientErrors.shared.record(name, err)
        XCTAssertLessThanOrEqual(err, budget, name, file: file, line: line)
        XCTAssertTrue(analytic.contains { abs($0) > 1e-3 }, "\(name): gradient should not be trivially zero", file: file, line: line)
    }

    func testEmbedding() {
        let (v, d, n) = (7, 5, 6)
        let table = G.random(v * d, seed: 1), r = G.random(n * d, seed: 2)
        let tokens: [Int32] = [3, 0, 6, 3, 2, 3]
        let out = Tensor<Double>(count: n * d)
        func loss() -> Double { Ops.embedForward(out.data, table: table.data, tokens: tokens, rows: n, dim: d); return G.project(out, r) }
        let grad = Tensor<Double>(count: v * d)
        Ops.embedBackward(grad.data, dx: r.data, tokens: tokens, rows: n, dim: d)
        assertClose("embedding", grad.values, G.numeric(table.data, count: table.count, loss: loss))
    }

    func testRMSNorm() {
        let (n, d) = (3, 9)
        let x = G.random(n * d, seed: 3), w = G.random(d, seed: 4, scale: 0.3, offset: 1), r = G.random(n * d, seed: 5)
        let y = Tensor<Double>(count: n * d), rstd = Tensor<Double>(count: n)
        func loss() -> Double {
            Ops.rmsNormForward(y.data, rstd: rstd.data, x.data, weight: w.data, rows: n, dim: d, eps: 1e-5)
            return G.project(y, r)
        }
        _ = loss()
        let dx = Tensor<Double>(count: n * d), dw = Tensor<Double>(count: d)
        Ops.rmsNormBackward(dx: dx.data, dWeight: dw.data, dy: r.data, x.data, weight: w.data, rstd: rstd.data, rows: n, dim: d)
        assertClose("rmsnorm.x", dx.values, G.numeric(x.data, count: x.count, loss: loss))
        assertClose("rmsnorm.weight", dw.values, G.numeric(w.data, count: w.count, loss: loss))
    }

    /// Sizes off every tile edge (4 rows, 16 columns), so the kernel's remainders are covered.
    func testLinear() {
        for (n, inDim, outDim) in [(5, 7, 19), (9, 33, 16), (4, 16, 37)] {
            let x = G.random(n * inDim, seed: 6), w = G.random(outDim * inDim, seed: 7), r = G.random(n * outDim, seed: 8)
            let y = Tensor<Double>(count: n * outDim), wT = Tensor<Double>(count: inDim * outDim)
            func loss() -> Double {
                Gemm.transpose(wT.data, w.data, rows: outDim, cols: inDim, threads: 2)
                LinearOp.forward(y.data, x.data, wT: wT.data, rows: n, inDim: inDim, outDim: outDim, threads: 2)
                return G.project(y, r)
            }
            let dx = Tensor<Double>(count: n * inDim), dw = Tensor<Double>(count: outDim * inDim)
            LinearOp.backward(dx: dx.data, accumulateInput: false, dWeight: dw.data, dy: r.data, x.data, weight: w.data,
                              rows: n, inDim: inDim, outDim: outDim, threads: 2)
            assertClose("matmul.x", dx.values, G.numeric(x.data, count: x.count, loss: loss))
            assertClose("matmul.weight", dw.values, G.numeric(w.data, count: w.count, loss: loss))
        }
    }

    func testRoPE() {
        let (n, heads, hd) = (4, 3, 6)
        let table = RopeTable<Double>(headDim: hd, positions: 16, base: 10000)
        let positions: [Int32] = [0, 1, 7, 15]
        let x = G.random(n * heads * hd, seed: 9), r = G.random(n * heads * hd, seed: 10)
        let y = Tensor<Double>(count: x.count)
        func loss() -> Double {
            y.copy(from: x)
            Ops.ropeForward(y.data, table: table, positions: positions, rows: n, heads: heads)
            return G.project(y, r)
        }
        let dx = Tensor<Double>(count: x.count)
        dx.copy(from: r)
        Ops.ropeBackward(dx.data, table: table, positions: positions, rows: n, heads: heads)
        assertClose("rope", dx.values, G.numeric(x.data, count: x.count, loss: loss))
    }

    /// Two rows of 5 tokens; the second row packs two segments (starts 0 and 2); 4 heads share 2 KV heads.
    func testAttention() {
        let shape = AttentionShape(batch: 2, length: 5, heads: 4, kvHeads: 2, headDim: 4)
        let n = 10, qDim = 16, kvDim = 8
        let segmentStart: [Int32] = [0, 0, 0, 0, 0, 0, 0, 2, 2, 2]
        let q = G.random(n * qDim, seed: 11), k = G.random(n * kvDim, seed: 12), v = G.random(n * kvDim, seed: 13)
        let r = G.random(n * qDim, seed: 14)
        let out = Tensor<Double>(count: n * qDim), probs = Tensor<Double>(count: shape.batch * 4 * 25)
        func loss() -> Double {
            AttentionOp.forward(out.data, probs: probs.data, q: q.data, k: k.data, v: v.data, segmentStart: segmentStart, shape: shape, threads: 2)
            return G.project(out, r)
        }
        _ = loss()
        let dq = Tensor<Double>(count: q.count), dk = Tensor<Double>(count: k.count), dv = Tensor<Double>(count: v.count)
        AttentionOp.backward(dq: dq.data, dk: dk.data, dv: dv.data, dOut: r.data, probs: probs.data, q: q.data, k: k.data, v: v.data,
                             segmentStart: segmentStart, shape: shape, threads: 2)
        assertClose("attention.q", dq.values, G.numeric(q.data, count: q.count, loss: loss))
        assertClose("attention.k", dk.values, G.numeric(k.data, count: k.count, loss: loss))
        assertClose("attention.v", dv.values, G.numeric(v.data, count: v.count, loss: loss))
    }

    func testSwiGLU() {
        let count = 23
        let a = G.random(count, seed: 15, scale: 2), b = G.random(count, seed: 16), r = G.random(count, seed: 17)
        let out = Tensor<Double>(count: count)
        func loss() -> Double { Ops.swigluForward(out.data, gate: a.data, up: b.data, count: count); return G.project(out, r) }
        let da = Tensor<Double>(count: count), db = Tensor<Double>(count: count)
        Ops.swigluBackward(dGate: da.data, dUp: db.data, dOut: r.data, gate: a.data, up: b.data, count: count)
        assertClose("swiglu.gate", da.values, G.numeric(a.data, count: count, loss: loss))
        assertClose("swiglu.up", db.values, G.numeric(b.data, count: count, loss: loss))
    }

    func testCrossEntropy() {
        let (n, vocab) = (5, 11)
        let logits = G.random(n * vocab, seed: 18, scale: 2)
        let targets: [Int32] = [3, 0, 10, 7, 7]
        let weights = Tensor<Double>([1, 0, 1, 1, 1])
        func loss() -> Double {
            Ops.crossEntropy(dLogits: nil, logits: logits.data, targets: targets, weights: weights.data, rows: n, vocab: vocab, threads: 2)
        }
        let grad = Tensor<Double>(count: logits.count)
        _ = Ops.crossEntropy(dLogits: grad.data, logits: logits.data, targets: targets, weights: weights.data, rows: n, vocab: vocab, threads: 2)
        assertClose("cross_entropy", grad.values, G.numeric(logits.data, count: logits.count, loss: loss))
        XCTAssertTrue((vocab..<2 * vocab).allSatisfy { grad[$0] == 0 }, "a row without loss weight has no gradient")
    }
}
