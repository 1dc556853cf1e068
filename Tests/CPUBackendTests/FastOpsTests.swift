@testable import CPUBackend
import CPUKernels
import Foundation
import GGUF
import LlamaCore
import XCTest

/// The fast CPU paths against the reference ops they replace.
final class FastOpsTests: XCTestCase {
    /// Every type decodes bit for bit like the reference, including special half values.
    func testFastDequantizeMatchesReference() throws {
        for type in TensorType.allCases {
            var x = randomValues(1024, seed: UInt64(type.rawValue) + 1)
            x[3] = 0; x[5] = -0.0; x[7] = 1e-6; x[9] = 70000; x[11] = -70000
            let bytes = Quantize.run(type, x)
            let reference = bytes.withUnsafeBytes { Dequantize.toFloats(type, $0.baseAddress!, count: x.count) }
            var fast = [Float](repeating: .nan, count: x.count)
            bytes.withUnsafeBytes { FastDequantize.run(type, $0.baseAddress!, &fast, count: x.count) }
            XCTAssertEqual(fast.map(\.bitPattern), reference.map(\.bitPattern), "\(type)")
        }
        // All 65536 half patterns, NaNs compared as NaN.
        let halves = (0..<65536).map { UInt16($0) }
        var out = [Float](repeating: 0, count: halves.count)
        halves.withUnsafeBufferPointer { FastDequantize.f16($0.baseAddress!, &out, halves.count) }
        for (h, f) in zip(halves, out) {
            let ref = Half.toFloat(h)
            XCTAssertTrue(ref.isNaN ? f.isNaN : ref.bitPattern == f.bitPattern, "half 0x\(String(h, radix: 16))")
        }
    }

    /// Fast matmul agrees with the reference loops within F32 rounding, and the reference
    /// agrees with a float64 product of the decoded weights (so that both being wrong the same
    /// way, e.g. all zeros, cannot pass). Outputs start as NaN: one left unwritten fails.
    func testFastMatmulMatchesReference() throws {
        for type in [TensorType.f32, .f16, .q8_0, .q4_0, .q4_K, .q6_K, .q5_1] {
            let rows = 19, cols = 512, tokens = 3
            let w = Quantize.run(type, randomValues(rows * cols, seed: 9))
            let x = randomValues(tokens * cols, seed: 10)
            let decoded = w.withUnsafeBytes { Dequantize.toFloats(type, $0.baseAddress!, count: rows * cols) }
            let exact = (0..<tokens * rows).map { j -> Float in
                let t = j / rows, o = j % rows
                return Float((0..<cols).reduce(0.0) { $0 + Double(decoded[o * cols + $1]) * Double(x[t * cols + $1]) })
            }
            w.withUnsafeBytes { raw in
                let weight = CPUWeight(WeightSource(name: "w", type: type, rows: rows, cols: cols, data: raw.baseAddress!, owner: nil))
                var ref = [Float](repeating: .nan, count: tokens * rows), fast = ref
                ReferenceOps.matvecRows(&ref, x, weight, bias: nil, rows: tokens)
                FastOps.matmul(&fast, x, weight, rows: tokens, pool: ThreadPool(threads: 2))
                XCTAssertLessThan(Budget.nmse(ref, exact), Budget.f32VsExact, "\(type): reference vs float64")
                XCTAssertLessThan(Budget.nmse(fast, ref), 1e-12, "\(type)")
            }
        }
    }

    /// F16 products: register tiles of rows × tokens give every (row, token) the bits it gets
    /// alone (batch invariance), with an odd row count, 13 tokens (tiles of 6, 6 and 1) and a
    /// tail of 8 columns, in every kernel variant, and the variants agree bit for bit.
    func testF16MatmulIsBatchInvariant() {
        let rows = 19, cols = 200, tokens = 13
        let w = Quantize.run(.f16, randomValues(rows * cols, seed: 21))
        let x = randomValues(tokens * cols, seed: 22)
        var first: [UInt32]?
        forEachVariant { variant in
            w.withUnsafeBytes { raw in
                let weight = CPUWeight(WeightSource(name: "w", type: .f16, rows: rows, cols: cols, data: raw.baseAddress!, owner: nil))
                var batched = [Float](repeating: 0, count: tokens * rows)
                FastOps.matmul(&batched, x, weight, rows: tokens, pool: ThreadPool(threads: 2))
                for t in 0..<tokens {
                    var single = [Float](repeating: 0, count: rows)
                    Array(x[t * cols..<(t + 1) * cols]).withUnsafeBufferPointer { FastOps.matmul(&single, $0.baseAddress!, weight, rows: 1, pool: ThreadPool(threads: 1)) }
                    XCTAssertEqual(single.map(\.bitPattern), batched[t * rows..<(t + 1) * rows].map(\.bitPattern), "variant \(variant), token \(t)")
                }
                if let first { XCTAssertEqual(first, batched.map(\.bitPattern), "variant \(variant) differs") }
                first = first ?? batched.map(\.bitPattern)
            }
        }
    }

    /// Fast attention (vectorised softmax) against the reference loops: a causal prompt of 37
    /// rows over GQA heads and one decoding row over 333 cells.
    func testFastAttentionMatchesReference() {
        let heads = 4, kvHeads = 2, headDim = 64, cells = 333
        for rows in [37, 1] {
            // row t sees cells 0...(cells − rows + t): a prompt's causal mask, or one long decode
            var offsets: [Int32] = [0], visible: [Int32] = []
            for t in 0..<rows {
                visible += (0...(cells - rows + t)).map(Int32.init)
                offsets.append(Int32(visible.count))
            }
            let plan = BatchPlan(tokens: Array(repeating: 0, count: rows), positions: (0..<rows).map { Int32(cells - rows + $0) },
                                 cells: (0..<rows).map { Int32(cells - rows + $0) }, visibleOffsets: offsets, visibleCells: visible)
            let q = randomValues(rows * heads * headDim, seed: 31).map { $0 * 3 }
            let k = randomValues(cells * kvHeads * headDim, seed: 32), v = randomValues(cells * kvHeads * headDim, seed: 33)
            var ref = [Float](repeating: 0, count: rows * heads * headDim), fast = ref
            ReferenceOps.attentionRows(&ref, q: q, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: headDim, plan: plan)
            FastOps.attention(&fast, q: q, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: headDim, plan: plan, pool: ThreadPool(threads: 2))
            XCTAssertLessThan(Budget.nmse(fast, ref), 1e-12, "\(rows) rows")
        }
    }

    /// The attention kernel gives the same bits in every variant (the AVX-512 copy folds 16 keys'
    /// sums at once, the others one key at a time), for head sizes with and without a remainder
    /// past 16, groups of 1–8 query heads, cache rows in any order and blocks cut anywhere; and
    /// each variant agrees with softmax attention computed in float64.
    func testAttentionKernelVariantsAgree() {
        for (headDim, group, n) in [(64, 8, 1), (64, 8, 333), (128, 4, 47), (40, 2, 16), (80, 1, 17), (16, 3, 100)] {
            let kvHeads = 2, kvStride = kvHeads * headDim, capacity = n + n / 8 + 8
            let q = randomValues(group * headDim, seed: UInt64(headDim + n)).map { $0 * 2 }
            let k = randomValues(capacity * kvStride, seed: 51), v = randomValues(capacity * kvStride, seed: 52)
            // every cell but a few, shuffled: rows are gathered by index, not read in order
            var cells = Array((0..<capacity).map(Int32.init).filter { $0 % 9 != 4 }.prefix(n))
            precondition(cells.count == n)
            var state: UInt64 = 7
            for i in cells.indices.reversed() { state = state &* 6_364_136_223_846_793_005 &+ 1; cells.swapAt(i, Int(state >> 33) % (i + 1)) }
            let head = 1  // the second KV head: its rows start headDim floats into each cache row
            let scale = 1 / Float(headDim).squareRoot()

            // float64 softmax attention
            var exact = [Double](repeating: 0, count: group * headDim)
            for g in 0..<group {
                let scores = cells.map { c in (0..<headDim).reduce(0.0) { $0 + Double(q[g * headDim + $1]) * Double(k[Int(c) * kvStride + head * headDim + $1]) } * Double(scale) }
                let m = scores.max()!, e = scores.map { Foundation.exp($0 - m) }, sum = e.reduce(0, +)
                for (j, c) in cells.enumerated() { for d in 0..<headDim { exact[g * headDim + d] += e[j] / sum * Double(v[Int(c) * kvStride + head * headDim + d]) } }
            }

            var outputs: [[Float]] = []
            forEachVariant { variant in
                var out = [Float](repeating: .nan, count: group * headDim), scores = [Float](repeating: 0, count: group * n)
                k.withUnsafeBufferPointer { k in
                    v.withUnsafeBufferPointer { v in
                        llcl_attend_group(Int32(headDim), Int32(group), q, k.baseAddress! + head * headDim, v.baseAddress! + head * headDim, kvStride,
                                          cells, Int32(n), scale, &scores, &out)
                    }
                }
                XCTAssertLessThan(Budget.nmse(out, exact.map(Float.init)), 1e-12, "variant \(variant), head \(headDim), group \(group), n \(n)")
                outputs.append(out)
            }
            for out in outputs.dropFirst() {
                XCTAssertEqual(out.map(\.bitPattern), outputs[0].map(\.bitPattern), "head \(headDim), group \(group), n \(n): variants differ")
            }
        }
    }

    /// The vectorised SwiGLU against the reference, over ordinary and extreme gates.
    func testSwiGLUMatchesReference() {
        var gate = randomValues(1003, seed: 41).map { $0 * 8 }
        gate[0] = 0; gate[1] = -100; gate[2] = 100; gate[3] = -87.5; gate[4] = 89
        let up = randomValues(1003, seed: 42)
        var ref = [Float](repeating: 0, count: gate.count), fast = ref
        ReferenceOps.swiglu(&ref, gate: gate, up: up, count: gate.count)
        llcl_swiglu(&fast, gate, up, Int32(gate.count))
        XCTAssertLessThan(Budget.nmse(fast, ref), 1e-13)
        for i in gate.indices { XCTAssertEqual(fast[i], ref[i], accuracy: 1e-6 * max(1, abs(ref[i])), "gate \(gate[i])") }
    }

    func testFastRMSNormMatchesReference() {
        let rows = 3, dim = 2051
        let x = randomValues(rows * dim, seed: 61), w = randomValues(dim, seed: 62)
        var ref = [Float](repeating: 0, count: rows * dim), fast = ref
        ReferenceOps.rmsnormRows(&ref, x, w, rows: rows, dim: dim, eps: 1e-5)
        FastOps.rmsNorm(&fast, x, w, rows: rows, dim: dim, eps: 1e-5)
        XCTAssertLessThan(Budget.nmse(fast, ref), 1e-12)
    }
}
