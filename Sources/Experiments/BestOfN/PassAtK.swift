import Foundation

/// The unbiased pass@k estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained
/// on Code"): with n samples of which c are correct, the probability that a random k-subset
/// contains at least one correct sample,
///
///     pass@k = 1 − C(n−c, k) / C(n, k)
///
/// The binomials overflow quickly, so we use the product form
/// C(n−c, k)/C(n, k) = Π_{i=n−c+1}^{n} (1 − k/i), which is 1 − (that product), and exactly 1
/// when fewer than k samples are wrong (every k-subset holds a correct one).
public func passAtK(n: Int, c: Int, k: Int) throws -> Double {
    guard n >= 1 else { throw ExperimentError.invalidMetricArguments("pass@k needs at least one sample, got n = \(n)") }
    guard k >= 1, k <= n else { throw ExperimentError.invalidMetricArguments("pass@k needs 1 ≤ k ≤ n, got k = \(k), n = \(n)") }
    guard c >= 0, c <= n else { throw ExperimentError.invalidMetricArguments("pass@k needs 0 ≤ c ≤ n, got c = \(c), n = \(n)") }
    if n - c < k { return 1 }
    var allWrong = 1.0
    for i in (n - c + 1)..<(n + 1) {
        allWrong *= 1 - Double(k) / Double(i)
    }
    return 1 - allWrong
}

/// C(n, k), or nil when it exceeds `limit` (used to decide whether enumerating every k-subset
/// is cheap).
func binomial(_ n: Int, _ k: Int, limit: Int) -> Int? {
    guard k >= 0, k <= n else { return 0 }
    let k = min(k, n - k)
    var result = 1
    for i in 0..<k {
        // result * (n − i) / (i + 1) stays an integer at every step.
        let (m, o) = result.multipliedReportingOverflow(by: n - i)
        if o { return nil }
        result = m / (i + 1)
        if result > limit { return nil }
    }
    return result
}
