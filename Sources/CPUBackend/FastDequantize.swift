import GGUF

/// Row decoders written as plain loops over typed pointers with 32-bit integer math, so that
/// LLVM turns them into vector code (release builds). Each is tested against the reference
/// `Dequantize` decoders, which stay the oracle; types without a fast decoder use those.
enum FastDequantize {
    static func run(_ type: TensorType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        switch type {
        case .f32: dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16: f16(src.assumingMemoryBound(to: UInt16.self), dst, count)
        case .bf16:
            let s = src.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { dst[i] = Float(bitPattern: UInt32(s[i]) << 16) }
        case .q4_0: for b in 0..<count / 32 { q4_0(src + 18 * b, dst + 32 * b) }
        case .q8_0: for b in 0..<count / 32 { q8_0(src + 34 * b, dst + 32 * b) }
        case .q4_K: for b in 0..<count / 256 { q4_K(src + 144 * b, dst + 256 * b) }
        case .q6_K: for b in 0..<count / 256 { q6_K(src + 210 * b, dst + 256 * b) }
        default: Dequantize.run(type, src, dst, count: count)
        }
    }

    /// Half → float without a table: shift the exponent and mantissa into place and rescale by
    /// 2^112, which handles normals and subnormals alike; infinities and NaNs keep all-ones exponents.
    @inline(__always) static func f16(_ s: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            let h = UInt32(s[i])
            let magnitude = (h & 0x7FFF) << 13
            let scaled = (Float(bitPattern: magnitude) * 0x1p112).bitPattern
            let bits = magnitude >= 0x0F80_0000 ? (magnitude | 0x7F80_0000) : scaled
            dst[i] = Float(bitPattern: bits | ((h & 0x8000) << 16))
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer) -> Float { Half.toFloat(p.loadUnaligned(as: UInt16.self)) }

    @inline(__always) static func q4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b)
        let qs = (b + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let q = Int32(qs[j])
            y[j] = Float((q & 0xF) &- 8) * d
            y[j + 16] = Float((q &>> 4) &- 8) * d
        }
    }

    @inline(__always) static func q8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b)
        let qs = (b + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { y[j] = Float(qs[j]) * d }
    }

    @inline(__always) static func q4_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b), dmin = half(b + 2)
        let qs = (b + 16).assumingMemoryBound(to: UInt8.self)
        for chunk in 0..<4 {
            let (s1, m1) = Dequantize.scaleMinK4(2 * chunk, b + 4)
            let (s2, m2) = Dequantize.scaleMinK4(2 * chunk + 1, b + 4)
            let d1 = d * s1, o1 = dmin * m1, d2 = d * s2, o2 = dmin * m2
            let q = qs + 32 * chunk, out = y + 64 * chunk
            for l in 0..<32 {
                let v = Int32(q[l])
                out[l] = d1 * Float(v & 0xF) - o1
                out[l + 32] = d2 * Float(v &>> 4) - o2
            }
        }
    }

    @inline(__always) static func q6_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b + 208)
        let sc = (b + 192).assumingMemoryBound(to: Int8.self)
        for half in 0..<2 {
            let ql = (b + 64 * half).assumingMemoryBound(to: UInt8.self)
            let qh = (b + 128 + 32 * half).assumingMemoryBound(to: UInt8.self)
            let s = sc + 8 * half, out = y + 128 * half
            for group in 0..<2 {
                // 16 consecutive l share one scale per quarter
                let d1 = d * Float(s[group]), d2 = d * Float(s[group + 2]), d3 = d * Float(s[group + 4]), d4 = d * Float(s[group + 6])
                for l in 16 * group..<16 * group + 16 {
                    let a = Int32(ql[l]), c = Int32(ql[l + 32]), h = Int32(qh[l])
                    out[l] = d1 * Float(((a & 0xF) | ((h & 3) << 4)) &- 32)
                    out[l + 32] = d2 * Float(((c & 0xF) | (((h &>> 2) & 3) << 4)) &- 32)
                    out[l + 64] = d3 * Float(((a &>> 4) | (((h &>> 4) & 3) << 4)) &- 32)
                    out[l + 96] = d4 * Float(((c &>> 4) | (((h &>> 6) & 3) << 4)) &- 32)
                }
            }
        }
    }
}
