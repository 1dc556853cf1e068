import LlamaCore
import Foundation

/// How one answer is chosen from a problem's samples (best-of-N).
public enum SelectionRule: String, CaseIterable, Codable, Sendable {
    /// Highest mean token log-probability (OpenAI's `best_of`).
    case meanLogprob = "mean_logprob"
    /// Highest total log-probability (favours short answers).
    case totalLogprob = "total_logprob"
    /// Most frequent extracted answer (self-consistency, Wang et al. 2022); samples without an
    /// answer do not vote.
    case majorityVote = "majority_vote"
    /// Extracted answer with the largest Σ exp(mean logprob).
    case weightedVote = "weighted_vote"
    /// Correct if any sample is correct: coverage, an upper bound for every other rule.
    case oracle
    /// Highest score from a caller-supplied verifier (by default the task's own checker, which
    /// makes it equal to `oracle`).
    case verifier

    /// The rules that need nothing beyond the samples themselves.
    public static let standard: [SelectionRule] = [.meanLogprob, .totalLogprob, .majorityVote, .weightedVote, .oracle]
}

/// A verifier's score for a sample; higher is better.
public typealias SampleScore = (Sample) -> Double

/// The task's exact checker used as a verifier.
public let exactVerifierScore: SampleScore = { $0.correct ? 1 : 0 }

/// The sample chosen by `rule` among `samples` (nil only if there are none). Ties always go to
/// the lowest sample index, so the choice does not depend on the order of `samples`. For votes
/// the chosen sample is the earliest one carrying the winning answer (all samples with one answer
/// are equally right or wrong); when no sample has an answer (a HumanEval problem whose docstring
/// gives no example calls, or programs that raise on every example) all samples form one cluster
/// and the earliest is chosen, as for a tie — so with one sample every rule is that sample.
public func select(_ rule: SelectionRule, from samples: [Sample], score: SampleScore = exactVerifierScore) -> Sample? {
    let ordered = samples.sorted { $0.index < $1.index }
    switch rule {
    case .meanLogprob: return highestScoring(ordered) { $0.meanLogprob }
    case .totalLogprob: return highestScoring(ordered) { $0.logprob }
    case .verifier: return highestScoring(ordered, score)
    case .oracle: return ordered.first(where: \.correct) ?? ordered.first
    case .majorityVote: return vote(ordered) { _ in 1 } ?? ordered.first
    case .weightedVote: return vote(ordered) { exp($0.meanLogprob) } ?? ordered.first
    }
}

/// First sample with the largest key; NaN counts as the lowest value.
private func highestScoring(_ ordered: [Sample], _ key: (Sample) -> Double) -> Sample? {
    var best: Sample?
    var bestKey = -Double.infinity
    for s in ordered {
        var k = key(s)
        if k.isNaN { k = -.infinity }
        if best == nil || k > bestKey { best = s; bestKey = k }
    }
    return best
}

/// Sums `weight` per extracted answer and returns the earliest sample of the heaviest answer;
/// among answers of equal weight, the one that appeared first wins.
private func vote(_ ordered: [Sample], _ weight: (Sample) -> Double) -> Sample? {
    var totals: [String: Double] = [:]
    var firstSample: [String: Sample] = [:]
    var order: [String] = []
    for s in ordered {
        guard let answer = s.answer else { continue }
        if firstSample[answer] == nil { firstSample[answer] = s; order.append(answer) }
        let w = weight(s)
        totals[answer, default: 0] += w.isNaN ? 0 : w
    }
    // Strictly greater replaces, so among equal totals the answer seen first stays.
    var best: (answer: String, total: Double)?
    for answer in order {
        let total = totals[answer] ?? 0
        if best == nil || total > best!.total { best = (answer, total) }
    }
    return best.flatMap { firstSample[$0.answer] }
}

/// Expected accuracy of `rule` when only k of a problem's n samples had been drawn: the mean
/// over k-subsets of "the chosen sample is correct".
///
/// Exact when cheap: `oracle` is pass@k; when C(n, k) ≤ `maxSubsets` every subset is
/// enumerated; k == n is just the full set. Otherwise the mean over `maxSubsets` random
/// k-subsets, drawn from a generator seeded by (seed, problem id, k) only, so the value does not
/// depend on sample order or sharding, and every rule sees the same subsets.
public func accuracy(_ rule: SelectionRule, samples: [Sample], k: Int, seed: UInt64,
                     maxSubsets: Int = 64, score: SampleScore = exactVerifierScore) throws -> Double {
    let n = samples.count
    guard n >= 1 else { throw ExperimentError.invalidMetricArguments("accuracy needs at least one sample") }
    guard k >= 1, k <= n else { throw ExperimentError.invalidMetricArguments("accuracy needs 1 ≤ k ≤ n, got k = \(k), n = \(n)") }
    guard maxSubsets >= 1 else { throw ExperimentError.invalidMetricArguments("maxSubsets must be at least 1, got \(maxSubsets)") }
    let ordered = samples.sorted { $0.index < $1.index }
    if rule == .oracle { return try passAtK(n: n, c: ordered.filter(\.correct).count, k: k) }
    func correct(_ subset: [Int]) -> Double {
        select(rule, from: subset.map { ordered[$0] }, score: score)?.correct == true ? 1 : 0
    }
    if k == n { return correct(Array(0..<n)) }
    if let total = binomial(n, k, limit: maxSubsets) {
        var sum = 0.0
        forEachCombination(n: n, k: k) { sum += correct($0) }
        return sum / Double(total)
    }
    var rng = SeededRandom(seed: seed, label: "selection-subsets", UInt64(truncatingIfNeeded: ordered[0].problem), UInt64(k))
    var sum = 0.0
    for _ in 0..<maxSubsets { sum += correct(rng.subset(of: n, size: k)) }
    return sum / Double(maxSubsets)
}

/// Calls `body` with every k-subset of 0..<n in lexicographic order.
func forEachCombination(n: Int, k: Int, _ body: ([Int]) -> Void) {
    var c = Array(0..<k)
    while true {
        body(c)
        // Find the rightmost position that can still move right.
        var i = k - 1
        while i >= 0, c[i] == n - k + i { i -= 1 }
        if i < 0 { return }
        c[i] += 1
        for j in (i + 1)..<k { c[j] = c[j - 1] + 1 }
    }
}
