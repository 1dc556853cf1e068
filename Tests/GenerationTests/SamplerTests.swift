import LlamaCore
import Foundation
@testable import Generation
import XCTest

/// The sampler on hand-made logits. Every random draw uses a fixed seed, so the statistical
/// checks are deterministic (no flakiness) while still testing the distributions.
final class SamplerTests: XCTestCase {
    /// Settings with every filter off: a plain draw from softmax(logits / T).
    func plain(temperature: Float = 1) -> SamplerSettings {
        SamplerSettings(temperature: temperature, topK: 0, topP: 1, minP: 0)
    }

    func draws(_ logits: [Float], _ settings: SamplerSettings, seed: UInt64 = 1, count: Int, history: [Int] = []) throws -> [Int] {
        var sampler = Sampler(settings: settings, rng: SeededRandom(seed: seed))
        return try (0..<count).map { _ in try sampler.sample(logits, history: history).token }
    }

    func counts(_ tokens: [Int], vocab: Int) -> [Int] {
        var c = [Int](repeating: 0, count: vocab)
        for t in tokens { c[t] += 1 }
        return c
    }

    /// log p for the given probabilities, so softmax(logits) is exactly `p`.
    func logits(probabilities p: [Double]) -> [Float] { p.map { Float(Foundation.log($0)) } }

    func softmax(_ x: [Float], temperature: Double = 1) -> [Double] {
        let m = Double(x.max()!)
        let e = x.map { Foundation.exp((Double($0) - m) / temperature) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    // MARK: greedy and reproducibility

    func testGreedyIsArgmax() throws {
        var rng = SeededRandom(seed: 3)
        for _ in 0..<50 {
            let x = (0..<257).map { _ in Float(rng.nextDouble() * 20 - 10) }
            var sampler = Sampler(settings: .greedy, rng: SeededRandom(seed: 1))
            let expected = x.indices.max { x[$0] < x[$1] }!
            XCTAssertEqual(try sampler.sample(x).token, expected)
        }
        // ties go to the lowest id, and negative logits work
        var sampler = Sampler(settings: .greedy, rng: SeededRandom(seed: 1))
        XCTAssertEqual(try sampler.sample([-5, -1, -3, -1]).token, 1)
        XCTAssertEqual(try sampler.sample([-Float.greatestFiniteMagnitude, -1e30]).token, 1)
        // a temperature of exactly 0 is greedy whatever the filters say
        var zero = Sampler(settings: SamplerSettings(temperature: 0, topK: 40, topP: 0.5, minP: 0.2), rng: SeededRandom(seed: 9))
        XCTAssertEqual(try (0..<20).map { _ in try zero.sample([0.1, 0.3, 0.2]).token }, Array(repeating: 1, count: 20))
    }

    func testSameSeedSameTokensDifferentSeedDifferentTokens() throws {
        let x: [Float] = (0..<100).map { Float($0 % 7) * 0.3 }
        let settings = SamplerSettings(temperature: 1.2, topK: 50, topP: 0.95, minP: 0.01)
        let a = try draws(x, settings, seed: 42, count: 300)
        let b = try draws(x, settings, seed: 42, count: 300)
        let c = try draws(x, settings, seed: 43, count: 300)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertGreaterThan(Set(a).count, 10, "a flat distribution should give many different tokens")
    }

    func testTopKOneEqualsGreedy() throws {
        var rng = SeededRandom(seed: 11)
        for trial in 0..<20 {
            let x = (0..<64).map { _ in Float(rng.nextDouble() * 4) }
            let greedy = argmax(x)
            let tokens = try draws(x, SamplerSettings(temperature: 2, topK: 1, topP: 1, minP: 0), seed: UInt64(trial), count: 50)
            XCTAssertEqual(Set(tokens), [greedy])
        }
    }

    // MARK: the cuts

    func testTopKKeepsExactlyTheKBest() throws {
        let x: [Float] = [0.5, 2, 0.1, 1.9, 1.8, -1, 1.7, 0]   // best: 1, 3, 4, 6
        let tokens = try draws(x, SamplerSettings(temperature: 1, topK: 4, topP: 1, minP: 0), count: 4000)
        XCTAssertEqual(Set(tokens), [1, 3, 4, 6])
    }

    func testTopPKeepsTheSmallestSetReachingP() throws {
        let x = logits(probabilities: [0.10, 0.50, 0.05, 0.25, 0.10])   // sorted: 1 (.5), 3 (.25), 0/4 (.1), 2 (.05)
        // 0.5 < 0.7 ≤ 0.75: tokens 1 and 3
        XCTAssertEqual(Set(try draws(x, SamplerSettings(temperature: 1, topK: 0, topP: 0.7, minP: 0), count: 4000)), [1, 3])
        // 0.75 < 0.8 ≤ 0.85: 1, 3 and the lower id of the tied pair (0)
        XCTAssertEqual(Set(try draws(x, SamplerSettings(temperature: 1, topK: 0, topP: 0.8, minP: 0), count: 4000)), [0, 1, 3])
        // a small p keeps only the best
        XCTAssertEqual(Set(try draws(x, SamplerSettings(temperature: 1, topK: 0, topP: 0.3, minP: 0), count: 500)), [1])
        // 1 = off: everything can come out
        XCTAssertEqual(Set(try draws(x, plain(), count: 4000)), [0, 1, 2, 3, 4])
    }

    func testMinPDropsTokensBelowAFractionOfTheBest() throws {
        let x = logits(probabilities: [0.10, 0.50, 0.05, 0.25, 0.10])
        // floor 0.5 · 0.3 = 0.15: tokens 1 and 3
        XCTAssertEqual(Set(try draws(x, SamplerSettings(temperature: 1, topK: 0, topP: 1, minP: 0.3), count: 4000)), [1, 3])
        // floor 0.5 · 0.15 = 0.075: tokens 0, 1, 3, 4 (not 2 at 0.05)
        XCTAssertEqual(Set(try draws(x, SamplerSettings(temperature: 1, topK: 0, topP: 1, minP: 0.15), count: 4000)), [0, 1, 3, 4])
    }

    func testCutsComposeInOrder() throws {
        let x = logits(probabilities: [0.10, 0.50, 0.05, 0.25, 0.10])
        // top-k 3 → {1, 3, 0}; renormalised 0.588, 0.294, 0.118; top-p 0.85 → {1, 3}
        XCTAssertEqual(Set(try draws(x, SamplerSettings(temperature: 1, topK: 3, topP: 0.85, minP: 0), count: 4000)), [1, 3])
    }

    // MARK: temperature

    func testDrawsFollowSoftmaxOfLogitsOverTemperature() throws {
        let x: [Float] = [1.0, 0.2, -0.5, 2.0, 0.0, 1.5]
        let n = 20_000
        for t in [0.5, 1.0, 2.0] {
            let expected = softmax(x, temperature: t)
            let c = counts(try draws(x, plain(temperature: Float(t)), seed: 2024, count: n), vocab: x.count)
            for i in x.indices {
                let f = Double(c[i]) / Double(n)
                let sigma = (expected[i] * (1 - expected[i]) / Double(n)).squareRoot()
                XCTAssertEqual(f, expected[i], accuracy: 5 * sigma + 1e-4, "T=\(t) token \(i)")
            }
        }
        // a high temperature flattens, a low one sharpens
        let hot = counts(try draws(x, plain(temperature: 5), count: n), vocab: x.count)
        let cold = counts(try draws(x, plain(temperature: 0.2), count: n), vocab: x.count)
        XCTAssertGreaterThan(hot[2], cold[2])
        XCTAssertGreaterThan(cold[3], hot[3])
    }

    // MARK: repetition penalty

    func testRepetitionPenaltyLowersRepeatedTokens() throws {
        let x: [Float] = [2.0, 1.9, -1.0, -1.1, 0.5]
        let n = 10_000
        let settings = SamplerSettings(temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1.5)
        let free = counts(try draws(x, settings, seed: 5, count: n), vocab: 5)
        let penalised = counts(try draws(x, settings, seed: 5, count: n, history: [0, 2]), vocab: 5)
        XCTAssertLessThan(penalised[0], free[0] * 3 / 4, "a positive logit is divided")
        XCTAssertLessThan(penalised[2], free[2] * 9 / 10, "a negative logit is multiplied")
        XCTAssertGreaterThan(penalised[1], free[1], "the others gain")
        // the expected probabilities after the penalty: 2/1.5 and -1·1.5
        let expected = softmax([2.0 / 1.5, 1.9, -1.5, -1.1, 0.5])
        for i in 0..<5 {
            XCTAssertEqual(Double(penalised[i]) / Double(n), expected[i], accuracy: 5 * (expected[i] / Double(n)).squareRoot() + 1e-3)
        }
        // only the last `repeatLastN` tokens count, and ids outside the vocabulary are ignored
        let window = SamplerSettings(temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1.5, repeatLastN: 2)
        XCTAssertEqual(try draws(x, window, seed: 5, count: 500, history: [0, 4, 4]),
                       try draws([2.0, 1.9, -1.0, -1.1, 0.5 / 1.5], plain(), seed: 5, count: 500))
        XCTAssertNoThrow(try draws(x, settings, count: 10, history: [-3, 99, 1_000_000]))
    }

    /// A penalty applies to greedy decoding too (as in llama.cpp's chain): with `--temp 0` and a
    /// penalty, the repeated argmax gives way.
    func testRepetitionPenaltyAppliesToGreedy() throws {
        let x: [Float] = [2.0, 1.9, 0.5]
        let settings = SamplerSettings(temperature: 0, topK: 0, topP: 1, minP: 0, repeatPenalty: 1.3)
        var sampler = Sampler(settings: settings, rng: SeededRandom(seed: 1))
        XCTAssertEqual(try sampler.sample(x, history: []).token, 0)
        let repeated = try sampler.sample(x, history: [0])
        XCTAssertEqual(repeated.token, 1)
        XCTAssertEqual(repeated.logprob, Sampler.logSoftmax(x, at: 1), accuracy: 1e-12, "logprob is under the unpenalised model")
    }

    // MARK: logprob, errors, settings

    func testLogprobIsLogSoftmaxOfTheRawLogits() throws {
        let x: [Float] = [3.0, -2.0, 0.25, 1.0, 80.0, 79.5]
        let p = softmax(x)
        for settings in [SamplerSettings.greedy, plain(temperature: 0.7), SamplerSettings(temperature: 3, topK: 2, topP: 0.9, minP: 0.1, repeatPenalty: 2)] {
            var sampler = Sampler(settings: settings, rng: SeededRandom(seed: 8))
            for _ in 0..<50 {
                let s = try sampler.sample(x, history: [4])
                XCTAssertEqual(s.logprob, Foundation.log(p[s.token]), accuracy: 1e-9)
                XCTAssertLessThanOrEqual(s.logprob, 0)
            }
        }
        XCTAssertEqual(Sampler.logSoftmax([0, 0, 0, 0], at: 2), -Foundation.log(4.0), accuracy: 1e-12)
        // large logits do not overflow
        XCTAssertEqual(Sampler.logSoftmax([1e30, 0], at: 0), 0, accuracy: 1e-12)
    }

    func testNonFiniteLogitsAreAnError() {
        for bad: Float in [.nan, .infinity, -.infinity] {
            for settings in [SamplerSettings.greedy, plain()] {
                var sampler = Sampler(settings: settings, rng: SeededRandom(seed: 1))
                XCTAssertThrowsError(try sampler.sample([0, 1, bad, 2])) { error in
                    XCTAssertEqual(error as? SamplingError, .nonFiniteLogits)
                }
            }
        }
    }

    func testEmptyLogitsAreAnErrorNotACrash() {
        for settings in [SamplerSettings.greedy, plain()] {
            var sampler = Sampler(settings: settings, rng: SeededRandom(seed: 1))
            XCTAssertThrowsError(try sampler.sample([]))
        }
    }

    func testInvalidSettingsAreRejected() throws {
        let bad: [SamplerSettings] = [
            SamplerSettings(temperature: -1), SamplerSettings(temperature: .nan), SamplerSettings(temperature: .infinity),
            SamplerSettings(topK: -1),
            SamplerSettings(topP: 0), SamplerSettings(topP: -0.5), SamplerSettings(topP: 1.01), SamplerSettings(topP: .nan),
            SamplerSettings(minP: -0.1), SamplerSettings(minP: 1), SamplerSettings(minP: .nan),
            SamplerSettings(repeatPenalty: 0), SamplerSettings(repeatPenalty: -1), SamplerSettings(repeatPenalty: .nan),
            SamplerSettings(repeatLastN: -1),
        ]
        for s in bad {
            XCTAssertThrowsError(try s.validate(), "\(s)") { error in
                guard case .invalidSetting(let message)? = error as? SamplingError else { return XCTFail("\(error)") }
                XCTAssertFalse(message.isEmpty)
            }
            // the sampler refuses them too, rather than drawing from NaN probabilities
            var sampler = Sampler(settings: s, rng: SeededRandom(seed: 1))
            XCTAssertThrowsError(try sampler.sample([0, 1, 2]), "\(s)")
        }
        for good in [SamplerSettings(), .greedy, SamplerSettings(temperature: 0, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, repeatLastN: 0),
                     SamplerSettings(temperature: 100, topK: 1_000_000, topP: 0.01, minP: 0.99, repeatPenalty: 0.5)] {
            XCTAssertNoThrow(try good.validate(), "\(good)")
        }
    }

    func testTopKLargerThanVocabularyAndSingleTokenVocabulary() throws {
        XCTAssertEqual(Set(try draws([0, 0, 0], SamplerSettings(temperature: 1, topK: 1000, topP: 1, minP: 0), count: 300)), [0, 1, 2])
        XCTAssertEqual(try draws([5], SamplerSettings(), count: 5), [0, 0, 0, 0, 0])
    }
}
