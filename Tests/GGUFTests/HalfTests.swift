import GGUF
import XCTest

final class HalfTests: XCTestCase {
    /// An independent decoder: sign · 2^(e−15) · 1.m, or 2^−14 · 0.m for subnormals.
    static func decodeByFormula(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let e = Int(h >> 10) & 0x1F, m = Float(h & 0x3FF)
        if e == 0 { return sign * m / 1024 * pow(2, -14) }
        if e == 31 { return m == 0 ? sign * .infinity : .nan }
        return sign * (1 + m / 1024) * pow(2, Float(e - 15))
    }

    func testEveryHalfDecodesAndReencodes() {
        for i in 0..<65536 {
            let h = UInt16(i)
            let f = Half.toFloat(h)
            let isNaN = (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0
            if isNaN {
                XCTAssertTrue(f.isNaN, "0x\(String(h, radix: 16))")
                let back = Half.fromFloat(f)
                XCTAssertEqual(back & 0x7C00, 0x7C00)
                XCTAssertNotEqual(back & 0x3FF, 0, "NaN stays NaN")
                XCTAssertEqual(back & 0x8000, h & 0x8000, "NaN keeps its sign")
                continue
            }
            XCTAssertEqual(f.bitPattern, Self.decodeByFormula(h).bitPattern, "decode 0x\(String(h, radix: 16))")
            XCTAssertEqual(Half.fromFloat(f), h, "round trip 0x\(String(h, radix: 16))")
            XCTAssertEqual(Half.table[i].bitPattern, f.bitPattern)
        }
    }

    /// Halfway between two adjacent halves rounds to the even one; a float ulp either side rounds
    /// to the nearer one. Covers every adjacent pair of finite positive and negative halves.
    func testRoundsToNearestEven() {
        var failures: [String] = []
        for sign: UInt16 in [0, 0x8000] {
            let s: Float = sign == 0 ? 1 : -1
            for lo in UInt16(0)..<0x7BFF {
                let a = Half.toFloat(lo), b = Half.toFloat(lo + 1)
                let mid = (a + b) / 2 // exact: halves have 11 significant bits, floats 24
                let even = lo & 1 == 0 ? lo : lo + 1
                let cases: [(Float, UInt16)] = [(mid, even), (mid.nextDown, lo), (mid.nextUp, lo + 1), (a, lo), (b, lo + 1)]
                for (x, want) in cases where Half.fromFloat(s * x) != sign | want {
                    failures.append("fromFloat(\(s * x)) = 0x\(String(Half.fromFloat(s * x), radix: 16)), want 0x\(String(sign | want, radix: 16))")
                }
            }
        }
        XCTAssertEqual(failures.count, 0, failures.prefix(10).joined(separator: "; "))
    }

    func testOverflowToInfinity() {
        XCTAssertEqual(Half.fromFloat(65504), 0x7BFF)
        XCTAssertEqual(Half.fromFloat(65519.996), 0x7BFF)   // just below the tie with 65536
        XCTAssertEqual(Half.fromFloat(65520), 0x7C00)       // the tie rounds to even: infinity
        XCTAssertEqual(Half.fromFloat(-65520), 0xFC00)
        XCTAssertEqual(Half.fromFloat(70000), 0x7C00)
        XCTAssertEqual(Half.fromFloat(1e30), 0x7C00)
        XCTAssertEqual(Half.fromFloat(.greatestFiniteMagnitude), 0x7C00)
        XCTAssertEqual(Half.fromFloat(-.greatestFiniteMagnitude), 0xFC00)
        XCTAssertEqual(Half.fromFloat(.infinity), 0x7C00)
        XCTAssertEqual(Half.fromFloat(-.infinity), 0xFC00)
        XCTAssertEqual(Half.toFloat(0x7C00), .infinity)
        XCTAssertEqual(Half.toFloat(0xFC00), -.infinity)
        let nan = Half.fromFloat(.nan)
        XCTAssertTrue(Half.toFloat(nan).isNaN)
        XCTAssertTrue(Half.toFloat(Half.fromFloat(Float(bitPattern: 0x7F80_0001))).isNaN, "signalling NaN with low payload stays NaN")
        XCTAssertTrue(Half.toFloat(Half.fromFloat(-.nan)).isNaN)
    }

    func testSubnormals() {
        let tiny = Float(sign: .plus, exponent: -24, significand: 1) // smallest half subnormal
        XCTAssertEqual(Half.toFloat(0x0001), tiny)
        XCTAssertEqual(Half.toFloat(0x03FF), tiny * 1023)
        XCTAssertEqual(Half.toFloat(0x0400), Float(sign: .plus, exponent: -14, significand: 1))
        XCTAssertEqual(Half.fromFloat(tiny), 0x0001)
        XCTAssertEqual(Half.fromFloat(-tiny), 0x8001)
        XCTAssertEqual(Half.fromFloat(tiny / 2), 0x0000, "tie rounds to even zero")
        XCTAssertEqual(Half.fromFloat(-tiny / 2), 0x8000)
        XCTAssertEqual(Half.fromFloat((tiny / 2).nextUp), 0x0001)
        XCTAssertEqual(Half.fromFloat(tiny * 1.5), 0x0002, "tie rounds to even")
        XCTAssertEqual(Half.fromFloat(tiny * 2.5), 0x0002, "tie rounds to even")
        XCTAssertEqual(Half.fromFloat(tiny / 4), 0)
        XCTAssertEqual(Half.fromFloat(.leastNonzeroMagnitude), 0)
        XCTAssertEqual(Half.fromFloat(-.leastNonzeroMagnitude), 0x8000)
        XCTAssertEqual(Half.fromFloat(tiny * 1023.5), 0x0400, "rounds up into the normals")
        XCTAssertEqual(Half.fromFloat(-0.0), 0x8000)
        XCTAssertEqual(Half.fromFloat(0), 0)
    }

    #if !(os(macOS) && arch(x86_64))
    /// Float16 (the platform's own conversion) as a second, independent oracle on random floats.
    func testMatchesPlatformFloat16OnRandomFloats() {
        var rng = SeededRNG(seed: 3)
        for _ in 0..<200_000 {
            // Exponents concentrated around the half range, including subnormal and overflow edges.
            let f = Float(sign: Bool.random(using: &rng) ? .minus : .plus,
                          exponent: Int.random(in: -30...17, using: &rng),
                          significand: Float.random(in: 1..<2, using: &rng))
            XCTAssertEqual(Half.fromFloat(f), Float16(f).bitPattern, "\(f)")
        }
    }
    #endif

    func testBF16() {
        // Every bf16 pattern decodes by a 16-bit shift and re-encodes to itself (NaN stays NaN).
        for i in 0..<65536 {
            let b = UInt16(i)
            let f = Half.bf16ToFloat(b)
            XCTAssertEqual(f.bitPattern, UInt32(b) << 16)
            if f.isNaN {
                XCTAssertTrue(Half.bf16ToFloat(Half.floatToBF16(f)).isNaN)
            } else {
                XCTAssertEqual(Half.floatToBF16(f), b)
            }
        }
        // Round to nearest, ties to even.
        XCTAssertEqual(Half.floatToBF16(Float(bitPattern: 0x3F80_8000)), 0x3F80) // tie, even below
        XCTAssertEqual(Half.floatToBF16(Float(bitPattern: 0x3F81_8000)), 0x3F82) // tie, even above
        XCTAssertEqual(Half.floatToBF16(Float(bitPattern: 0x3F80_8001)), 0x3F81)
        XCTAssertEqual(Half.floatToBF16(Float(bitPattern: 0x3F80_7FFF)), 0x3F80)
        XCTAssertEqual(Half.floatToBF16(Float(bitPattern: 0x7F7F_FFFF)), 0x7F80, "overflow to infinity")
        XCTAssertEqual(Half.floatToBF16(-.infinity), 0xFF80)
        XCTAssertEqual(Half.floatToBF16(Float(bitPattern: 0x0000_8000)), 0x0000, "subnormal tie to even")
        XCTAssertEqual(Half.floatToBF16(Float(bitPattern: 0x0001_8000)), 0x0002)
        let nan = Half.floatToBF16(Float(bitPattern: 0x7F80_0001)) // payload only in the low bits
        XCTAssertTrue(Half.bf16ToFloat(nan).isNaN, "NaN must not become infinity")
        // Random floats: the result is a nearest bf16.
        var rng = SeededRNG(seed: 4)
        for _ in 0..<100_000 {
            let f = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))
            guard f.isFinite else { continue }
            let r = Half.floatToBF16(f)
            let g = Double(Half.bf16ToFloat(r))
            let down = Double(Float(bitPattern: UInt32(f.bitPattern >> 16) << 16))
            let upFloat = Float(bitPattern: (f.bitPattern >> 16 &+ 1) << 16)
            // Past the largest bf16 the next step up is 2^128, which rounds to infinity.
            let up = upFloat.isInfinite ? (f < 0 ? -0x1p128 : 0x1p128) : Double(upFloat)
            if upFloat.isInfinite, r & 0x7FFF == 0x7F80 {
                XCTAssertGreaterThanOrEqual(abs(Double(f)), (abs(down) + 0x1p128) / 2, "\(f) overflowed early")
                continue
            }
            let err = abs(g - Double(f))
            XCTAssertLessThanOrEqual(err, min(abs(down - Double(f)), abs(up - Double(f))), "\(f)")
        }
    }
}
