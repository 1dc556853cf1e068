import Foundation

/// How coverage (pass@k) grows with k, read two ways:
///
/// - **Brown et al. (2024), "Large Language Monkeys"**: coverage(k) = exp(a·k^b), i.e.
///   −log coverage is a power law in k (a < 0, and b < 0 when coverage tends to 1). Fitted by
///   least squares of log(−log c) on log k over the ks with 0 < c < 1, which recovers a and b
///   exactly from data of that form.
/// - **i.i.d. saturation**: every problem has the same success rate p (the mean pass@1), so
///   coverage(k) = 1 − (1 − p)^k. By Jensen's inequality any spread in per-problem success rates
///   puts the true curve *below* this one, so the gap iid(k) − observed(k) measures how
///   heterogeneous the problems are; Schaeffer et al. (2025) show that a power law in −log
///   coverage needs a heavy left tail of per-problem success rates. When the i.i.d. curve already
///   fits, the data cannot tell a power law from plain saturation.
///
/// With per-problem values, both are bootstrapped over problems (one set of resamples for all
/// ks, so the gap at each k is a paired difference).
public struct CoverageFit: Codable, Equatable, Sendable {
    public struct Point: Codable, Equatable, Sendable {
        public var k: Int
        /// Mean pass@k over problems.
        public var observed: Double
        /// exp(a·k^b).
        public var brown: Double
        /// 1 − (1 − p)^k.
        public var iid: Double
        /// iid − observed with its bootstrap interval (nil without resamples); an interval above
        /// zero is evidence of heterogeneous problem difficulty.
        public var iidGap: Estimate?

        enum CodingKeys: String, CodingKey { case k, observed, brown, iid, iidGap = "iid_gap" }
    }

    /// Brown et al.'s parameters.
    public var a: Double
    public var b: Double
    /// Bootstrap percentile intervals of a and b, [lower, upper] (nil without resamples).
    public var aInterval: [Double]?
    public var bInterval: [Double]?
    /// The single success rate of the i.i.d. prediction (mean pass@1).
    public var p: Double
    public var points: [Point]
    /// max over k of |exp(a·k^b) − observed| and of |1 − (1 − p)^k − observed|.
    public var brownMaxDeviation: Double
    public var iidMaxDeviation: Double
    public var problems: Int

    enum CodingKeys: String, CodingKey {
        case a, b, p, points, problems
        case aInterval = "a_interval", bInterval = "b_interval"
        case brownMaxDeviation = "brown_max_deviation", iidMaxDeviation = "iid_max_deviation"
    }

    /// Least squares of log(−log c) = log(−a) + b·log k over the points with 0 < c < 1; nil with
    /// fewer than two such points at distinct k.
    public static func brownFit(ks: [Int], coverage: [Double]) -> (a: Double, b: Double)? {
        let usable = zip(ks, coverage).filter { $0.0 >= 1 && $0.1 > 0 && $0.1 < 1 }
        guard Set(usable.map(\.0)).count >= 2 else { return nil }
        guard let line = ScalingFit.powerLaw(usable.map { (x: Double($0.0), y: -log($0.1)) }) else { return nil }
        // −log c = C·k^b  ⇒  a = −C.
        return (-line.coefficient, line.exponent)
    }

    /// 1 − (1 − p)^k.
    public static func iid(p: Double, k: Int) -> Double { 1 - pow(1 - p, Double(k)) }

    /// Fits the mean curve of `perProblem[j]` (pass@ks[j] of each problem, the same problems in
    /// the same order for every k; ks must include 1 for the i.i.d. prediction). Nil when the
    /// Brown form cannot be fitted (fewer than two ks with coverage strictly between 0 and 1).
    public static func fit(ks: [Int], perProblem: [[Double]], resamples: Int = 1000, confidence: Double = 0.95,
                           seed: UInt64 = 0) -> CoverageFit? {
        guard ks.count == perProblem.count, let one = ks.firstIndex(of: 1),
              let count = perProblem.first?.count, count > 0, perProblem.allSatisfy({ $0.count == count }) else { return nil }
        func curve(_ indices: [Int]?) -> [Double] {
            perProblem.map { values in
                guard let indices else { return values.reduce(0, +) / Double(values.count) }
                return indices.reduce(0) { $0 + values[$1] } / Double(indices.count)
            }
        }
        let observed = curve(nil)
        guard let brown = brownFit(ks: ks, coverage: observed) else { return nil }
        let p = observed[one]
        var points = zip(ks, observed).map { k, c in
            Point(k: k, observed: c, brown: exp(brown.a * pow(Double(k), brown.b)), iid: iid(p: p, k: k), iidGap: nil)
        }
        var aInterval: [Double]?, bInterval: [Double]?
        if resamples > 0 {
            var aValues: [Double] = [], bValues: [Double] = []
            var gaps = [[Double]](repeating: [], count: ks.count)
            for indices in bootstrapResamples(count: count, resamples: resamples, seed: seed, label: "coverage-fit") {
                let c = curve(indices)
                if let f = brownFit(ks: ks, coverage: c) { aValues.append(f.a); bValues.append(f.b) }
                for j in ks.indices { gaps[j].append(iid(p: c[one], k: ks[j]) - c[j]) }
            }
            aInterval = percentileInterval(aValues, confidence: confidence).map { [$0.lower, $0.upper] }
            bInterval = percentileInterval(bValues, confidence: confidence).map { [$0.lower, $0.upper] }
            for j in points.indices {
                if let g = percentileInterval(gaps[j], confidence: confidence) {
                    points[j].iidGap = Estimate(mean: points[j].iid - points[j].observed, lower: g.lower, upper: g.upper, problems: count)
                }
            }
        }
        return CoverageFit(a: brown.a, b: brown.b, aInterval: aInterval, bInterval: bInterval, p: p, points: points,
                           brownMaxDeviation: points.map { abs($0.brown - $0.observed) }.max() ?? 0,
                           iidMaxDeviation: points.map { abs($0.iid - $0.observed) }.max() ?? 0, problems: count)
    }
}
