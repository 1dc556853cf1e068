import Foundation
import GGUF
import XCTest

/// Checks the reference (de)quantizers against gguf-py, llama.cpp's own numpy implementation,
/// through Fixtures/quant-reference.gguf (made by scripts/make-quant-fixtures.py).
final class QuantReferenceTests: XCTestCase {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/quant-reference.gguf").path

    static let decodedTypes: [TensorType] = [.f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
    /// Types gguf-py can quantize (it has no K-quant quantizers).
    static let quantizedTypes: [TensorType] = [.f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0]

    func reference() throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: Self.path) else {
            XCTFail("missing \(Self.path): run scripts/make-quant-fixtures.py")
            throw XCTSkip("no reference file")
        }
        return try GGUFFile(path: Self.path)
    }

    static func name(_ t: TensorType) -> String { t.description.lowercased().replacingOccurrences(of: "_k", with: "_K") }

    /// Bitwise equality, except that any NaN matches any NaN and the two zeros match.
    func assertSameFloats(_ got: [Float], _ want: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        var mismatches = 0
        for i in 0..<min(got.count, want.count) {
            let g = got[i], w = want[i]
            if g == w || (g.isNaN && w.isNaN) { continue }
            mismatches += 1
            if mismatches <= 5 {
                XCTFail("\(what)[\(i)]: got \(g) (0x\(String(g.bitPattern, radix: 16))), gguf-py \(w) (0x\(String(w.bitPattern, radix: 16)))",
                        file: file, line: line)
            }
        }
        XCTAssertEqual(mismatches, 0, "\(what): \(mismatches) of \(want.count) values differ", file: file, line: line)
    }

    func testReferenceFileShape() throws {
        let f = try reference()
        XCTAssertEqual(try f.string("general.architecture"), "quant-reference")
        for t in Self.decodedTypes {
            let n = Self.name(t)
            let data = try f.requireTensor("\(n).random")
            XCTAssertEqual(data.type, t)
            XCTAssertEqual(data.dims, [256, 4])
            XCTAssertEqual(try f.requireTensor("\(n).random.expected").type, .f32)
        }
        for t in Self.quantizedTypes { XCTAssertEqual(try f.requireTensor("\(Self.name(t)).quantized").type, t) }
    }

    /// Random blocks (every bit pattern of codes and scales) decode exactly as gguf-py decodes them.
    func testDequantizeRandomBlocksMatchesGGUFPy() throws {
        let f = try reference()
        for t in Self.decodedTypes {
            let n = Self.name(t)
            let data = try f.requireTensor("\(n).random"), expected = try f.requireTensor("\(n).random.expected")
            assertSameFloats(f.floats(data), f.floats(expected), "\(n).random")
        }
    }

    /// gguf-py's quantization of ordinary data also decodes exactly as gguf-py decodes it.
    func testDequantizeGGUFPyQuantizationMatchesGGUFPy() throws {
        let f = try reference()
        for t in Self.quantizedTypes {
            let n = Self.name(t)
            let data = try f.requireTensor("\(n).quantized"), expected = try f.requireTensor("\(n).quantized.expected")
            assertSameFloats(f.floats(data), f.floats(expected), "\(n).quantized")
        }
    }

    /// Row-by-row decoding (what the engine does) gives the same as decoding the whole tensor.
    func testDequantizeRowByRowMatchesWhole() throws {
        let f = try reference()
        for t in Self.decodedTypes {
            let data = try f.requireTensor("\(Self.name(t)).random")
            let whole = f.floats(data)
            let rowBytes = try XCTUnwrap(t.rowBytes(data.dims[0]))
            var rows: [Float] = []
            for r in 0..<data.rowCount {
                rows += Dequantize.toFloats(t, f.data(for: data) + r * rowBytes, count: data.dims[0])
            }
            XCTAssertEqual(rows.map(\.bitPattern), whole.map(\.bitPattern), "\(t)")
        }
    }

    /// F16, BF16 and Q8_0: our quantizer is bit-exact with gguf-py (both follow ggml's reference).
    func testQuantizeMatchesGGUFPyExactly() throws {
        let f = try reference()
        for t in [TensorType.f16, .bf16, .q8_0] {
            let n = Self.name(t)
            let source = f.floats(try f.requireTensor("\(n).source"))
            let theirs = f.bytes(try f.requireTensor("\(n).quantized"))
            let ours = Quantize.run(t, source)
            XCTAssertEqual(ours.count, theirs.count)
            let diffs = zip(ours, theirs).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            XCTAssertEqual(diffs.count, 0, "\(t): bytes differ at \(diffs.prefix(10))")
        }
    }

    /// Q4_0, Q4_1, Q5_0, Q5_1: same scales as gguf-py; codes may differ only where the two
    /// rounding rules disagree (our round(x·id + 8) against ggml's trunc(x·id + 8.5)), by one step.
    func testQuantizeCloseToGGUFPy() throws {
        let f = try reference()
        for t in [TensorType.q4_0, .q4_1, .q5_0, .q5_1] {
            let n = Self.name(t)
            let source = f.floats(try f.requireTensor("\(n).source"))
            let theirs = f.bytes(try f.requireTensor("\(n).quantized"))
            let ours = Quantize.run(t, source)
            XCTAssertEqual(ours.count, theirs.count)
            let scaleBytes = t == .q4_0 || t == .q5_0 ? 2 : 4
            var codeDiffs = 0, maxCodeDiff = 0
            let ourValues = Dequantize.toFloats(t, ours, count: source.count)
            let theirValues = Dequantize.toFloats(t, theirs, count: source.count)
            for b in 0..<(source.count / 32) {
                let o = b * t.bytesPerBlock
                XCTAssertEqual(Array(ours[o..<o + scaleBytes]), Array(theirs[o..<o + scaleBytes]), "\(t) block \(b) scales")
                let d = Float(Half.toFloat(UInt16(ours[o]) | UInt16(ours[o + 1]) << 8))
                guard d != 0 else { continue }
                for j in 0..<32 {
                    let step = (ourValues[32 * b + j] - theirValues[32 * b + j]) / d
                    let k = Int(step.rounded())
                    if k != 0 { codeDiffs += 1; maxCodeDiff = max(maxCodeDiff, abs(k)) }
                }
            }
            XCTAssertLessThanOrEqual(maxCodeDiff, 1, "\(t): a code differs by more than one step")
            XCTAssertLessThanOrEqual(codeDiffs, source.count / 100, "\(t): \(codeDiffs) of \(source.count) codes differ")
            if codeDiffs > 0 { print("note: \(t) quantizer differs from gguf-py in \(codeDiffs) of \(source.count) codes") }
            // In practice the two rules agree on this data: our bytes are gguf-py's bytes.
            XCTAssertEqual(ours, theirs, "\(t): bytes differ from gguf-py")
            // Either way the error against the source is about the same.
            let ourErr = relativeRMS(ourValues, source), theirErr = relativeRMS(theirValues, source)
            XCTAssertLessThanOrEqual(ourErr, theirErr * 1.01 + 1e-6, "\(t)")
        }
    }
}

/// Quantize → Dequantize on Gaussian data stays within each format's expected error.
final class QuantizeRoundTripTests: XCTestCase {
    static let bounds: [TensorType: Double] = [
        .f32: 0, .f16: 0.0005, .bf16: 0.004, .q8_0: 0.01, .q6_K: 0.03,
        .q5_0: 0.06, .q5_1: 0.06, .q5_K: 0.06, .q4_0: 0.12, .q4_1: 0.12, .q4_K: 0.12,
        .q3_K: 0.25, .q2_K: 0.45,
    ]

    func testRelativeErrorIsBounded() {
        var rng = SeededRNG(seed: 7)
        let x = (0..<64).flatMap { _ in rng.gaussians(256, scale: Float.random(in: 0.001...10, using: &rng)) }
        for t in TensorType.allCases {
            let y = Dequantize.toFloats(t, Quantize.run(t, x), count: x.count)
            let e = relativeRMS(y, x)
            print(String(format: "%@ relative RMS error %.5f", t.description, e))
            XCTAssertLessThanOrEqual(e, Self.bounds[t]!, "\(t)")
        }
    }

    /// Awkward blocks: zeros, constants, one outlier, tiny and huge values — all finite, zeros stay zero.
    func testAwkwardBlocks() {
        var rng = SeededRNG(seed: 8)
        let blocks: [(String, [Float])] = [
            ("zeros", [Float](repeating: 0, count: 256)),
            ("constant", [Float](repeating: 0.75, count: 256)),
            ("negative constant", [Float](repeating: -3, count: 256)),
            ("outlier", rng.gaussians(256, scale: 0.01).enumerated().map { $0.offset == 17 ? 50 : $0.element }),
            ("tiny", rng.gaussians(256, scale: 1e-7)),
            ("huge", rng.gaussians(256, scale: 1e4)),
            ("all positive", rng.gaussians(256).map { abs($0) + 1 }),
            ("all negative", rng.gaussians(256).map { -abs($0) - 1 }),
        ]
        for (name, x) in blocks {
            for t in TensorType.allCases {
                let y = Dequantize.toFloats(t, Quantize.run(t, x), count: x.count)
                XCTAssertTrue(y.allSatisfy(\.isFinite), "\(t) \(name): non-finite output")
                if name == "zeros" { XCTAssertTrue(y.allSatisfy { $0 == 0 }, "\(t) zeros") }
                if name == "outlier" {
                    // The outlier itself survives to within a few percent in every format.
                    XCTAssertEqual(y[17], 50, accuracy: 50 * 0.05, "\(t) outlier")
                }
                if name.hasSuffix("constant") || name.hasPrefix("all") || name == "huge" {
                    let e = relativeRMS(y, x)
                    // Q2_K's four levels cannot do better on Gaussian data than its round-trip bound
                    XCTAssertLessThanOrEqual(e, max(0.25, Self.bounds[t]!), "\(t) \(name): relative error \(e)")
                }
            }
        }
    }

    /// Inputs at the edge of Float (their range overflows) and non-finite inputs must not trap.
    func testExtremeAndNonFiniteInputsDoNotTrap() {
        let big = Float.greatestFiniteMagnitude
        let inputs: [(String, [Float])] = [
            ("±max", (0..<256).map { $0 % 2 == 0 ? big : -big }),
            ("max and min", (0..<256).map { $0 == 3 ? big : ($0 == 4 ? -big : 0) }),
            ("inf", (0..<256).map { $0 == 5 ? .infinity : 1 }),
            ("-inf", (0..<256).map { $0 == 6 ? -.infinity : 1 }),
            ("nan", (0..<256).map { $0 == 7 ? .nan : 1 }),
            ("all nan", [Float](repeating: .nan, count: 256)),
        ]
        for (name, x) in inputs {
            for t in TensorType.allCases {
                let q = Quantize.run(t, x)
                XCTAssertEqual(q.count, t.rowBytes(256), "\(t) \(name)")
                _ = Dequantize.toFloats(t, q, count: 256)
            }
        }
        // Finite values whose range does not overflow stay finite.
        let wide: [Float] = (0..<256).map { $0 % 2 == 0 ? 6e4 : -6e4 }
        for t in TensorType.allCases {
            let y = Dequantize.toFloats(t, Quantize.run(t, wide), count: 256)
            XCTAssertTrue(y.allSatisfy(\.isFinite), "\(t)")
        }
    }

    func testQuantizedSizes() {
        for t in TensorType.allCases {
            let n = 512
            XCTAssertEqual(Quantize.run(t, [Float](repeating: 1, count: n)).count, t.rowBytes(n), "\(t)")
        }
        XCTAssertEqual(TensorType.q4_0.bytesPerBlock, 18)
        XCTAssertEqual(TensorType.q4_1.bytesPerBlock, 20)
        XCTAssertEqual(TensorType.q5_0.bytesPerBlock, 22)
        XCTAssertEqual(TensorType.q5_1.bytesPerBlock, 24)
        XCTAssertEqual(TensorType.q8_0.bytesPerBlock, 34)
        XCTAssertEqual(TensorType.q2_K.bytesPerBlock, 84)
        XCTAssertEqual(TensorType.q3_K.bytesPerBlock, 110)
        XCTAssertEqual(TensorType.q2_K.rawValue, 10)
        XCTAssertEqual(TensorType.q3_K.rawValue, 11)
        XCTAssertEqual(TensorType.q4_K.bytesPerBlock, 144)
        XCTAssertEqual(TensorType.q5_K.bytesPerBlock, 176)
        XCTAssertEqual(TensorType.q6_K.bytesPerBlock, 210)
        XCTAssertNil(TensorType.q4_K.rowBytes(128))
        XCTAssertEqual(TensorType(name: "q4_k"), .q4_K)
        XCTAssertEqual(TensorType(name: "BF16"), .bf16)
        XCTAssertEqual(TensorType(name: "q2_k"), .q2_K)
        XCTAssertNil(TensorType(name: "IQ4_XS"))
    }
}
