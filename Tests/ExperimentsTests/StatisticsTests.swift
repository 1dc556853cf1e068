import LlamaCore
import XCTest
@testable import Experiments

/// Paired bootstrap, the coverage fit and compute-matched differences, each against a case
/// whose answer is known.
final class PairedBootstrapTests: XCTestCase {
    func testIdenticalArmsGiveZero() throws {
        let a = (0..<100).map { Double($0 % 7) / 7 }
        let d = try pairedBootstrap(a, a, resamples: 500, seed: 1)
        XCTAssertEqual(d.mean, 0)
        XCTAssertLessThanOrEqual(d.lower, 0)
        XCTAssertGreaterThanOrEqual(d.upper, 0)
        XCTAssertFalse(d.excludesZero)
    }

    /// Problems vary a lot (difficulty from 0 to 1) and B is A minus 0.05 on every problem:
    /// the unpaired intervals overlap, the paired one is exactly the shift.
    func testAShiftIsSignificantOnlyWhenPaired() throws {
        var rng = SeededRandom(seed: 3, label: "paired-test")
        let a = (0..<200).map { _ in rng.nextDouble() }
        let b = a.map { $0 - 0.05 }
        let paired = try pairedBootstrap(a, b, resamples: 500, seed: 2)
        XCTAssertEqual(paired.mean, 0.05, accuracy: 1e-12)
        XCTAssertTrue(paired.excludesZero)
        let ia = try bootstrap(a, resamples: 500, seed: 2), ib = try bootstrap(b, resamples: 500, seed: 2)
        XCTAssertLessThan(ia.lower, ib.upper, "the unpaired intervals overlap")
        // A noisy shift of 0.1 is still found, and its interval covers 0.1.
        let c = a.map { $0 - 0.1 + 0.05 * (rng.nextDouble() - 0.5) }
        let noisy = try pairedBootstrap(a, c, resamples: 1000, seed: 4)
        XCTAssertTrue(noisy.excludesZero)
        XCTAssertLessThan(noisy.lower, 0.1)
        XCTAssertGreaterThan(noisy.upper, 0.1)
        XCTAssertThrowsError(try pairedBootstrap([1, 2], [1], seed: 0))
    }
}

final class CoverageFitTests: XCTestCase {
    /// Every problem's pass@k equal to exp(a·k^b): the fit returns a and b.
    func testRecoversBrownParameters() throws {
        let ks = [1, 2, 4, 8, 16, 32]
        let (a, b) = (-2.1, -0.35)
        let perProblem = ks.map { k in [Double](repeating: exp(a * pow(Double(k), b)), count: 10) }
        let fit = try XCTUnwrap(CoverageFit.fit(ks: ks, perProblem: perProblem, resamples: 20, seed: 1))
        XCTAssertEqual(fit.a, a, accuracy: 1e-9)
        XCTAssertEqual(fit.b, b, accuracy: 1e-9)
        XCTAssertLessThan(fit.brownMaxDeviation, 1e-9)
        XCTAssertEqual(fit.aInterval?[0] ?? .nan, a, accuracy: 1e-9)   // no spread across problems, no spread in a
        XCTAssertEqual(fit.p, exp(a), accuracy: 1e-12)
    }

    /// Every problem with the same success rate p: coverage is exactly 1 − (1 − p)^k, the i.i.d.
    /// deviation is zero and so is its interval; the Brown form is then only approximate.
    func testIdenticalProblemsMatchTheIIDPrediction() throws {
        let ks = [1, 2, 4, 8, 16], p = 0.12
        let perProblem = ks.map { k in [Double](repeating: 1 - pow(1 - p, Double(k)), count: 50) }
        let fit = try XCTUnwrap(CoverageFit.fit(ks: ks, perProblem: perProblem, resamples: 50, seed: 2))
        XCTAssertLessThan(fit.iidMaxDeviation, 1e-12)
        let gap = try XCTUnwrap(fit.points.last?.iidGap)
        XCTAssertEqual(gap.lower, 0, accuracy: 1e-12)   // zero up to rounding: no heterogeneity to find
        XCTAssertEqual(gap.upper, 0, accuracy: 1e-12)
        XCTAssertGreaterThan(fit.brownMaxDeviation, 1e-3, "1 − (1 − p)^k is not of the form exp(a·k^b)")
    }

    /// Half the problems easy (p = 0.9), half hard (p = 0.01): coverage falls clearly below the
    /// i.i.d. curve of the mean rate, and the paired gap's interval excludes zero.
    func testHeterogeneousProblemsFallBelowTheIIDCurve() throws {
        let ks = [1, 2, 4, 8, 16]
        let rates = (0..<200).map { $0 % 2 == 0 ? 0.9 : 0.01 }
        let perProblem = ks.map { k in rates.map { 1 - pow(1 - $0, Double(k)) } }
        let fit = try XCTUnwrap(CoverageFit.fit(ks: ks, perProblem: perProblem, resamples: 300, seed: 3))
        XCTAssertEqual(fit.p, 0.455, accuracy: 1e-12)
        let last = try XCTUnwrap(fit.points.last)
        XCTAssertEqual(last.iid - last.observed, CoverageFit.iid(p: 0.455, k: 16) - (0.5 + 0.5 * (1 - pow(0.99, 16))), accuracy: 1e-12)
        XCTAssertGreaterThan(fit.iidMaxDeviation, 0.3)
        XCTAssertTrue(try XCTUnwrap(last.iidGap).excludesZero)
    }

    func testTooFewUsablePointsGiveNoFit() {
        XCTAssertNil(CoverageFit.fit(ks: [1, 2], perProblem: [[1, 1], [1, 1]]))   // coverage 1 everywhere
        XCTAssertNil(CoverageFit.fit(ks: [2, 4], perProblem: [[0.5], [0.7]]))     // no k = 1 for the i.i.d. rate
    }

    func testSummaryCarriesTheCoverageFit() throws {
        // 20 problems × 8 samples; problem i has i % 4 + 1 correct samples.
        var samples: [Sample] = []
        for p in 0..<20 { for s in 0..<8 { samples.append(sample(s, problem: p, answer: s <= p % 4 ? "1" : "2", correct: s <= p % 4)) } }
        var parameters = runParameters(problems: 20, n: 8)
        parameters.ks = [1, 2, 4, 8]
        let summary = try Summary.compute(samples: samples, parameters: parameters, options: SummaryOptions(bootstrapResamples: 50))
        let fit = try XCTUnwrap(summary.coverageFit)
        XCTAssertEqual(fit.p, try XCTUnwrap(summary.passAtK["1"]).mean, accuracy: 1e-12)
        XCTAssertEqual(fit.points.map(\.k), [1, 2, 4, 8])
        // Decodes from JSON, and a summary written before the field existed still decodes.
        let decoded = try JSONDecoder().decode(Summary.self, from: try summary.jsonData())
        XCTAssertEqual(decoded, summary)
        var old = try XCTUnwrap(JSONSerialization.jsonObject(with: try summary.jsonData()) as? [String: Any])
        old["coverage_fit"] = nil
        XCTAssertNil(try JSONDecoder().decode(Summary.self, from: try JSONSerialization.data(withJSONObject: old)).coverageFit)
    }
}

final class MatchedDifferenceTests: XCTestCase {
    func testBracketInterpolatesInLogFlops() throws {
        let points = [(k: 1, flops: 100.0), (k: 2, flops: 200.0), (k: 4, flops: 400.0)]
        let b = try XCTUnwrap(MatchedDifference.bracket(283.0, in: points))
        XCTAssertEqual(b.low, 2); XCTAssertEqual(b.high, 4)
        XCTAssertEqual(b.weight, log(283.0 / 200) / log(2), accuracy: 1e-12)
        XCTAssertEqual(MatchedDifference.bracket(200, in: points)?.low, 2)
        XCTAssertEqual(MatchedDifference.bracket(200, in: points)?.weight, 0)
        XCTAssertNil(MatchedDifference.bracket(99, in: points), "no extrapolation")
        XCTAssertNil(MatchedDifference.bracket(401, in: points))
    }

    /// Two models on 40 problems. "small" costs 1 per sample, "large" 4; no prompt. small's 4
    /// samples cost what large's 1 does, so small@4 is compared with large@1 exactly (weight 0).
    func testPairedDifferencesOnKnownRuns() throws {
        func run(correct: (Int, Int) -> Bool) -> [Sample] {
            var s: [Sample] = []
            for p in 0..<40 { for i in 0..<4 { s.append(sample(i, problem: p, answer: correct(p, i) ? "y" : "n\(i)", correct: correct(p, i))) } }
            return s
        }
        var params = runParameters(problems: 40, n: 4)
        params.ks = [1, 2, 4]
        // small: problem p solved by sample p % 4 only (pass@4 = 1); large: even problems always right, odd never.
        let small = try PerProblemAccuracy(samples: run { p, i in i == p % 4 }, parameters: params)
        let large = try PerProblemAccuracy(samples: run { p, _ in p % 2 == 0 }, parameters: params)
        let cost: [String: Double] = ["small": 1, "large": 4]
        let diffs = try MatchedDifference.all(labels: ["small", "large"], accuracy: ["small": small, "large": large],
                                              flops: { label, k, _ in cost[label]! * Double(k) }, resamples: 300, seed: 1)
        let d = try XCTUnwrap(diffs.first { $0.metric == .passAtK && $0.basis == .withPrompt && $0.model == "small" && $0.k == 4 })
        XCTAssertEqual(d.versus, "large")
        XCTAssertEqual(d.versusLowK, 1)
        XCTAssertEqual(d.accuracy, 1)
        XCTAssertEqual(d.versusAccuracy, 0.5)
        XCTAssertEqual(d.delta.mean, 0.5, accuracy: 1e-12)
        XCTAssertTrue(d.delta.excludesZero)
        // small@1 and small@2 cost less than large@1: outside large's range, not compared.
        XCTAssertNil(diffs.first { $0.model == "small" && $0.k < 4 })
        // large@1 (4 FLOPs) is small@4 exactly, the same comparison the other way round.
        let back = try XCTUnwrap(diffs.first { $0.metric == .passAtK && $0.basis == .withPrompt && $0.model == "large" && $0.k == 1 })
        XCTAssertEqual(back.delta.mean, -0.5, accuracy: 1e-12)
        // Runs on different problems cannot be paired.
        let fewer = try PerProblemAccuracy(samples: run { p, _ in p % 2 == 0 }.filter { $0.problem < 39 }, parameters: params)
        XCTAssertThrowsError(try MatchedDifference.all(labels: ["small", "large"], accuracy: ["small": small, "large": fewer],
                                                       flops: { label, k, _ in cost[label]! * Double(k) }))
    }
}
