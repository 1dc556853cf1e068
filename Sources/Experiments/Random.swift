/// Seeded pseudo-random numbers that give the same sequence on every platform and Swift
/// version. We do not use `Int.random(in:using:)` or `shuffle(using:)`: how the standard library
/// maps raw 64-bit words to ranges is an implementation detail that may change, and results must
/// be reproducible from the seed recorded in a run's parameters.

/// SplitMix64 (Steele, Lea & Flood 2014): used to expand one seed into generator state and to
/// derive independent sub-seeds.
public struct SplitMix64 {
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman & Vigna 2018), seeded through SplitMix64 as its authors recommend.
public struct SeededRandom: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mix = SplitMix64(seed: seed)
        s = (mix.next(), mix.next(), mix.next(), mix.next())
    }

    /// A generator for one purpose (`label`) and one item (e.g. a problem id and a k), so each
    /// problem's randomness depends only on the run seed and the problem's identity, never on
    /// the order in which problems are processed or on how a run was sharded.
    public init(seed: UInt64, label: String, _ parts: UInt64...) {
        var h = SeededRandom.fnv1a(label)
        var mix = SplitMix64(seed: seed ^ h)
        h = mix.next()
        for part in parts {
            mix = SplitMix64(seed: h ^ part)
            h = mix.next()
        }
        self.init(seed: h)
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    /// Uniform in 0..<bound (bound ≥ 1) by rejection sampling, so there is no modulo bias.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound")
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b   // largest multiple of b, exclusive
        while true {
            let x = next()
            if x < limit { return Int(x % b) }
        }
    }

    /// Uniform in the closed range.
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextInt(below: range.upperBound - range.lowerBound + 1)
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniformly random k-subset of 0..<n, as indices in increasing order (partial Fisher–Yates).
    public mutating func subset(of n: Int, size k: Int) -> [Int] {
        var pool = Array(0..<n)
        for i in 0..<k {
            let j = i + nextInt(below: n - i)
            pool.swapAt(i, j)
        }
        return pool[0..<k].sorted()
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// FNV-1a 64 of a label's UTF-8 bytes: a stable way to turn a purpose name into bits.
    static func fnv1a(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }
}
