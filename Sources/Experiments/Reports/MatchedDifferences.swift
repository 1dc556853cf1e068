import Foundation

/// Paired, compute-matched differences between best-of-N runs of several models on the same
/// problems: "A with k samples beats B at the same inference FLOPs" as a number with an interval.
///
/// A's k samples cost F FLOPs per problem. B rarely has a k that costs exactly F, so B's accuracy
/// at F is interpolated linearly in log FLOPs between its two ks that bracket F — per problem, so
/// that the difference is a per-problem value dᵢ = Aᵢ(k) − [(1 − w)·Bᵢ(k₁) + w·Bᵢ(k₂)],
/// w = (log F − log F₁)/(log F₂ − log F₁). The interval is a paired bootstrap over problems
/// (`pairedBootstrap`), all comparisons drawing the same resampled problem sets. Points outside
/// B's FLOPs range are not compared (no extrapolation).
public struct MatchedDifference: Sendable, Equatable {
    public enum Metric: String, Sendable, CaseIterable { case passAtK = "pass_at_k", majorityVote = "majority_vote" }
    /// FLOPs counted with the shared prompt (what a best-of-N run costs) or for the samples alone.
    public enum Basis: String, Sendable, CaseIterable { case withPrompt = "with_prompt", samplesOnly = "samples_only" }

    public var metric: Metric
    public var basis: Basis
    public var model: String
    public var k: Int
    public var flops: Double
    public var versus: String
    /// B's bracketing ks and the interpolation weight on the upper one.
    public var versusLowK: Int
    public var versusHighK: Int
    public var weight: Double
    /// A's mean, B's interpolated mean, and A − B with its paired interval.
    public var accuracy: Double
    public var versusAccuracy: Double
    public var delta: Estimate
}

/// One run's per-problem accuracies (problems in id order).
public struct PerProblemAccuracy: Sendable {
    public let problems: [Int]
    /// k → pass@k of each problem (unbiased estimator), and majority-vote accuracy.
    public let passAtK: [Int: [Double]]
    public let majorityVote: [Int: [Double]]

    /// From a run's samples; the majority vote uses the same seeded subsets as the run's summary.
    public init(samples: [Sample], parameters: RunParameters, options: SummaryOptions = SummaryOptions()) throws {
        let byProblem = Dictionary(grouping: samples, by: \.problem)
        problems = byProblem.keys.sorted()
        let groups = problems.map { byProblem[$0]!.sorted { $0.index < $1.index } }
        var pass: [Int: [Double]] = [:], vote: [Int: [Double]] = [:]
        for k in parameters.ks where groups.allSatisfy({ $0.count >= k }) {
            pass[k] = try groups.map { try Experiments.passAtK(n: $0.count, c: $0.filter(\.correct).count, k: k) }
            vote[k] = try groups.map {
                try Experiments.accuracy(.majorityVote, samples: $0, k: k, seed: parameters.seed, maxSubsets: options.maxSubsets)
            }
        }
        passAtK = pass
        majorityVote = vote
    }

    public func values(_ metric: MatchedDifference.Metric, k: Int) -> [Double]? {
        metric == .passAtK ? passAtK[k] : majorityVote[k]
    }
}

extension MatchedDifference {
    /// Every compute-matched comparison between every ordered pair of models, on both FLOPs
    /// bases, for pass@k and majority vote. `flops(label, k, basis)` gives a model's cost per
    /// problem. Throws when the runs are not on the same problems.
    public static func all(labels: [String], accuracy: [String: PerProblemAccuracy], flops: (String, Int, Basis) -> Double?,
                           resamples: Int = 2000, confidence: Double = 0.95, seed: UInt64 = 0) throws -> [MatchedDifference] {
        guard let first = labels.first.flatMap({ accuracy[$0] }) else { return [] }
        for label in labels {
            guard let other = accuracy[label], other.problems == first.problems else {
                throw ExperimentError.invalidTaskParameter(task: "compute-matched",
                    reason: "paired comparisons need every run on the same problems; \(label) has different problem ids from \(labels[0])")
            }
        }
        var out: [MatchedDifference] = []
        for basis in Basis.allCases {
            for metric in Metric.allCases {
                for a in labels {
                    for b in labels where b != a {
                        let aCurve = accuracy[a]!, bCurve = accuracy[b]!
                        let bPoints = bCurve.passAtK.keys.sorted().compactMap { k in flops(b, k, basis).map { (k: k, flops: $0) } }
                        for k in aCurve.passAtK.keys.sorted() {
                            guard let f = flops(a, k, basis), let aValues = aCurve.values(metric, k: k),
                                  let bracket = Self.bracket(f, in: bPoints),
                                  let low = bCurve.values(metric, k: bracket.low), let high = bCurve.values(metric, k: bracket.high) else { continue }
                            let w = bracket.weight
                            let bValues = zip(low, high).map { (1 - w) * $0 + w * $1 }
                            let delta = try pairedBootstrap(aValues, bValues, resamples: resamples, confidence: confidence, seed: seed)
                            out.append(MatchedDifference(metric: metric, basis: basis, model: a, k: k, flops: f, versus: b,
                                                         versusLowK: bracket.low, versusHighK: bracket.high, weight: w,
                                                         accuracy: mean(aValues), versusAccuracy: mean(bValues), delta: delta))
                        }
                    }
                }
            }
        }
        return out
    }

    /// The two consecutive points (by FLOPs) that bracket `f`, and the weight of the upper one in
    /// log FLOPs; nil outside the points' range.
    static func bracket(_ f: Double, in points: [(k: Int, flops: Double)]) -> (low: Int, high: Int, weight: Double)? {
        let sorted = points.sorted { $0.flops < $1.flops }
        guard let lo = sorted.first, let hi = sorted.last, f >= lo.flops * (1 - 1e-12), f <= hi.flops * (1 + 1e-12) else { return nil }
        if let exact = sorted.first(where: { abs($0.flops - f) <= 1e-12 * f }) { return (exact.k, exact.k, 0) }
        for (p, q) in zip(sorted, sorted.dropFirst()) where p.flops <= f && f <= q.flops {
            return (p.k, q.k, (log(f) - log(p.flops)) / (log(q.flops) - log(p.flops)))
        }
        return nil
    }

    static func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }

    public static let csvHeader = "metric,flops_basis,model,k,flops,versus,versus_k_low,versus_k_high,weight_high,accuracy,versus_accuracy,delta,delta_lower,delta_upper,problems,excludes_zero"

    public var csvRow: String {
        String(format: "%@,%@,%@,%d,%.4g,%@,%d,%d,%.4f,%.4f,%.4f,%+.4f,%+.4f,%+.4f,%d,%@", metric.rawValue, basis.rawValue, model, k, flops, versus,
               versusLowK, versusHighK, weight, accuracy, versusAccuracy, delta.mean, delta.lower, delta.upper, delta.problems,
               delta.excludesZero ? "true" : "false")
    }
}
