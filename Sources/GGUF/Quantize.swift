/// Reference quantization into ggml block layouts, used by the GGUF writer (`synth`, tests).
/// Simple round-to-nearest schemes: valid blocks that the reference dequantizers decode;
/// they do not attempt llama-quantize's error-minimising scale search.
public enum Quantize {
    /// Encode `count` floats (a whole number of blocks) of `type` into a new byte array.
    public static func run(_ type: TensorType, _ x: UnsafePointer<Float>, count: Int) -> [UInt8] {
        precondition(count % type.blockSize == 0, "caller must pass whole blocks")
        let nb = count / type.blockSize
        var out = [UInt8](repeating: 0, count: nb * type.bytesPerBlock)
        out.withUnsafeMutableBytes { raw in
            let dst = raw.baseAddress!
            let bs = type.bytesPerBlock
            switch type {
            case .f32: dst.copyMemory(from: x, byteCount: 4 * count)
            case .f16: for i in 0..<count { dst.storeBytes(of: Half.fromFloat(x[i]), toByteOffset: 2 * i, as: UInt16.self) }
            case .bf16: for i in 0..<count { dst.storeBytes(of: Half.floatToBF16(x[i]), toByteOffset: 2 * i, as: UInt16.self) }
            case .q4_0: for b in 0..<nb { q4_0(x + 32 * b, dst + bs * b) }
            case .q4_1: for b in 0..<nb { q4_1(x + 32 * b, dst + bs * b) }
            case .q5_0: for b in 0..<nb { q5(x + 32 * b, dst + bs * b, hasMin: false) }
            case .q5_1: for b in 0..<nb { q5(x + 32 * b, dst + bs * b, hasMin: true) }
            case .q8_0: for b in 0..<nb { q8_0(x + 32 * b, dst + bs * b) }
            case .q2_K: for b in 0..<nb { q2_K(x + 256 * b, dst + bs * b) }
            case .q3_K: for b in 0..<nb { q3_K(x + 256 * b, dst + bs * b) }
            case .q4_K: for b in 0..<nb { kQuant(x + 256 * b, dst + bs * b, bits: 4) }
            case .q5_K: for b in 0..<nb { kQuant(x + 256 * b, dst + bs * b, bits: 5) }
            case .q6_K: for b in 0..<nb { q6_K(x + 256 * b, dst + bs * b) }
            }
        }
        return out
    }

    public static func run(_ type: TensorType, _ x: [Float]) -> [UInt8] {
        x.withUnsafeBufferPointer { run(type, $0.baseAddress!, count: x.count) }
    }

    @inline(__always) static func putHalf(_ f: Float, _ p: UnsafeMutableRawPointer, _ off: Int) {
        p.storeBytes(of: Half.fromFloat(f), toByteOffset: off, as: UInt16.self)
    }

    /// The element of largest magnitude, keeping its sign (ggml's choice for symmetric formats).
    static func signedMaxAbs(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m: Float = 0
        for i in 0..<n where abs(x[i]) > abs(m) { m = x[i] }
        return m
    }

    /// Rounds and clamps in Float before converting, so NaN and ±inf (from inf/NaN input, or from
    /// finite input whose range overflows Float) give a valid code instead of trapping in Int().
    static func clampRound(_ v: Float, _ lo: Int, _ hi: Int) -> Int {
        let r = v.rounded()
        guard r >= Float(lo) else { return lo } // also NaN
        return r >= Float(hi) ? hi : Int(r)
    }

    static func q4_0(_ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer) {
        let d = signedMaxAbs(x, 32) / -8
        let id: Float = d != 0 ? 1 / d : 0
        putHalf(d, b, 0)
        for j in 0..<16 {
            let lo = clampRound(x[j] * id + 8, 0, 15), hi = clampRound(x[j + 16] * id + 8, 0, 15)
            b.storeBytes(of: UInt8(lo | hi << 4), toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    static func q4_1(_ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer) {
        var lo = Float.infinity, hi = -Float.infinity
        for i in 0..<32 { lo = min(lo, x[i]); hi = max(hi, x[i]) }
        let d = (hi - lo) / 15
        let id: Float = d != 0 ? 1 / d : 0
        putHalf(d, b, 0); putHalf(lo, b, 2)
        for j in 0..<16 {
            let a = clampRound((x[j] - lo) * id, 0, 15), c = clampRound((x[j + 16] - lo) * id, 0, 15)
            b.storeBytes(of: UInt8(a | c << 4), toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    static func q5(_ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer, hasMin: Bool) {
        var q = [Int](repeating: 0, count: 32)
        if hasMin {
            var lo = Float.infinity, hi = -Float.infinity
            for i in 0..<32 { lo = min(lo, x[i]); hi = max(hi, x[i]) }
            let d = (hi - lo) / 31
            let id: Float = d != 0 ? 1 / d : 0
            putHalf(d, b, 0); putHalf(lo, b, 2)
            for i in 0..<32 { q[i] = clampRound((x[i] - lo) * id, 0, 31) }
        } else {
            let d = signedMaxAbs(x, 32) / -16
            let id: Float = d != 0 ? 1 / d : 0
            putHalf(d, b, 0)
            for i in 0..<32 { q[i] = clampRound(x[i] * id + 16, 0, 31) }
        }
        let h = hasMin ? 4 : 2
        var qh: UInt32 = 0
        for j in 0..<16 {
            qh |= UInt32((q[j] >> 4) & 1) << UInt32(j)
            qh |= UInt32((q[j + 16] >> 4) & 1) << UInt32(j + 16)
            b.storeBytes(of: UInt8((q[j] & 0xF) | (q[j + 16] & 0xF) << 4), toByteOffset: h + 4 + j, as: UInt8.self)
        }
        b.storeBytes(of: qh.littleEndian, toByteOffset: h, as: UInt32.self)
    }

    static func q8_0(_ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for i in 0..<32 { amax = max(amax, abs(x[i])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        putHalf(d, b, 0)
        for i in 0..<32 { b.storeBytes(of: Int8(clampRound(x[i] * id, -127, 127)), toByteOffset: 2 + i, as: Int8.self) }
    }

    /// Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins under two half-precision supers.
    static func kQuant(_ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer, bits: Int) {
        let levels = Float((1 << bits) - 1)
        var scales = [Float](repeating: 0, count: 8), mins = [Float](repeating: 0, count: 8)
        for j in 0..<8 {
            var lo: Float = 0, hi = -Float.infinity
            for i in 0..<32 { lo = min(lo, x[32 * j + i]); hi = max(hi, x[32 * j + i]) }
            scales[j] = (hi - lo) / levels
            mins[j] = -lo
        }
        let d = (scales.max() ?? 0) / 63, dmin = (mins.max() ?? 0) / 63
        let sc = scales.map { d > 0 ? clampRound($0 / d, 0, 63) : 0 }
        let mn = mins.map { dmin > 0 ? clampRound($0 / dmin, 0, 63) : 0 }
        putHalf(d, b, 0); putHalf(dmin, b, 2)
        // Re-read the rounded supers so the codes match what the decoder will use.
        let dq = Half.toFloat(Half.fromFloat(d)), dminq = Half.toFloat(Half.fromFloat(dmin))
        var packed = [UInt8](repeating: 0, count: 12)
        for j in 0..<8 {
            if j < 4 {
                packed[j] = UInt8(sc[j]); packed[j + 4] = UInt8(mn[j])
            } else {
                packed[j + 4] = UInt8((sc[j] & 0xF) | (mn[j] & 0xF) << 4)
                packed[j - 4] |= UInt8((sc[j] >> 4) << 6)
                packed[j] |= UInt8((mn[j] >> 4) << 6)
            }
        }
        for i in 0..<12 { b.storeBytes(of: packed[i], toByteOffset: 4 + i, as: UInt8.self) }
        var q = [Int](repeating: 0, count: 256)
        for j in 0..<8 {
            let step = dq * Float(sc[j]), offset = dminq * Float(mn[j])
            for i in 0..<32 { q[32 * j + i] = step > 0 ? clampRound((x[32 * j + i] + offset) / step, 0, Int(levels)) : 0 }
        }
        let qsOffset = bits == 4 ? 16 : 48
        for chunk in 0..<4 {
            for l in 0..<32 {
                let a = q[64 * chunk + l], c = q[64 * chunk + 32 + l]
                b.storeBytes(of: UInt8((a & 0xF) | (c & 0xF) << 4), toByteOffset: qsOffset + 32 * chunk + l, as: UInt8.self)
            }
        }
        if bits == 5 {
            for l in 0..<32 {
                var h = 0
                for chunk in 0..<4 {
                    h |= ((q[64 * chunk + l] >> 4) & 1) << (2 * chunk)
                    h |= ((q[64 * chunk + 32 + l] >> 4) & 1) << (2 * chunk + 1)
                }
                b.storeBytes(of: UInt8(h), toByteOffset: 16 + l, as: UInt8.self)
            }
        }
    }

    /// Q2_K: 16 sub-blocks of 16 with 4-bit scales and mins (range [min(0, lo), hi] in 3 steps)
    /// under two half-precision supers.
    static func q2_K(_ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer) {
        var scales = [Float](repeating: 0, count: 16), mins = [Float](repeating: 0, count: 16)
        for j in 0..<16 {
            var lo: Float = 0, hi = -Float.infinity
            for i in 0..<16 { lo = min(lo, x[16 * j + i]); hi = max(hi, x[16 * j + i]) }
            scales[j] = (hi - lo) / 3
            mins[j] = -lo
        }
        let d = (scales.max() ?? 0) / 15, dmin = (mins.max() ?? 0) / 15
        let sc = scales.map { d > 0 ? clampRound($0 / d, 0, 15) : 0 }
        let mn = mins.map { dmin > 0 ? clampRound($0 / dmin, 0, 15) : 0 }
        for j in 0..<16 { b.storeBytes(of: UInt8(sc[j] | mn[j] << 4), toByteOffset: j, as: UInt8.self) }
        putHalf(d, b, 80); putHalf(dmin, b, 82)
        let dq = Half.toFloat(Half.fromFloat(d)), dminq = Half.toFloat(Half.fromFloat(dmin))
        var q = [Int](repeating: 0, count: 256)
        for j in 0..<16 {
            let step = dq * Float(sc[j]), offset = dminq * Float(mn[j])
            for i in 0..<16 { q[16 * j + i] = step > 0 ? clampRound((x[16 * j + i] + offset) / step, 0, 3) : 0 }
        }
        // value 128·h + 32·k + l goes to bits 2k, 2k+1 of qs[32·h + l]
        for h in 0..<2 {
            for l in 0..<32 {
                var byte = 0
                for k in 0..<4 { byte |= q[128 * h + 32 * k + l] << (2 * k) }
                b.storeBytes(of: UInt8(byte), toByteOffset: 16 + 32 * h + l, as: UInt8.self)
            }
        }
    }

    /// Q3_K: 16 sub-blocks of 16, values −4..3 (the signed extreme maps to −4), with 6-bit signed
    /// scales under one half-precision super.
    static func q3_K(_ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer) {
        var subScales = [Float](repeating: 0, count: 16)
        for j in 0..<16 { subScales[j] = signedMaxAbs(x + 16 * j, 16) / -4 }
        var maxScale: Float = 0
        for s in subScales where abs(s) > abs(maxScale) { maxScale = s }
        let d = maxScale / -32
        let dq = Half.toFloat(Half.fromFloat(d))
        let sc = subScales.map { dq != 0 ? clampRound($0 / dq, -32, 31) : 0 }
        var q = [Int](repeating: 0, count: 256)
        for j in 0..<16 {
            let step = dq * Float(sc[j])
            for i in 0..<16 where step != 0 { q[16 * j + i] = clampRound(x[16 * j + i] / step, -4, 3) }
        }
        var packed = [UInt8](repeating: 0, count: 12)
        for j in 0..<16 {
            let v = sc[j] + 32
            packed[j % 8] |= UInt8((v & 0xF) << (j < 8 ? 0 : 4))
            packed[8 + j % 4] |= UInt8((v >> 4) << (2 * (j / 4)))
        }
        for i in 0..<12 { b.storeBytes(of: packed[i], toByteOffset: 96 + i, as: UInt8.self) }
        for h in 0..<2 {
            for l in 0..<32 {
                var low = 0
                for k in 0..<4 { low |= ((q[128 * h + 32 * k + l] + 4) & 3) << (2 * k) }
                b.storeBytes(of: UInt8(low), toByteOffset: 32 + 32 * h + l, as: UInt8.self)
            }
        }
        // hmask bit 4·h + k of byte l: set where the value needs no −4 (q + 4 ≥ 4)
        for l in 0..<32 {
            var mask = 0
            for h in 0..<2 { for k in 0..<4 where q[128 * h + 32 * k + l] >= 0 { mask |= 1 << (4 * h + k) } }
            b.storeBytes(of: UInt8(mask), toByteOffset: l, as: UInt8.self)
        }
        putHalf(d, b, 108)
    }

    /// Q6_K: 16 sub-blocks of 16 with int8 scales under one half-precision super.
    static func q6_K(_ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer) {
        var subScales = [Float](repeating: 0, count: 16)
        for j in 0..<16 { subScales[j] = signedMaxAbs(x + 16 * j, 16) / -32 }
        var maxScale: Float = 0
        for s in subScales where abs(s) > abs(maxScale) { maxScale = s }
        let d = maxScale / -127
        let dq = Half.toFloat(Half.fromFloat(d))
        let sc = subScales.map { dq != 0 ? clampRound($0 / dq, -128, 127) : 0 }
        var q = [Int](repeating: 32, count: 256)
        for j in 0..<16 {
            let step = dq * Float(sc[j])
            for i in 0..<16 where step != 0 { q[16 * j + i] = clampRound(x[16 * j + i] / step, -32, 31) + 32 }
        }
        for half in 0..<2 {
            for l in 0..<32 {
                let y0 = 128 * half
                let q1 = q[y0 + l], q2 = q[y0 + l + 32], q3 = q[y0 + l + 64], q4 = q[y0 + l + 96]
                b.storeBytes(of: UInt8((q1 & 0xF) | (q3 & 0xF) << 4), toByteOffset: 64 * half + l, as: UInt8.self)
                b.storeBytes(of: UInt8((q2 & 0xF) | (q4 & 0xF) << 4), toByteOffset: 64 * half + l + 32, as: UInt8.self)
                let h = (q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6
                b.storeBytes(of: UInt8(h), toByteOffset: 128 + 32 * half + l, as: UInt8.self)
            }
        }
        for j in 0..<16 { b.storeBytes(of: Int8(sc[j]), toByteOffset: 192 + j, as: Int8.self) }
        putHalf(d, b, 208)
    }
}
