import LlamaCore
import XCTest
@testable import Experiments

func sample(_ index: Int, problem: Int = 0, answer: String?, correct: Bool, logprob: Double = -1, tokens: Int = 1) -> Sample {
    Sample(problem: problem, index: index, tokens: Array(repeating: 7, count: tokens), text: answer ?? "",
           answer: answer, correct: correct, logprob: logprob)
}

final class PassAtKTests: XCTestCase {
    func testHandComputedValues() throws {
        XCTAssertEqual(try passAtK(n: 5, c: 2, k: 2), 0.7, accuracy: 1e-12)          // 1 − C(3,2)/C(5,2) = 1 − 3/10
        XCTAssertEqual(try passAtK(n: 4, c: 1, k: 2), 0.5, accuracy: 1e-12)          // 1 − 3/6
        XCTAssertEqual(try passAtK(n: 10, c: 3, k: 5), 1 - 21.0 / 252, accuracy: 1e-12)
        XCTAssertEqual(try passAtK(n: 10, c: 1, k: 1), 0.1, accuracy: 1e-12)         // k = 1 is c/n
        XCTAssertEqual(try passAtK(n: 7, c: 3, k: 1), 3.0 / 7, accuracy: 1e-12)
    }

    func testEdgeCases() throws {
        XCTAssertEqual(try passAtK(n: 5, c: 0, k: 3), 0)
        XCTAssertEqual(try passAtK(n: 5, c: 5, k: 1), 1)
        XCTAssertEqual(try passAtK(n: 5, c: 1, k: 5), 1)       // k = n: the full set holds the correct one
        XCTAssertEqual(try passAtK(n: 5, c: 0, k: 5), 0)
        XCTAssertEqual(try passAtK(n: 5, c: 3, k: 3), 1)       // n − c < k
        XCTAssertEqual(try passAtK(n: 1, c: 1, k: 1), 1)
        // Large n stays finite and accurate where C(n, k) would overflow.
        XCTAssertEqual(try passAtK(n: 10_000, c: 1, k: 100), 0.01, accuracy: 1e-12)
    }

    func testInvalidArgumentsThrow() {
        XCTAssertThrowsError(try passAtK(n: 5, c: 1, k: 6))
        XCTAssertThrowsError(try passAtK(n: 5, c: 1, k: 0))
        XCTAssertThrowsError(try passAtK(n: 5, c: 6, k: 1))
        XCTAssertThrowsError(try passAtK(n: 5, c: -1, k: 1))
        XCTAssertThrowsError(try passAtK(n: 0, c: 0, k: 1))
    }

    func testBinomial() {
        XCTAssertEqual(binomial(5, 2, limit: 100), 10)
        XCTAssertEqual(binomial(10, 5, limit: 1000), 252)
        XCTAssertNil(binomial(64, 32, limit: 1000))
        XCTAssertNil(binomial(1000, 500, limit: Int.max))   // overflow, not a trap
        var count = 0
        forEachCombination(n: 5, k: 3) { c in XCTAssertEqual(c, c.sorted()); count += 1 }
        XCTAssertEqual(count, 10)
    }
}

final class SelectionTests: XCTestCase {
    func testMeanAndTotalLogprob() {
        let s = [sample(0, answer: "a", correct: false, logprob: -4, tokens: 2),   // mean −2
                 sample(1, answer: "b", correct: true, logprob: -3, tokens: 6),    // mean −0.5
                 sample(2, answer: "c", correct: false, logprob: -1, tokens: 1)]   // mean −1
        XCTAssertEqual(select(.meanLogprob, from: s)?.index, 1)
        XCTAssertEqual(select(.totalLogprob, from: s)?.index, 2)
        XCTAssertEqual(sample(0, answer: nil, correct: false, logprob: -3, tokens: 0).meanLogprob, -3)  // no division by 0
    }

    func testLogprobTiesGoToTheLowestIndex() {
        let s = [sample(3, answer: "x", correct: false, logprob: -1), sample(1, answer: "y", correct: true, logprob: -1),
                 sample(2, answer: "z", correct: false, logprob: -1)]
        XCTAssertEqual(select(.meanLogprob, from: s)?.index, 1)
        XCTAssertEqual(select(.totalLogprob, from: s.reversed())?.index, 1)
        let nan = [sample(0, answer: "x", correct: false, logprob: .nan), sample(1, answer: "y", correct: true, logprob: -50)]
        XCTAssertEqual(select(.totalLogprob, from: nan)?.index, 1)
    }

    func testMajorityVoteTieBreaksByEarliestSample() {
        // A and B both have two votes; A appears first (index 0), so A wins whatever the input order.
        let s = [sample(0, answer: "A", correct: true), sample(1, answer: "B", correct: false),
                 sample(2, answer: "B", correct: false), sample(3, answer: "A", correct: true),
                 sample(4, answer: nil, correct: false), sample(5, answer: nil, correct: false)]
        XCTAssertEqual(select(.majorityVote, from: s)?.index, 0)
        XCTAssertEqual(select(.majorityVote, from: s.reversed())?.index, 0)
        XCTAssertEqual(select(.majorityVote, from: [s[1], s[2], s[3], s[4], s[5]])?.answer, "B")   // B: 2, A: 1
        // Samples without an answer do not vote, even when they are the majority.
        XCTAssertEqual(select(.majorityVote, from: [s[4], s[5], s[3]])?.index, 3)
        // When none has an answer they form one cluster: the earliest is chosen, so one sample is
        // always its own choice (a HumanEval program with no docstring examples can still pass).
        XCTAssertEqual(select(.majorityVote, from: [s[5], s[4]])?.index, 4)
        XCTAssertEqual(select(.weightedVote, from: [s[5], s[4]])?.index, 4)
        let lone = sample(7, answer: nil, correct: true)
        for rule in SelectionRule.allCases { XCTAssertEqual(select(rule, from: [lone])?.index, 7, rule.rawValue) }
        XCTAssertNil(select(.majorityVote, from: []))
    }

    func testWeightedVote() {
        // B has two votes of weight e^−3 each; A has one of weight e^−0.1: A wins.
        let s = [sample(0, answer: "B", correct: false, logprob: -3), sample(1, answer: "A", correct: true, logprob: -0.1),
                 sample(2, answer: "B", correct: false, logprob: -3)]
        XCTAssertEqual(select(.weightedVote, from: s)?.answer, "A")
        XCTAssertEqual(select(.majorityVote, from: s)?.answer, "B")
        // Equal weights: earliest first appearance wins.
        let tie = [sample(0, answer: "C", correct: false, logprob: -1), sample(1, answer: "D", correct: true, logprob: -1)]
        XCTAssertEqual(select(.weightedVote, from: tie.reversed())?.answer, "C")
    }

    func testOracleAndVerifier() {
        let s = [sample(0, answer: "a", correct: false, logprob: -0.1), sample(1, answer: "b", correct: true, logprob: -9),
                 sample(2, answer: "c", correct: false, logprob: -5)]
        XCTAssertEqual(select(.oracle, from: s)?.index, 1)
        XCTAssertEqual(select(.oracle, from: [s[0], s[2]])?.correct, false)
        XCTAssertEqual(select(.verifier, from: s)?.index, 1)                  // default: the task's checker
        XCTAssertEqual(select(.verifier, from: s, score: { -Double($0.index) })?.index, 0)
        XCTAssertEqual(select(.verifier, from: s, score: { _ in 1 })?.index, 0)   // ties → lowest index
    }

    func testAccuracyEnumeratesSmallSubsetsExactly() throws {
        // k = 2 of 4: the 6 pairs {01 02 03 12 13 23}: A wins {01 02 03} (tie A/B at 01 → A first).
        let s = [sample(0, answer: "A", correct: true), sample(1, answer: "B", correct: false),
                 sample(2, answer: "B", correct: false), sample(3, answer: "C", correct: false)]
        XCTAssertEqual(try accuracy(.majorityVote, samples: s, k: 2, seed: 0), 0.5, accuracy: 1e-12)
        XCTAssertEqual(try accuracy(.majorityVote, samples: s, k: 4, seed: 0), 0)          // full set: B wins
        XCTAssertEqual(try accuracy(.majorityVote, samples: s, k: 1, seed: 0), 0.25, accuracy: 1e-12)
        XCTAssertEqual(try accuracy(.oracle, samples: s, k: 2, seed: 0), try passAtK(n: 4, c: 1, k: 2))
        XCTAssertEqual(try accuracy(.majorityVote, samples: s.reversed(), k: 2, seed: 99), 0.5, accuracy: 1e-12)
    }

    func testSampledAccuracyIsDeterministicAndClose() throws {
        var rng = SeededRandom(seed: 3)
        let s = (0..<12).map { i -> Sample in
            let answer = ["1", "2", "3"][rng.nextInt(below: 3)]
            return sample(i, problem: 5, answer: answer, correct: answer == "1", logprob: -rng.nextDouble() * 5, tokens: 1 + rng.nextInt(below: 9))
        }
        for rule in SelectionRule.allCases {
            let exact = try accuracy(rule, samples: s, k: 4, seed: 1, maxSubsets: 495)   // C(12,4) = 495: enumerated
            let sampled = try accuracy(rule, samples: s, k: 4, seed: 1, maxSubsets: 64)
            XCTAssertEqual(sampled, try accuracy(rule, samples: s.shuffled(), k: 4, seed: 1, maxSubsets: 64), "\(rule)")
            XCTAssertEqual(sampled, exact, accuracy: 0.2, "\(rule)")
        }
    }

    func testAccuracyArgumentErrors() {
        let s = [sample(0, answer: "A", correct: true)]
        XCTAssertThrowsError(try accuracy(.majorityVote, samples: s, k: 2, seed: 0))
        XCTAssertThrowsError(try accuracy(.majorityVote, samples: s, k: 0, seed: 0))
        XCTAssertThrowsError(try accuracy(.majorityVote, samples: [], k: 1, seed: 0))
        XCTAssertThrowsError(try accuracy(.majorityVote, samples: s, k: 1, seed: 0, maxSubsets: 0))
    }

    func testRuleNames() {
        XCTAssertEqual(SelectionRule(rawValue: "majority_vote"), .majorityVote)
        XCTAssertEqual(Set(SelectionRule.allCases.map(\.rawValue)).count, 6)
    }
}

final class BootstrapTests: XCTestCase {
    func testConstantValuesGiveAPointInterval() throws {
        let e = try bootstrap(Array(repeating: 0.25, count: 10), seed: 1)
        XCTAssertEqual(e, Estimate(mean: 0.25, lower: 0.25, upper: 0.25, problems: 10))
    }

    func testIntervalCoversTheMeanAndIsDeterministic() throws {
        let values = (0..<400).map { Double($0 % 2) }
        let e = try bootstrap(values, resamples: 1000, confidence: 0.95, seed: 7)
        XCTAssertEqual(e.mean, 0.5)
        // Standard error √(0.25/400) = 0.025, so the 95% interval is about ±0.049.
        XCTAssertEqual(e.lower, 0.451, accuracy: 0.015)
        XCTAssertEqual(e.upper, 0.549, accuracy: 0.015)
        XCTAssertEqual(e, try bootstrap(values, resamples: 1000, confidence: 0.95, seed: 7))
        XCTAssertNotEqual(e, try bootstrap(values, resamples: 1000, confidence: 0.95, seed: 8))
        let narrow = try bootstrap(values, resamples: 1000, confidence: 0.5, seed: 7)
        XCTAssertLessThan(narrow.upper - narrow.lower, e.upper - e.lower)
    }

    func testQuantileInterpolates() {
        XCTAssertEqual(quantile([1, 2, 3, 4], 0.5), 2.5)
        XCTAssertEqual(quantile([1, 2, 3, 4], 0), 1)
        XCTAssertEqual(quantile([1, 2, 3, 4], 1), 4)
        XCTAssertEqual(quantile([5], 0.3), 5)
    }

    func testErrors() {
        XCTAssertThrowsError(try bootstrap([], seed: 0))
        XCTAssertThrowsError(try bootstrap([1], resamples: 0, seed: 0))
        XCTAssertThrowsError(try bootstrap([1], confidence: 1, seed: 0))
    }
}

final class ComputeCostTests: XCTestCase {
    func testHandComputedFlops() {
        let m = ModelShape(parameters: 100, layers: 2, attentionWidth: 4)
        XCTAssertEqual(m.flopsPerToken(context: 3), 200 + 2 * 2 * 3 * 4 * 2)
        // 4·layers·width = 32 per attended position. Prompt of 3 (contexts 1, 2, 3):
        // 3·200 + 32·6 = 792; a 2-token sample after it (contexts 4, 5): 2·200 + 32·9 = 688.
        let cost = ComputeCost.forProblem(promptTokens: 3, sampleLengths: [2], seconds: 4, model: m)
        XCTAssertEqual(cost.flops, 1480)
        XCTAssertEqual(cost.promptTokens, 3)
        XCTAssertEqual(cost.generatedTokens, 2)
        XCTAssertEqual(cost.tokensPerSecond, 0.5)
        XCTAssertNil(ComputeCost.forProblem(promptTokens: 3, sampleLengths: [2], model: nil).flops)
    }

    func testClosedFormMatchesTheSum() {
        let m = ModelShape(parameters: 1_100_000_000, layers: 22, attentionWidth: 2048)
        let sum = (17..<17 + 50).reduce(0.0) { $0 + m.flopsPerToken(context: $1 + 1) }
        XCTAssertEqual(m.flops(positions: 17, count: 50), sum, accuracy: sum * 1e-12)
        XCTAssertEqual(m.flops(positions: 5, count: 0), 0)
    }

    func testPromptCountedOncePerProblem() {
        let m = ModelShape(parameters: 10, layers: 1, attentionWidth: 1)
        let one = ComputeCost.forProblem(promptTokens: 8, sampleLengths: [4], model: m)
        let four = ComputeCost.forProblem(promptTokens: 8, sampleLengths: [4, 4, 4, 4], model: m)
        XCTAssertEqual(four.promptTokens, 8)
        XCTAssertEqual(four.flops! - one.flops!, 3 * m.flops(positions: 8, count: 4), accuracy: 1e-9)
        let total = one + four
        XCTAssertEqual(total.promptTokens, 16)
        XCTAssertEqual(total.generatedTokens, 20)
    }
}
