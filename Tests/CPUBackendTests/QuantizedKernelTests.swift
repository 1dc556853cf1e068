@testable import CPUBackend
import CPUKernels
import GGUF
import LlamaCore
import XCTest

/// The C kernels of the `.quantized` path: activation quantization against its error bounds,
/// and every integer dot product (vector and portable) against float64 sums of the reference
/// decoders' values. Model-level agreement with llama.cpp is in LlamaCoreTests.
final class QuantizedKernelTests: XCTestCase {
    /// Every weight type with an integer kernel.
    static let integerTypes: [TensorType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

    func testEveryIntegerTypeHasAFormat() {
        for type in Self.integerTypes { XCTAssertNotNil(QuantizedMatmul.format(for: type), "\(type)") }
        XCTAssertEqual(QuantizedMatmul.format(for: .q4_1), .q8_1)
        XCTAssertEqual(QuantizedMatmul.format(for: .q5_1), .q8_1)
        XCTAssertEqual(QuantizedMatmul.format(for: .q5_0), .q8_0)
        XCTAssertEqual(QuantizedMatmul.format(for: .q5_K), .q8_K)
    }

    func testQ8_0ActivationsRoundWithinHalfAStep() {
        var x = randomValues(256, seed: 3)
        for j in 32..<64 { x[j] = 0 }  // an all-zero block: scale 0, values 0
        x[70] = 5                      // one large value sets its block's scale
        var qs = [Int8](repeating: 0, count: 256), d = [Float](repeating: 0, count: 8), sums = [Float](repeating: 0, count: 8)
        llcl_quantize_q8_0(x, 256, &qs, &d, &sums, 1)
        XCTAssertEqual(d[1], 0)
        XCTAssertEqual(qs[70], 127)
        for b in 0..<8 {
            XCTAssertEqual(sums[b], d[b] * Float(qs[32 * b..<32 * b + 32].reduce(0) { $0 + Int($1) }), "block \(b)")
            XCTAssertEqual(d[b], Half.toFloat(Half.fromFloat(d[b])), "the scale is an F16 value")
            for j in 32 * b..<32 * b + 32 {
                // half a step, plus the F16 rounding of the scale over at most 127 steps
                XCTAssertLessThanOrEqual(abs(x[j] - Float(qs[j]) * d[b]), 0.5 * d[b] + 127 * d[b] * 0x1p-11, "x[\(j)]")
            }
        }
    }

    func testQ8_KActivationsMapTheExtremeToMinus127() {
        var x = randomValues(512, seed: 4)
        x[300] = 3  // the positive extreme maps to −127 · (negative scale)
        var qs = [Int8](repeating: 0, count: 512), d = [Float](repeating: 0, count: 2), bsums = [Int16](repeating: 0, count: 32)
        llcl_quantize_q8_K(x, 512, &qs, &d, &bsums, 1)
        XCTAssertEqual(qs[300], -127)
        XCTAssertLessThan(d[1], 0)
        for g in 0..<32 { XCTAssertEqual(Int(bsums[g]), qs[16 * g..<16 * g + 16].reduce(0) { $0 + Int($1) }) }
        for j in x.indices { XCTAssertLessThanOrEqual(abs(x[j] - Float(qs[j]) * d[j / 256]), 0.5001 * abs(d[j / 256])) }
    }

    /// Q8_1 (for Q4_1/Q5_1 weights): the values and scales of Q8_0, and llama.cpp's block sum
    /// s = F16(amax/127 · Σq) — the unrounded scale, rounded to F16 after the product.
    func testQ8_1SumsAreLlamaCppBlockSums() {
        var x = randomValues(256, seed: 13)
        for j in 64..<96 { x[j] = 0 }
        var q0 = [Int8](repeating: 0, count: 256), d0 = [Float](repeating: 0, count: 8), s0 = [Float](repeating: 0, count: 8)
        var q1 = q0, d1 = d0, s1 = s0
        llcl_quantize_q8_0(x, 256, &q0, &d0, &s0, 1)
        llcl_quantize_q8_1(x, 256, &q1, &d1, &s1, 1)
        XCTAssertEqual(q0, q1)
        XCTAssertEqual(d0, d1)
        for b in 0..<8 {
            let amax = x[32 * b..<32 * b + 32].map(abs).max()!
            let sum = q1[32 * b..<32 * b + 32].reduce(0) { $0 + Int($1) }
            XCTAssertEqual(s1[b].bitPattern, Half.toFloat(Half.fromFloat(amax / 127 * Float(sum))).bitPattern, "block \(b)")
        }
        XCTAssertEqual(s1[2], 0)
    }

    /// The vector quantizers give the portable loops' bits: exact halves (ties round to even),
    /// an all-zero block, two values of the largest magnitude with opposite signs (the first
    /// one found sets the sign of the Q8_K scale), and a block in a strided layout.
    func testQuantizersAgreeAcrossVariants() {
        var x = randomValues(1024, seed: 8)
        for j in 256..<512 { x[j] = 0 }
        x[600] = -4; x[700] = 4
        for j in 0..<16 { x[j] = Float(j) - 7.5 }  // amax 7.5: x · 127/7.5 lands on halves
        var q8_0: [[Int8]] = [], q8_0Scales: [[Float]] = [], q8_K: [[Int8]] = [], q8_KScales: [[Float]] = [], bsums: [[Int16]] = []
        var q8_1: [[Int8]] = [], q8_1Scales: [[Float]] = []
        forEachVariant { _ in
            var qs = [Int8](repeating: 0, count: 1024), d = [Float](repeating: 0, count: 64), sums = [Float](repeating: 0, count: 64)
            llcl_quantize_q8_0(x, 1024, &qs, &d, &sums, 2)
            q8_0.append(qs); q8_0Scales.append(d + sums)
            var q1 = [Int8](repeating: 0, count: 1024), d1 = [Float](repeating: 0, count: 32), s1 = [Float](repeating: 0, count: 32)
            llcl_quantize_q8_1(x, 1024, &q1, &d1, &s1, 1)
            q8_1.append(q1); q8_1Scales.append(d1 + s1)
            var qk = [Int8](repeating: 0, count: 1024), dk = [Float](repeating: 0, count: 4), bs = [Int16](repeating: 0, count: 64)
            llcl_quantize_q8_K(x, 1024, &qk, &dk, &bs, 1)
            q8_K.append(qk); q8_KScales.append(dk); bsums.append(bs)
        }
        for v in 1..<q8_0.count {
            XCTAssertEqual(q8_0[v], q8_0[0]); XCTAssertEqual(q8_0Scales[v].map(\.bitPattern), q8_0Scales[0].map(\.bitPattern))
            XCTAssertEqual(q8_1[v], q8_1[0]); XCTAssertEqual(q8_1Scales[v].map(\.bitPattern), q8_1Scales[0].map(\.bitPattern))
            XCTAssertEqual(q8_K[v], q8_K[0]); XCTAssertEqual(q8_KScales[v].map(\.bitPattern), q8_KScales[0].map(\.bitPattern))
            XCTAssertEqual(bsums[v], bsums[0])
        }
        XCTAssertEqual(q8_K[0][600], -127, "the first extreme (−4) maps to −127")
        XCTAssertEqual(q8_K[0][700], 127, "+4 clamps to 127")
    }

    /// Each kernel computes Σ w·q·d exactly up to F32 rounding of the per-block scales and sums:
    /// error relative to Σ|w·x| ≤ 1e-6, on rows of 1, 2, 3 and 9 blocks (odd counts hit the
    /// tails), in every variant the CPU has.
    func testDotProductsMatchFloat64OfDecodedValues() { forEachVariant { variant in
        for type in Self.integerTypes {
            for portable in [false, true] { checkDot(type, portable: portable, variant: variant) }
        }
    } }

    /// One kernel, vector (the active variant) or portable, on rows of several lengths.
    func checkDot(_ type: TensorType, portable: Bool, variant: Int32) {
        let block = type.blockSize
        let q8_1 = QuantizedMatmul.format(for: type) == .q8_1
        for blocks in [1, 2, 3, 9] {
            let n = block * blocks
            let weights = Quantize.run(type, randomValues(n, seed: UInt64(n)))
            let w = weights.withUnsafeBytes { Dequantize.toFloats(type, $0.baseAddress!, count: n) }
            let x = randomValues(n, seed: UInt64(n) + 7)
            var qs = [Int8](repeating: 0, count: n), d = [Float](repeating: 0, count: n / 32)
            var sums = [Float](repeating: 0, count: n / 32), bsums = [Int16](repeating: 0, count: n / 16)
            switch QuantizedMatmul.format(for: type)! {
            case .q8_0: llcl_quantize_q8_0(x, Int32(n), &qs, &d, &sums, 1)
            case .q8_1: llcl_quantize_q8_1(x, Int32(n), &qs, &d, &sums, 1)
            case .q8_K: llcl_quantize_q8_K(x, Int32(n), &qs, &d, &bsums, 1)
            }
            var exact = 0.0, magnitude = 0.0
            for i in 0..<n {
                let a = Double(qs[i]) * Double(d[i / block])
                exact += Double(w[i]) * a; magnitude += abs(Double(w[i]) * a)
            }
            if q8_1 {
                // the minimum multiplies the F16 block sum s, not da·Σq: exactly that difference
                for b in 0..<blocks {
                    let m = Double(Half.toFloat(UInt16(weights[b * type.bytesPerBlock + 2]) | UInt16(weights[b * type.bytesPerBlock + 3]) << 8))
                    let sum = qs[32 * b..<32 * b + 32].reduce(0) { $0 + Int($1) }
                    exact += m * (Double(sums[b]) - Double(d[b]) * Double(sum))
                }
            }
            let got: Float = weights.withUnsafeBytes { raw in
                let p = raw.baseAddress!, count = Int32(n)
                switch (type, portable) {
                case (.q4_0, false): return llcl_dot_q4_0_q8_0(count, p, qs, d, sums)
                case (.q4_0, true): return llcl_dot_q4_0_q8_0_portable(count, p, qs, d, sums, 1)
                case (.q4_1, false): return llcl_dot_q4_1_q8_1(count, p, qs, d, sums)
                case (.q4_1, true): return llcl_dot_q4_1_q8_1_portable(count, p, qs, d, sums, 1)
                case (.q5_0, false): return llcl_dot_q5_0_q8_0(count, p, qs, d, sums)
                case (.q5_0, true): return llcl_dot_q5_0_q8_0_portable(count, p, qs, d, sums, 1)
                case (.q5_1, false): return llcl_dot_q5_1_q8_1(count, p, qs, d, sums)
                case (.q5_1, true): return llcl_dot_q5_1_q8_1_portable(count, p, qs, d, sums, 1)
                case (.q8_0, false): return llcl_dot_q8_0_q8_0(count, p, qs, d, sums)
                case (.q8_0, true): return llcl_dot_q8_0_q8_0_portable(count, p, qs, d, sums, 1)
                case (.q4_K, false): return llcl_dot_q4_K_q8_K(count, p, qs, d, bsums)
                case (.q4_K, true): return llcl_dot_q4_K_q8_K_portable(count, p, qs, d, bsums, 1)
                case (.q5_K, false): return llcl_dot_q5_K_q8_K(count, p, qs, d, bsums)
                case (.q5_K, true): return llcl_dot_q5_K_q8_K_portable(count, p, qs, d, bsums, 1)
                case (_, false): return llcl_dot_q6_K_q8_K(count, p, qs, d, bsums)
                case (_, true): return llcl_dot_q6_K_q8_K_portable(count, p, qs, d, bsums, 1)
                }
            }
            let name = portable ? "portable" : "variant \(variant)"
            XCTAssertLessThanOrEqual(abs(Double(got) - exact) / magnitude, 1e-6, "\(type) \(name), \(blocks) blocks")
        }
    }

    func testF16DotMatchesFloat64() { forEachVariant { variant in
        for n in [1, 31, 32, 33, 100, 2048] {
            let w = randomValues(n, seed: 5).map(Half.fromFloat), x = randomValues(n, seed: 6)
            var exact = 0.0, magnitude = 0.0
            for i in 0..<n { let p = Double(Half.toFloat(w[i])) * Double(x[i]); exact += p; magnitude += abs(p) }
            for (name, value) in [("vector", llcl_dot_f16_f32(Int32(n), w, x)), ("portable", llcl_dot_f16_f32_portable(Int32(n), w, x))] {
                XCTAssertLessThanOrEqual(abs(Double(value) - exact) / magnitude, 1e-6, "\(name) n=\(n), variant \(variant)")
            }
        }
    } }

    /// The `.quantized` matmul over a batch gives every row the bits it gets alone (batch
    /// invariance: 13 tokens take the packed panels and groups, one token the decoding path) in
    /// every variant, the variants agree bit for bit, and all stay within quantization error of
    /// the F32 path. 37 rows end in a partial panel.
    func testQuantizedMatmulIsBatchInvariantAndCloseToF32() throws {
        var vectorResults: [TensorType: [UInt32]] = [:]
        forEachVariant { variant in
        for type in Self.integerTypes {
            let rows = 37, cols = 512, tokens = 13  // a group of 8, one of 4, and one alone
            let weights = Quantize.run(type, randomValues(rows * cols, seed: 11))
            let x = randomValues(tokens * cols, seed: 12)
            weights.withUnsafeBytes { raw in
                let w = CPUWeight(WeightSource(name: "w", type: type, rows: rows, cols: cols, data: raw.baseAddress!, owner: nil))
                var batched = [Float](repeating: 0, count: tokens * rows), f32 = batched
                QuantizedMatmul().matmul(&batched, x, w, rows: tokens, pool: ThreadPool(threads: 2))
                FastOps.matmul(&f32, x, w, rows: tokens, pool: ThreadPool(threads: 2))
                for t in 0..<tokens {
                    var single = [Float](repeating: 0, count: rows)
                    Array(x[t * cols..<(t + 1) * cols]).withUnsafeBufferPointer { QuantizedMatmul().matmul(&single, $0.baseAddress!, w, rows: 1, pool: ThreadPool(threads: 1)) }
                    XCTAssertEqual(single.map(\.bitPattern), batched[t * rows..<(t + 1) * rows].map(\.bitPattern), "\(type) row \(t)")
                }
                // 8-bit activations: relative error ~ 1/254 per value, averaged down over 512 terms
                XCTAssertLessThan(Budget.nmse(batched, f32), 1e-4, "\(type)")
                // every variant agrees bit for bit, the portable C included
                do {
                    if let other = vectorResults[type] { XCTAssertEqual(other, batched.map(\.bitPattern), "\(type): variant \(variant) differs") }
                    vectorResults[type] = batched.map(\.bitPattern)
                }
            }
        }
        }
    }

    /// The quantized input is reused only while it is the same: one instance fed A, then B of
    /// the same shape, then B again, gives what fresh instances give.
    func testQuantizedInputIsReusedOnlyWhenUnchanged() {
        let rows = 16, cols = 256
        let weights = Quantize.run(.q4_K, randomValues(rows * cols, seed: 51))
        let a = randomValues(2 * cols, seed: 52)
        var b = a
        b[7] += 0.5  // one value differs
        weights.withUnsafeBytes { raw in
            let w = CPUWeight(WeightSource(name: "w", type: .q4_K, rows: rows, cols: cols, data: raw.baseAddress!, owner: nil))
            let pool = ThreadPool(threads: 1), shared = QuantizedMatmul()
            func run(_ m: QuantizedMatmul, _ x: [Float]) -> [Float] {
                var out = [Float](repeating: 0, count: 2 * rows)
                m.matmul(&out, x, w, rows: 2, pool: pool)
                return out
            }
            let freshA = run(QuantizedMatmul(), a), freshB = run(QuantizedMatmul(), b)
            XCTAssertNotEqual(freshA, freshB)
            XCTAssertEqual(run(shared, a), freshA)
            XCTAssertEqual(run(shared, b), freshB)
            XCTAssertEqual(run(shared, b), freshB)
        }
    }
}
