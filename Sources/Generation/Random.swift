/// xoshiro256** seeded through splitmix64: small, fast, and the same stream on every platform,
/// so a seed fixes every sampled token.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var z = seed
        func splitmix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// A stream that depends only on (seed, stream ids): e.g. (seed, problem, sample).
    public init(seed: UInt64, streams: [UInt64]) {
        func first(_ seed: UInt64) -> UInt64 { var g = SeededGenerator(seed: seed); return g.next() }
        var mixed = first(seed)
        for id in streams { mixed = first(mixed ^ (id &* 0x9E37_79B9_7F4A_7C15)) }
        self.init(seed: mixed)
    }

    public mutating func next() -> UInt64 {
        func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 bits (the top bits of one draw).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
