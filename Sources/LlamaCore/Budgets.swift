/// Error budgets, in one place, each with its reason. NMSE(a, ref) = Σ(a − ref)² / Σ ref²,
/// the metric llama.cpp's backend tests use.
public enum Budget {
    /// F32 weights, F32 math vs float64 math: only summation-order rounding differs.
    public static let f32VsExact = 1e-10
    /// F16/BF16 weights decode exactly to F32; F32 accumulation keeps us near float64.
    public static let halfVsExact = 1e-6
    /// Quantized weights against the reference our math follows (dequantize, multiply in F32 → `exact`).
    public static let quantizedVsFollowed = 1e-5
    /// ... and against the other one (llama.cpp also rounds activations to 8 bits).
    public static let quantizedVsOther = 1e-3
    /// OpenCL elementwise, norm and rope ops vs the CPU reference op: same formula, F32 rounding only.
    public static let openCLElementwise = 1e-7
    /// OpenCL matmul / attention vs CPU: different summation order, possibly F16 or fused paths.
    public static let openCLMatmul = 5e-4
    /// ... when both accumulate in F32 over F32 inputs.
    public static let openCLMatmulF32 = 1e-6
    /// Whole-model logits, OpenCL vs CPU: errors of every layer compound.
    public static let openCLModel = 2e-3

    /// NMSE in Double; 0 when both are all zeros, infinity when `a` has a NaN or inf.
    public static func nmse(_ a: [Float], _ ref: [Float]) -> Double {
        precondition(a.count == ref.count, "nmse needs equal lengths")
        var num = 0.0, den = 0.0
        for i in a.indices {
            guard a[i].isFinite else { return .infinity }
            let d = Double(a[i]) - Double(ref[i])
            num += d * d
            den += Double(ref[i]) * Double(ref[i])
        }
        return den == 0 ? (num == 0 ? 0 : .infinity) : num / den
    }
}
