@testable import CPUBackend
import Foundation
import GGUF
import LlamaCore
import XCTest

/// The reference ops (the oracle of each OpenCL kernel) against independent statements of
/// their math: float64 sums, hand-computed values, or invariants. `FastOpsTests` checks the
/// fast paths against these; `OpChecksTests` checks the kernels against them.
final class ReferenceOpsTests: XCTestCase {
    /// A weight of `type` over `values`, kept alive with its bytes for the test.
    struct TestWeight {
        let bytes: [UInt8]
        let type: TensorType, rows: Int, cols: Int
        init(_ type: TensorType, rows: Int, cols: Int, values: [Float]) {
            self.type = type; self.rows = rows; self.cols = cols
            bytes = Quantize.run(type, values)
        }
        var decoded: [Float] { bytes.withUnsafeBytes { Dequantize.toFloats(type, $0.baseAddress!, count: rows * cols) } }
        func with<R>(_ body: (CPUWeight) throws -> R) rethrows -> R {
            try bytes.withUnsafeBytes { raw in
                try body(CPUWeight(WeightSource(name: "w", type: type, rows: rows, cols: cols, data: raw.baseAddress!, owner: nil)))
            }
        }
    }

    func testEmbedRowsAndDequantizeRowsDecodeTheRowsAsked() {
        for type in [TensorType.f32, .f16, .bf16, .q4_0, .q8_0, .q5_1, .q4_K, .q6_K] {
            let cols = type.blockSize == 256 ? 256 : 64
            let w = TestWeight(type, rows: 7, cols: cols, values: randomValues(7 * cols, seed: 80 + UInt64(type.rawValue)))
            let all = w.decoded
            func row(_ r: Int) -> [Float] { Array(all[r * cols..<(r + 1) * cols]) }
            w.with { weight in
                let tokens: [Int32] = [6, 0, 3, 3]
                var embedded = [Float](repeating: .nan, count: tokens.count * cols)
                ReferenceOps.embedRows(&embedded, table: weight, tokens: tokens)
                XCTAssertEqual(embedded, tokens.flatMap { row(Int($0)) }, "embedRows \(type)")

                var middle = [Float](repeating: .nan, count: 3 * cols)
                ReferenceOps.dequantizeRows(&middle, weight, rows: 2..<5)
                XCTAssertEqual(middle, (2..<5).flatMap(row), "dequantizeRows \(type)")
            }
        }
    }

    /// F16 weights decode exactly, so rounding them back to F16 gives the stored bits; other
    /// types give F16 rounding of the decoded values.
    func testDequantizeRowsHalfRoundsTheDecodedValues() {
        let f16 = TestWeight(.f16, rows: 3, cols: 64, values: randomValues(3 * 64, seed: 90))
        f16.with { weight in
            var half = [UInt16](repeating: 0, count: 3 * 64)
            ReferenceOps.dequantizeRowsHalf(&half, weight, rows: 0..<3)
            let stored = f16.bytes.withUnsafeBytes { raw in (0..<3 * 64).map { raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self) } }
            XCTAssertEqual(half, stored)
        }
        let q = TestWeight(.q4_K, rows: 2, cols: 256, values: randomValues(2 * 256, seed: 91))
        q.with { weight in
            var half = [UInt16](repeating: 0, count: 256)
            ReferenceOps.dequantizeRowsHalf(&half, weight, rows: 1..<2)
            XCTAssertEqual(half, q.decoded[256...].map(Half.fromFloat))
        }
    }

    /// matvecRows against float64 sums, with and without a bias; with a bias it is the product
    /// followed by addBiasRows, bit for bit (the GEMM path's order on the device).
    func testMatvecRowsIsTheProductPlusBias() {
        let rows = 11, cols = 96, tokens = 4
        let w = TestWeight(.q8_0, rows: rows, cols: cols, values: randomValues(rows * cols, seed: 100))
        let x = randomValues(tokens * cols, seed: 101), bias = randomValues(rows, seed: 102)
        let decoded = w.decoded
        let exact = (0..<tokens * rows).map { j -> Float in
            let t = j / rows, o = j % rows
            return Float((0..<cols).reduce(0.0) { $0 + Double(decoded[o * cols + $1]) * Double(x[t * cols + $1]) })
        }
        w.with { weight in
            var plain = [Float](repeating: .nan, count: tokens * rows), biased = plain
            ReferenceOps.matvecRows(&plain, x, weight, bias: nil, rows: tokens)
            ReferenceOps.matvecRows(&biased, x, weight, bias: bias, rows: tokens)
            XCTAssertLessThan(Budget.nmse(plain, exact), Budget.f32VsExact)
            var added = plain
            ReferenceOps.addBiasRows(&added, bias: bias, rows: tokens, cols: rows)
            XCTAssertEqual(biased.map(\.bitPattern), added.map(\.bitPattern))
            for j in added.indices { XCTAssertEqual(added[j], plain[j] + bias[j % rows]) }
        }
    }

    /// Position 0 is the identity, pair i at position p turns by p·base^(−2i/dims) (normal pairs
    /// (2i, 2i+1), neox (i, i + dims/2)), dimensions past `dims` are left alone, and the fast
    /// path's table gives the same bits.
    func testRopeRowsRotatesTheRightPairsByTheRightAngles() {
        let heads = 2, headDim = 8, dims = 6
        let x = randomValues(3 * heads * headDim, seed: 110)
        let positions: [Int32] = [0, 1, 1000]
        for style in [RopeStyle.normal, .neox] {
            let params = RopeParams(base: 10000, dims: dims, style: style)
            var y = x
            ReferenceOps.ropeRows(&y, rows: 3, heads: heads, headDim: headDim, positions: positions, params: params, factors: nil)
            XCTAssertEqual(Array(y[0..<heads * headDim]), Array(x[0..<heads * headDim]), "position 0")
            for t in 1..<3 {
                for h in 0..<heads {
                    let base = (t * heads + h) * headDim
                    for i in 0..<dims / 2 {
                        let (a, b) = style == .normal ? (2 * i, 2 * i + 1) : (i, i + dims / 2)
                        let theta = Double(positions[t]) * pow(10000, -2 * Double(i) / Double(dims))
                        let (c, s) = (Float(cos(theta)), Float(sin(theta)))
                        XCTAssertEqual(y[base + a], x[base + a] * c - x[base + b] * s, "\(style) t\(t) h\(h) pair \(i)")
                        XCTAssertEqual(y[base + b], x[base + a] * s + x[base + b] * c, "\(style) t\(t) h\(h) pair \(i)")
                    }
                    XCTAssertEqual(Array(y[base + dims..<base + headDim]), Array(x[base + dims..<base + headDim]), "unrotated tail")
                }
            }
            var fast = x
            RopeTable(positions: positions, params: params, factors: nil).apply(&fast, rows: 3, heads: heads, headDim: headDim)
            XCTAssertEqual(fast.map(\.bitPattern), y.map(\.bitPattern), "\(style): fast table")
        }
    }

    /// The one angle formula: θ = position · scale · base^(−2i/dims) / factor in Double, rounded
    /// once; with scale and factor 1, bit for bit the plain formula training used to compute.
    func testRopeAngleIsTheDoubleFormula() {
        for (base, dims) in [(Float(10000), 64), (500_000, 128), (1_000_000, 80)] {
            for position in [0, 1, 17, 4095, 131_071] {
                for i in [0, 1, dims / 4, dims / 2 - 1] {
                    let plain = RopeParams(base: base, dims: dims, style: .normal).angle(position: position, pair: i)
                    let theta = Double(position) * pow(Double(base), -2 * Double(i) / Double(dims))
                    XCTAssertEqual(plain.cos.bitPattern, Float(cos(theta)).bitPattern)
                    XCTAssertEqual(plain.sin.bitPattern, Float(sin(theta)).bitPattern)
                    let scaled = RopeParams(base: base, dims: dims, style: .neox, positionScale: 0.25).angle(position: position, pair: i, factor: 8)
                    let theta2 = Double(position) * 0.25 * pow(Double(base), -2 * Double(i) / Double(dims)) / 8
                    XCTAssertEqual(scaled.cos.bitPattern, Float(cos(theta2)).bitPattern)
                    XCTAssertEqual(scaled.sin.bitPattern, Float(sin(theta2)).bitPattern)
                }
            }
        }
    }

    func testStoreKVWritesOnlyTheCellsOfThePlan() {
        let kvDim = 5, cells: [Int32] = [3, 0, 6]
        let k = randomValues(3 * kvDim, seed: 120), v = randomValues(3 * kvDim, seed: 121)
        var kCache = [Float](repeating: -9, count: 8 * kvDim), vCache = kCache
        ReferenceOps.storeKV(kCache: &kCache, vCache: &vCache, k: k, v: v, cells: cells, kvDim: kvDim)
        for cell in 0..<8 {
            let row = cells.firstIndex(of: Int32(cell))
            let kRow = Array(kCache[cell * kvDim..<(cell + 1) * kvDim]), vRow = Array(vCache[cell * kvDim..<(cell + 1) * kvDim])
            XCTAssertEqual(kRow, row.map { Array(k[$0 * kvDim..<($0 + 1) * kvDim]) } ?? Array(repeating: -9, count: kvDim), "K cell \(cell)")
            XCTAssertEqual(vRow, row.map { Array(v[$0 * kvDim..<($0 + 1) * kvDim]) } ?? Array(repeating: -9, count: kvDim), "V cell \(cell)")
        }
    }

    /// One visible cell: softmax weight 1, so the output is that cell's V row (of the head's KV
    /// head); two equal keys: the mean of their values.
    func testAttentionRowsOnCasesWithKnownAnswers() {
        let heads = 4, kvHeads = 2, headDim = 3, kvDim = kvHeads * headDim
        let k = randomValues(3 * kvDim, seed: 130)
        let v = randomValues(3 * kvDim, seed: 131)
        var kEqual = k
        for i in 0..<kvDim { kEqual[2 * kvDim + i] = kEqual[kvDim + i] }
        let q = randomValues(heads * headDim, seed: 132)
        func attend(_ keys: [Float], visible: [Int32]) -> [Float] {
            let plan = BatchPlan(tokens: [0], positions: [0], cells: [0], visibleOffsets: [0, Int32(visible.count)], visibleCells: visible)
            var out = [Float](repeating: .nan, count: heads * headDim)
            ReferenceOps.attentionRows(&out, q: q, k: keys, v: v, heads: heads, kvHeads: kvHeads, headDim: headDim, plan: plan)
            return out
        }
        let one = attend(k, visible: [2])
        for h in 0..<heads {
            let kvh = h / 2
            XCTAssertEqual(Array(one[h * headDim..<(h + 1) * headDim]), Array(v[2 * kvDim + kvh * headDim..<2 * kvDim + (kvh + 1) * headDim]), "head \(h)")
        }
        let two = attend(kEqual, visible: [1, 2])
        for h in 0..<heads {
            let kvh = h / 2
            for d in 0..<headDim {
                let mean = (v[kvDim + kvh * headDim + d] + v[2 * kvDim + kvh * headDim + d]) / 2
                XCTAssertEqual(two[h * headDim + d], mean, accuracy: 1e-6, "head \(h) dim \(d)")
            }
        }
    }

    func testSwiGLUAddAndGatherAreTheirFormulas() {
        let g = randomValues(50, seed: 140).map { $0 * 4 }, u = randomValues(50, seed: 141)
        var out = [Float](repeating: .nan, count: 50)
        ReferenceOps.swiglu(&out, gate: g, up: u, count: 50)
        for i in 0..<50 { XCTAssertEqual(Double(out[i]), Double(g[i]) / (1 + exp(-Double(g[i]))) * Double(u[i]), accuracy: 1e-6) }

        var x = randomValues(12, seed: 142)
        let y = randomValues(12, seed: 143), before = x
        ReferenceOps.addInPlace(&x, y, count: 10)
        XCTAssertEqual(Array(x[..<10]), (0..<10).map { before[$0] + y[$0] })
        XCTAssertEqual(Array(x[10...]), Array(before[10...]), "only `count` values")

        let rows = randomValues(4 * 3, seed: 144)
        var gathered = [Float](repeating: .nan, count: 3 * 3)
        ReferenceOps.gatherRows(&gathered, rows, rows: [3, 0, 3], cols: 3)
        XCTAssertEqual(gathered, Array(rows[9..<12]) + Array(rows[0..<3]) + Array(rows[9..<12]))
    }

    /// Round to nearest even, overflow to infinity, subnormals; every half is exact in F32.
    func testHalfConversions() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3C00), (-2, 0xC000), (65504, 0x7BFF), (65519, 0x7BFF), (65520, 0x7C00), (-1e9, 0xFC00),
            (1 + 0x1p-11, 0x3C00), (1 + 3 * 0x1p-11, 0x3C02),   // ties go to the even neighbour
            (0x1p-24, 0x0001), (0x1p-25, 0x0000), (0x1.8p-25, 0x0001), (-0.0, 0x8000), (.infinity, 0x7C00),
        ]
        var half = [UInt16](repeating: 0, count: cases.count)
        ReferenceOps.f32ToF16(&half, cases.map(\.0), count: cases.count)
        XCTAssertEqual(half, cases.map(\.1))

        let all = (0...UInt16.max).map { $0 }
        var floats = [Float](repeating: 0, count: all.count), back = [UInt16](repeating: 0, count: all.count)
        ReferenceOps.f16ToF32(&floats, all, count: all.count)
        ReferenceOps.f32ToF16(&back, floats, count: all.count)
        for h in all where !floats[Int(h)].isNaN { XCTAssertEqual(back[Int(h)], h, "half 0x\(String(h, radix: 16))") }
        XCTAssertEqual(floats[0x3555], 0.333251953125)
    }
}
