/// Reference dequantization: ggml block layouts decoded into F32, one block at a time.
/// These are the oracles; fast paths elsewhere are tested against them.
public enum Dequantize {
    /// Decode `count` elements (a whole number of blocks) of `type` from `src` into `dst`.
    public static func run(_ type: TensorType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count % type.blockSize == 0, "caller must pass whole blocks")
        let nb = count / type.blockSize
        let bs = type.bytesPerBlock
        switch type {
        // Raw copy: with a small general.alignment an F32 tensor need not be 4-byte aligned.
        case .f32: UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: 4 * count)
        case .f16: for i in 0..<count { dst[i] = Half.toFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16: for i in 0..<count { dst[i] = Half.bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .q4_0: for b in 0..<nb { q4_0(src + b * bs, dst + b * 32) }
        case .q4_1: for b in 0..<nb { q4_1(src + b * bs, dst + b * 32) }
        case .q5_0: for b in 0..<nb { q5(src + b * bs, dst + b * 32, hasMin: false) }
        case .q5_1: for b in 0..<nb { q5(src + b * bs, dst + b * 32, hasMin: true) }
        case .q8_0: for b in 0..<nb { q8_0(src + b * bs, dst + b * 32) }
        case .q2_K: for b in 0..<nb { q2_K(src + b * bs, dst + b * 256) }
        case .q3_K: for b in 0..<nb { q3_K(src + b * bs, dst + b * 256) }
        case .q4_K: for b in 0..<nb { q4_K(src + b * bs, dst + b * 256) }
        case .q5_K: for b in 0..<nb { q5_K(src + b * bs, dst + b * 256) }
        case .q6_K: for b in 0..<nb { q6_K(src + b * bs, dst + b * 256) }
        }
    }

    /// Convenience for tests and tools: a whole buffer to [Float].
    public static func toFloats(_ type: TensorType, _ src: UnsafeRawPointer, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, n in
            run(type, src, buf.baseAddress!, count: count)
            n = count
        }
    }

    @inline(__always) static func f16(_ p: UnsafeRawPointer, _ off: Int) -> Float { Half.toFloat(p.loadUnaligned(fromByteOffset: off, as: UInt16.self)) }
    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ off: Int) -> Int { Int(p.load(fromByteOffset: off, as: UInt8.self)) }

    // block_q4_0 { half d; uint8 qs[16] }: x[j] = (lo(qs[j]) - 8)·d, x[j+16] = (hi(qs[j]) - 8)·d
    static func q4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 0)
        for j in 0..<16 {
            let q = byte(b, 2 + j)
            y[j] = Float((q & 0xF) - 8) * d
            y[j + 16] = Float((q >> 4) - 8) * d
        }
    }

    // block_q4_1 { half d, m; uint8 qs[16] }: x = q·d + m
    static func q4_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 0), m = f16(b, 2)
        for j in 0..<16 {
            let q = byte(b, 4 + j)
            y[j] = Float(q & 0xF) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    // block_q5_0 { half d; uint32 qh; uint8 qs[16] } (x = (q - 16)·d);
    // block_q5_1 { half d, m; uint32 qh; uint8 qs[16] } (x = q·d + m). Bit j of qh is the 5th bit of x[j].
    static func q5(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, hasMin: Bool) {
        let d = f16(b, 0)
        let m: Float = hasMin ? f16(b, 2) : 0
        let h = hasMin ? 4 : 2
        let qh = b.loadUnaligned(fromByteOffset: h, as: UInt32.self).littleEndian
        let offset = hasMin ? 0 : 16
        for j in 0..<16 {
            let q = byte(b, h + 4 + j)
            let hi0 = Int((qh >> UInt32(j)) & 1) << 4
            let hi1 = Int((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = Float(((q & 0xF) | hi0) - offset) * d + m
            y[j + 16] = Float(((q >> 4) | hi1) - offset) * d + m
        }
    }

    // block_q8_0 { half d; int8 qs[32] }
    static func q8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 0)
        for j in 0..<32 { y[j] = Float(b.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    // block_q2_K { uint8 scales[16]; uint8 qs[64]; half d, dmin }: 16 sub-blocks of 16, scale
    // byte = min << 4 | scale; x = d·scale·q − dmin·min. Values 128·h + 32·k + l (h < 2, k < 4,
    // l < 32) are bits 2k, 2k+1 of qs[32·h + l], in sub-block 8·h + 2·k + l/16.
    static func q2_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 80), dmin = f16(b, 82)
        for h in 0..<2 {
            for k in 0..<4 {
                for l in 0..<32 {
                    let sc = byte(b, 8 * h + 2 * k + l / 16)
                    let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                    let q = (byte(b, 16 + 32 * h + l) >> (2 * k)) & 3
                    y[128 * h + 32 * k + l] = dl * Float(q) - ml
                }
            }
        }
    }

    /// The 6-bit scale j (0..<16) of a Q3_K block, as stored (0..63; the value is it − 32): low 4
    /// bits in the nibbles of bytes 0..7 (j < 8: low nibble of byte j, else high nibble of j − 8),
    /// high 2 bits at bit 2·(j / 4) of byte 8 + j % 4.
    @inline(__always) public static func scaleK3(_ j: Int, _ s: UnsafeRawPointer) -> Int {
        let low = j < 8 ? byte(s, j) & 0xF : byte(s, j - 8) >> 4
        let high = (byte(s, 8 + j % 4) >> (2 * (j / 4))) & 3
        return low | high << 4
    }

    // block_q3_K { uint8 hmask[32]; uint8 qs[64]; uint8 scales[12]; half d }: 16 sub-blocks of 16,
    // x = d·(scale − 32)·(q − 4·(1 − hbit)), q the two bits 2k, 2k+1 of qs[32·h + l] and hbit bit
    // 4·h + k of hmask[l] for value 128·h + 32·k + l, in sub-block 8·h + 2·k + l/16.
    static func q3_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 108)
        for h in 0..<2 {
            for k in 0..<4 {
                for l in 0..<32 {
                    let dl = d * Float(scaleK3(8 * h + 2 * k + l / 16, b + 96) - 32)
                    let low = (byte(b, 32 + 32 * h + l) >> (2 * k)) & 3
                    let high = (byte(b, l) >> (4 * h + k)) & 1
                    y[128 * h + 32 * k + l] = dl * Float(low - (high == 1 ? 0 : 4))
                }
            }
        }
    }

    /// The 6-bit scale and min of sub-block j (0..<8) packed in the 12 scale bytes of Q4_K/Q5_K.
    @inline(__always) public static func scaleMinK4(_ j: Int, _ s: UnsafeRawPointer) -> (Float, Float) {
        if j < 4 { return (Float(byte(s, j) & 63), Float(byte(s, j + 4) & 63)) }
        let sc = (byte(s, j + 4) & 0xF) | ((byte(s, j - 4) >> 6) << 4)
        let mn = (byte(s, j + 4) >> 4) | ((byte(s, j) >> 6) << 4)
        return (Float(sc), Float(mn))
    }

    // block_q4_K { half d, dmin; uint8 scales[12]; uint8 qs[128] }: 8 sub-blocks of 32,
    // x = d·sc·q − dmin·m; each 32 bytes of qs hold two sub-blocks (low nibbles, then high).
    static func q4_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 0), dmin = f16(b, 2)
        let scales = b + 4, qs = b + 16
        for chunk in 0..<4 {
            let (s1, m1) = scaleMinK4(2 * chunk, scales)
            let (s2, m2) = scaleMinK4(2 * chunk + 1, scales)
            for l in 0..<32 {
                let q = byte(qs, 32 * chunk + l)
                y[64 * chunk + l] = d * s1 * Float(q & 0xF) - dmin * m1
                y[64 * chunk + 32 + l] = d * s2 * Float(q >> 4) - dmin * m2
            }
        }
    }

    // block_q5_K { half d, dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128] }: like Q4_K with
    // a fifth bit per value from qh (bit 2·chunk for the low half, 2·chunk+1 for the high half).
    static func q5_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 0), dmin = f16(b, 2)
        let scales = b + 4, qh = b + 16, qs = b + 48
        for chunk in 0..<4 {
            let (s1, m1) = scaleMinK4(2 * chunk, scales)
            let (s2, m2) = scaleMinK4(2 * chunk + 1, scales)
            for l in 0..<32 {
                let q = byte(qs, 32 * chunk + l), h = byte(qh, l)
                let lo = (q & 0xF) | (((h >> (2 * chunk)) & 1) << 4)
                let hi = (q >> 4) | (((h >> (2 * chunk + 1)) & 1) << 4)
                y[64 * chunk + l] = d * s1 * Float(lo) - dmin * m1
                y[64 * chunk + 32 + l] = d * s2 * Float(hi) - dmin * m2
            }
        }
    }

    // block_q6_K { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d }: 16 sub-blocks of 16,
    // x = d·scale·(q − 32) with q = 4 low bits from ql and 2 high bits from qh.
    static func q6_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let ql = b, qh = b + 128, sc = b + 192
        let d = f16(b, 208)
        for half in 0..<2 {
            let l0 = 64 * half, h0 = 32 * half, s0 = 8 * half, y0 = 128 * half
            for l in 0..<32 {
                let s = l / 16
                let a = byte(ql, l0 + l), c = byte(ql, l0 + l + 32), h = byte(qh, h0 + l)
                let q1 = ((a & 0xF) | ((h & 3) << 4)) - 32
                let q2 = ((c & 0xF) | (((h >> 2) & 3) << 4)) - 32
                let q3 = ((a >> 4) | (((h >> 4) & 3) << 4)) - 32
                let q4 = ((c >> 4) | (((h >> 6) & 3) << 4)) - 32
                func scale(_ i: Int) -> Float { d * Float(sc.load(fromByteOffset: s0 + i, as: Int8.self)) }
                y[y0 + l] = scale(s) * Float(q1)
                y[y0 + l + 32] = scale(s + 2) * Float(q2)
                y[y0 + l + 64] = scale(s + 4) * Float(q3)
                y[y0 + l + 96] = scale(s + 6) * Float(q4)
            }
        }
    }
}
