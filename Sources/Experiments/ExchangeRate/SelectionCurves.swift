import Foundation
import LlamaCore

/// Expected accuracy of each selection rule on one problem when k samples are drawn without
/// replacement from its n, for every k of a list: the unbiased estimate from the n samples.
/// Oracle and verifier are exact (a hypergeometric sum); majority is a Monte Carlo average.
public enum SelectionCurves {
    /// The rules the exchange-rate experiment compares (`SelectionRule`'s oracle, majority vote and verifier).
    public static let rules: [SelectionRule] = [.oracle, .majorityVote, .verifier]

    /// C(n − a, k) / C(n, k): the chance that k draws from n miss a given a samples.
    static func missProbability(n: Int, a: Int, k: Int) -> Double {
        guard a > 0 else { return 1 }
        guard n - a >= k else { return 0 }
        return exp(lgamma(Double(n - a + 1)) - lgamma(Double(n - a - k + 1)) - lgamma(Double(n + 1)) + lgamma(Double(n - k + 1)))
    }

    /// pass@k: 1 − C(n − c, k)/C(n, k) (Chen et al. 2021).
    public static func oracle(_ tally: ProblemTally, k: Int) -> Double { 1 - missProbability(n: tally.n, a: tally.correctCount, k: k) }

    /// The verifier picks the highest-scored of the k drawn. Going down the answers in score
    /// order, answer j is picked when none above it was drawn and it was:
    /// C(n − A_j, k)/C(n, k) − C(n − A_j − c_j, k)/C(n, k), with A_j the samples above it.
    /// Equal scores keep the tally's order; answers without an integer (no score) come last.
    public static func verifier(_ tally: ProblemTally, scores: [Double?], k: Int) -> Double {
        guard tally.correctCount > 0 else { return 0 }
        precondition(scores.count == tally.answers.count, "the scores must be aligned with the tally's answers")
        let order = tally.answers.indices.sorted { i, j in
            switch (scores[i], scores[j]) {
            case let (a?, b?): return a != b ? a > b : i < j
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return i < j
            }
        }
        var above = 0, p = 0.0
        for i in order {
            let c = tally.answers[i].count
            if tally.answers[i].correct {
                p += missProbability(n: tally.n, a: above, k: k) - missProbability(n: tally.n, a: above + c, k: k)
            }
            above += c
        }
        return p
    }

    /// Majority vote over `trials` random k-subsets. Samples are grouped by their integer
    /// (" 579" and "579" vote together); those without one do not vote; if no sample of the
    /// subset votes, the answer is wrong.
    public static func majority(_ tally: ProblemTally, k: Int, trials: Int, rng: inout SeededRandom) -> Double {
        let c = tally.correctCount
        guard c > 0 else { return 0 }
        if k == 1 { return Double(c) / Double(tally.n) }
        // One entry per sample: the index of its integer (−1: no integer), and whether it is right.
        var groupOf: [String: Int] = [:]
        var rightGroup = -1
        var pool: [Int] = []
        pool.reserveCapacity(tally.n)
        for a in tally.answers {
            var g = -1
            if let answer = a.answer {
                let key = AnswerText.canonicalInteger(AnswerText.removingThousandsSeparators(answer)) ?? answer
                g = groupOf[key] ?? groupOf.count
                groupOf[key] = g
                if a.correct { rightGroup = g }
            }
            pool.append(contentsOf: repeatElement(g, count: a.count))
        }
        var votes = [Int](repeating: 0, count: groupOf.count)
        var wins = 0.0
        for _ in 0..<trials {
            for i in votes.indices { votes[i] = 0 }
            // Partial Fisher–Yates: the first k of a random permutation.
            for i in 0..<k {
                let j = i + rng.nextInt(below: pool.count - i)
                pool.swapAt(i, j)
                if pool[i] >= 0 { votes[pool[i]] += 1 }
            }
            let top = votes.max() ?? 0
            guard top > 0, votes[rightGroup] == top else { continue }
            wins += 1 / Double(votes.lazy.filter { $0 == top }.count)
        }
        return wins / Double(trials)
    }
}
