import LlamaCore
import Foundation

/// Paired percentile bootstrap of a difference of means, A − B, over problems: every resample
/// draws one set of problems and takes both arms' values on it, so what the two arms share
/// (the problems' difficulty) cancels. Two unpaired intervals that overlap say little about
/// A − B; this interval is what "A beats B" needs. Equivalent to bootstrapping the per-problem
/// differences aᵢ − bᵢ.
///
/// `a[i]` and `b[i]` must be the two arms' values on the same problem i.
public func pairedBootstrap(_ a: [Double], _ b: [Double], resamples: Int = 2000, confidence: Double = 0.95,
                            seed: UInt64) throws -> Estimate {
    guard a.count == b.count else {
        throw ExperimentError.invalidMetricArguments("a paired bootstrap needs one value per problem in each arm, got \(a.count) and \(b.count)")
    }
    return try bootstrap(zip(a, b).map { $0 - $1 }, resamples: resamples, confidence: confidence, seed: seed)
}

extension Estimate {
    /// True when the interval lies entirely above or entirely below zero (for a difference:
    /// the sign of A − B is settled at this confidence).
    public var excludesZero: Bool { lower > 0 || upper < 0 }
}

/// Indices of `resamples` bootstrap resamples of `count` problems (drawn with replacement), for
/// statistics that are not a plain mean (fits): compute the statistic on each index list and
/// take percentiles. Seeded from `seed` and `label` alone.
public func bootstrapResamples(count: Int, resamples: Int, seed: UInt64, label: String) -> [[Int]] {
    var rng = SeededRandom(seed: seed, label: label)
    return (0..<resamples).map { _ in (0..<count).map { _ in rng.nextInt(below: count) } }
}

/// A percentile interval of values (non-finite ones dropped); nil when none is finite.
public func percentileInterval(_ values: [Double], confidence: Double = 0.95) -> (lower: Double, upper: Double)? {
    let v = values.filter(\.isFinite).sorted()
    guard !v.isEmpty else { return nil }
    let tail = (1 - confidence) / 2
    return (quantile(v, tail), quantile(v, 1 - tail))
}
