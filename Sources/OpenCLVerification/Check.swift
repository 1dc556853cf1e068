import Foundation
import LlamaCore

/// One verification result: `value` of `metric` against `budget`. For errors (NMSE) a check
/// passes when value ≤ budget; for agreement rates when value ≥ budget (see `higherIsBetter`).
public struct Check: Codable, Equatable, Sendable {
    public let name: String
    public let metric: String
    public let value: Double
    public let budget: Double
    public let pass: Bool

    public init(name: String, metric: String, value: Double, budget: Double, higherIsBetter: Bool = false) {
        self.name = name; self.metric = metric; self.value = value; self.budget = budget
        pass = value.isFinite && (higherIsBetter ? value >= budget : value <= budget)
    }

    /// An NMSE check; a NaN or inf anywhere in `actual` makes the value infinite (a failure).
    public static func nmse(_ name: String, _ actual: [Float], _ reference: [Float], budget: Double) -> Check {
        let value = actual.count == reference.count ? Budget.nmse(actual, reference) : .infinity
        return Check(name: name, metric: "nmse", value: value, budget: budget)
    }
}

/// SplitMix64: a seeded generator, so every verification input is reproducible.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` values uniform in ±`scale`.
    public mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float.random(in: -scale...scale, using: &self) }
    }
}
