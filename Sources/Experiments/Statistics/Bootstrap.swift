import LlamaCore
import Foundation

/// A mean with a confidence interval.
public struct Estimate: Codable, Equatable, Sendable {
    public var mean: Double
    public var lower: Double
    public var upper: Double
    /// How many problems the mean is over.
    public var problems: Int

    public init(mean: Double, lower: Double, upper: Double, problems: Int) {
        self.mean = mean
        self.lower = lower
        self.upper = upper
        self.problems = problems
    }
}

/// Percentile bootstrap over problems (Efron 1979): resample the per-problem values with
/// replacement `resamples` times, take each resample's mean, and report the (1−confidence)/2 and
/// (1+confidence)/2 quantiles of those means. Problems, not samples, are the unit of
/// resampling because samples of one problem are strongly correlated.
///
/// The generator is seeded from `seed` alone, and callers pass values in problem-id order, so
/// the interval is a pure function of the run's seed and its per-problem values.
public func bootstrap(_ values: [Double], resamples: Int = 1000, confidence: Double = 0.95, seed: UInt64) throws -> Estimate {
    guard !values.isEmpty else { throw ExperimentError.invalidMetricArguments("bootstrap needs at least one value") }
    guard resamples >= 1 else { throw ExperimentError.invalidMetricArguments("bootstrap needs at least one resample, got \(resamples)") }
    guard confidence > 0, confidence < 1 else {
        throw ExperimentError.invalidMetricArguments("confidence must be in (0, 1), got \(confidence)")
    }
    let n = values.count
    let mean = values.reduce(0, +) / Double(n)
    var rng = SeededRandom(seed: seed, label: "bootstrap")
    var means: [Double] = []
    means.reserveCapacity(resamples)
    for _ in 0..<resamples {
        var sum = 0.0
        for _ in 0..<n { sum += values[rng.nextInt(below: n)] }
        means.append(sum / Double(n))
    }
    means.sort()
    let alpha = (1 - confidence) / 2
    return Estimate(mean: mean, lower: quantile(means, alpha), upper: quantile(means, 1 - alpha), problems: n)
}
