/// The one seeded random generator of LlamaCL: the same sequence on every platform and Swift
/// version, so a seed recorded in a result fixes every problem, weight and sampled token.
/// We do not use `Int.random(in:using:)` or `shuffle(using:)`: how the standard library maps raw
/// 64-bit words to ranges is an implementation detail that may change.
///
/// The generator is xoshiro256** (Blackman & Vigna 2018), its state expanded from one 64-bit
/// seed by SplitMix64 (Steele, Lea & Flood 2014) as its authors recommend.
///
/// Stream derivation: work that must not depend on the order in which it runs (problem i of a
/// task, sample j of a problem, a bootstrap, a chunk of weights) gets a stream of its own,
/// derived from the run's seed and the item's identity, never from a shared generator:
/// - `init(seed:label:_:)`: purpose-labelled streams. h₀ = SplitMix64(seed ⊕ FNV-1a(label)).next(),
///   then for each part p: hᵢ = SplitMix64(hᵢ₋₁ ⊕ p).next(); the generator is seeded with the last h.
///   Used by tasks, statistics, weight synthesis and verification inputs.
/// - `init(seed:streams:)`: the sampling stream of (seed, problem, sample), used by every sampler.
///   m₀ = first output of SeededRandom(seed), then mᵢ = first output of
///   SeededRandom(mᵢ₋₁ ⊕ streamᵢ·0x9E3779B97F4A7C15). Kept bit-for-bit because committed
///   best-of-N results were sampled with it.
public struct SeededRandom: SeededStream, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mix = SplitMix64(seed: seed)
        s = (mix.next(), mix.next(), mix.next(), mix.next())
    }

    /// A stream for one purpose (`label`) and one item (e.g. a problem id and a k).
    public init(seed: UInt64, label: String, _ parts: UInt64...) {
        var mix = SplitMix64(seed: seed ^ Self.fnv1a(label))
        var h = mix.next()
        for part in parts {
            mix = SplitMix64(seed: h ^ part)
            h = mix.next()
        }
        self.init(seed: h)
    }

    /// The sampling stream of (seed, stream ids), e.g. (seed, problem, sample).
    public init(seed: UInt64, streams: [UInt64]) {
        func first(_ seed: UInt64) -> UInt64 { var g = SeededRandom(seed: seed); return g.next() }
        var mixed = first(seed)
        for id in streams { mixed = first(mixed ^ (id &* 0x9E37_79B9_7F4A_7C15)) }
        self.init(seed: mixed)
    }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = Self.rotl(s.3, 45)
        return result
    }

    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

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

/// SplitMix64: expands one seed into `SeededRandom`'s state and derives sub-seeds. Training draws
/// from it directly (`TrainingRandom`): the committed checkpoints were trained with that stream,
/// and a seed must keep reproducing them.
public struct SplitMix64: SeededStream, Sendable {
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

/// The draws every seeded generator offers, written once over its raw 64-bit words.
public protocol SeededStream: RandomNumberGenerator {}

extension SeededStream {
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

    /// Uniform in [0, 1) with 53 bits of precision (the top bits of one draw).
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in (-1, 1) with 31 bits (the top bits of one draw, as a signed fraction).
    public mutating func nextSigned() -> Float {
        Float(Int32(truncatingIfNeeded: next() >> 32)) * 0x1.0p-31
    }

    /// `count` values uniform in ±`scale`.
    public mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in scale * nextSigned() }
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
}
