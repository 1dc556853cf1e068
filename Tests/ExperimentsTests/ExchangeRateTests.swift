import CPUBackend
import Foundation
import GGUF
import LlamaCore
import TestSupport
import Tokenizers
import XCTest
@testable import Experiments

/// The exchange-rate experiment's pieces: the graded task, the verifier's task, the tree
/// sampler (against teacher forcing and the binomial law), the selection curves (against brute
/// force over every subset) and the iso-accuracy analysis (against a grid with a known rate).
final class ExchangeRateTests: XCTestCase {
    // MARK: tasks

    func testGradedArithmeticLevelsFollowThePowerLawAndAnswersAreRight() throws {
        let task = GradedArithmeticTask(minDigits: 2, maxDigits: 5, exponent: 1.5, operations: "+-*")
        let problems = try task.problems(count: 20_000, seed: 3)
        XCTAssertEqual(problems, try task.problems(count: 20_000, seed: 3), "a pure function of (count, seed)")
        XCTAssertEqual(Array(problems.prefix(10)), try task.problems(count: 10, seed: 3), "problem i does not depend on count")
        var levels = [Int: Int]()
        for p in problems {
            let d = try XCTUnwrap(GradedArithmeticTask.difficulty(of: p.prompt), p.prompt)
            let (a, op, b) = try XCTUnwrap(Self.operands(p.prompt))
            XCTAssertEqual(String(a).count, String(b).count, "both operands of a level have its digits: \(p.prompt)")
            XCTAssertEqual(d, "\(String(a).count)x\(String(b).count)\(op)")
            XCTAssertEqual(p.answer, String(op == "+" ? a + b : op == "-" ? a - b : a * b))
            XCTAssertTrue(task.grade(" \(p.answer)", problem: p).correct)
            levels[String(a).count, default: 0] += 1
        }
        // Expected shares 0.466, 0.254, 0.165, 0.116: each within 5 standard errors.
        for (i, p) in task.digitProbabilities.enumerated() {
            let observed = Double(levels[i + 2] ?? 0) / 20_000
            XCTAssertEqual(observed, p, accuracy: 5 * (p * (1 - p) / 20_000).squareRoot(), "level \(i + 2)")
        }
        XCTAssertEqual(task.digitProbabilities[0] / task.digitProbabilities[1], pow(3.0 / 2.0, 1.5), accuracy: 1e-12)
        XCTAssertThrowsError(try GradedArithmeticTask(minDigits: 3, maxDigits: 2).problems(count: 1, seed: 0))
        XCTAssertThrowsError(try GradedArithmeticTask(operations: "/").problems(count: 1, seed: 0))
        XCTAssertThrowsError(try GradedArithmeticTask(exponent: -1).problems(count: 1, seed: 0))
    }

    func testVerificationTaskLabelsHalfRightAndItsNearMissesAreWrongIntegers() throws {
        let base = GradedArithmeticTask()
        let task = ArithmeticVerificationTask(base: base)
        let questions = try base.problems(count: 4000, seed: 9)
        let items = try task.problems(count: 4000, seed: 9)
        var yes = 0
        for (q, item) in zip(questions, items) {
            XCTAssertTrue(item.prompt.hasPrefix(q.prompt + " ") && item.prompt.hasSuffix("\nOK?"), item.prompt)
            let candidate = String(item.prompt.dropFirst(q.prompt.count + 1).dropLast(4))
            XCTAssertNotNil(AnswerText.canonicalInteger(candidate), "a candidate is an integer: \(candidate)")
            XCTAssertEqual(candidate == q.answer, item.answer == "yes", "\(item.prompt) → \(item.answer)")
            if item.answer == "yes" { yes += 1 }
            XCTAssertTrue(task.grade(" \(item.answer)", problem: item).correct)
            XCTAssertFalse(task.grade(item.answer == "yes" ? " no" : " yes", problem: item).correct)
        }
        XCTAssertEqual(Double(yes) / 4000, 0.5, accuracy: 5 * (0.25 / 4000).squareRoot())
    }

    static func operands(_ prompt: String) -> (Int, Character, Int)? {
        let body = prompt.dropFirst(3).prefix { $0 != "=" }
        guard let i = body.dropFirst().firstIndex(where: { "+-*".contains($0) }), let a = Int(body[..<i]),
              let b = Int(body[body.index(after: i)...]) else { return nil }
        return (a, body[i], b)
    }

    // MARK: tree sampler

    /// A model trained on 3-digit addition/subtraction whose answers still spread at T = 1.
    func loadModel(cells: Int) throws -> (any LanguageModel, any Tokenizer) {
        let path = Fixtures.packageRoot.appendingPathComponent("experiments/compute-matched/models/c1e13_d64l4.gguf").path
        let gguf = try GGUFFile(path: path)
        return (try Transformer(gguf: gguf, backend: CPUBackend(mode: .fast, threads: 1), cacheCells: cells), try loadTokenizer(from: gguf))
    }

    func testTreeSamplesAreExactlyNIndependentDrawsWithExactProbabilities() throws {
        let n = 4000, maxTokens = 8, temperature = 1.0
        let (model, tokenizer) = try loadModel(cells: TreeSampler.cells(promptTokens: 20, n: n, maxTokens: maxTokens))
        let sampler = TreeSampler(model: model, tokenizer: tokenizer, maxTokens: maxTokens)
        let prompt = try tokenizer.encode("Q: 487+356=?\nA:", addSpecial: true, parseSpecial: false)
        let (leaves, nodes) = try sampler.sample(prompt: prompt, n: n, temperature: temperature, seed: 5, problem: 0)
        XCTAssertEqual(leaves.reduce(0) { $0 + $1.count }, n)
        XCTAssertGreaterThan(leaves.count, 3, "the test needs a spread of answers")
        XCTAssertLessThan(nodes, n * maxTokens / 4, "shared prefixes are decoded once")
        let again = try sampler.sample(prompt: prompt, n: n, temperature: temperature, seed: 5, problem: 0)
        XCTAssertEqual(again.leaves, leaves, "a pure function of (seed, problem)")

        // Every leaf's probability equals teacher forcing of its tokens after the prompt.
        for leaf in leaves.prefix(40) {
            model.resetCache()
            let rows = try model.forward(.prompt(prompt + leaf.tokens, allLogits: true))
            var p = 1.0
            for (i, token) in leaf.tokens.enumerated() { p *= TreeSampler.softmax(rows[prompt.count - 1 + i], temperature: temperature)[token] }
            XCTAssertEqual(leaf.probability, p, accuracy: 1e-9 * max(p, 1e-12) + 1e-15, "\(leaf.tokens)")
        }
        // The counts follow the multinomial law of those probabilities: Pearson's χ² over the
        // leaves expected ≥ 10 times, the rest pooled, below the 0.9999 quantile (df ≤ 30).
        var chi2 = 0.0, bins = 0, restObserved = 0, restExpected = 0.0
        for leaf in leaves {
            let expected = Double(n) * leaf.probability
            if expected >= 10 {
                chi2 += pow(Double(leaf.count) - expected, 2) / expected
                bins += 1
            } else {
                restObserved += leaf.count; restExpected += expected
            }
        }
        let seenMass = leaves.reduce(0) { $0 + $1.probability }
        restExpected += Double(n) * max(0, 1 - seenMass)
        chi2 += pow(Double(restObserved) - restExpected, 2) / max(restExpected, 1)
        XCTAssertGreaterThanOrEqual(bins, 2)
        XCTAssertLessThan(bins, 30)
        XCTAssertLessThan(chi2, 59.7, "χ² with \(bins) degrees of freedom (0.9999 quantile at 30 df is 59.7)")
    }

    func testTreeSamplingAgreesWithTokenByTokenSampling() throws {
        // The engine's ordinary sampler, one sample at a time, against the tree: the share of
        // each frequent answer agrees within sampling error (both are n i.i.d. draws).
        let n = 200, maxTokens = 8
        let (model, tokenizer) = try loadModel(cells: TreeSampler.cells(promptTokens: 20, n: n, maxTokens: maxTokens))
        let tree = TreeSampler(model: model, tokenizer: tokenizer, maxTokens: maxTokens)
        let prompt = try tokenizer.encode("Q: 487+356=?\nA:", addSpecial: true, parseSpecial: false)
        let leaves = try tree.sample(prompt: prompt, n: 20_000, temperature: 1, seed: 1, problem: 0).leaves
        var rng = SeededRandom(seed: 77)
        var counts: [[Int]: Int] = [:]
        for _ in 0..<n {
            model.resetCache()
            var tokens: [Int] = []
            var logits = try model.forward(.prompt(prompt))[0]
            while true {
                let p = TreeSampler.softmax(logits, temperature: 1)
                let token = TreeSampler.multinomial(count: 1, probabilities: p, rng: &rng)[0].0
                tokens.append(token)
                if tree.stopTokens.contains(token) || tokens.count >= maxTokens { break }
                logits = try model.forward([BatchEntry(token: token, position: prompt.count + tokens.count - 1, wantsLogits: true)])[0]
            }
            counts[tokens, default: 0] += 1
        }
        for leaf in leaves where leaf.count >= 2000 {
            let p = Double(leaf.count) / 20_000
            let observed = Double(counts[leaf.tokens] ?? 0) / Double(n)
            XCTAssertEqual(observed, p, accuracy: 5 * (p * (1 - p) / Double(n)).squareRoot() + 0.01, "\(tokenizer.decode(leaf.tokens))")
        }
    }

    func testVerifierScoresEqualOneForwardOfEachPromptWhateverTheBatching() throws {
        // Any checkpoint can stand in for the verifier: the scores are its logits of "y" and "n".
        let (model, tokenizer) = try loadModel(cells: VerifierScorer.cells(questionTokens: 32, chunk: 64, answerTokens: 13))
        let question = "Q: 487+356=?\nA:"
        let t = tally([("843", true, 5), ("833", false, 2), ("8433", false, 1), (nil, false, 1), ("-1", false, 1)])
        let wide = try VerifierScorer(model: model, tokenizer: tokenizer, method: .yesNo, chunk: 64).score(t, question: question)
        let narrow = try VerifierScorer(model: model, tokenizer: tokenizer, method: .yesNo, chunk: 2).score(t, question: question)
        XCTAssertEqual(wide.scores.count, 5)
        XCTAssertNil(wide.scores[3], "no integer, no score")
        let yes = try XCTUnwrap(try tokenizer.encode("y", addSpecial: false, parseSpecial: false).last)
        let no = try XCTUnwrap(try tokenizer.encode("n", addSpecial: false, parseSpecial: false).last)
        for (i, answer) in t.answers.enumerated() {
            guard let a = answer.answer else { continue }
            let ids = try tokenizer.encode(ArithmeticVerificationTask.prompt(question: question, candidate: a) + " ", addSpecial: true, parseSpecial: false)
            model.resetCache()
            let row = try model.forward(.prompt(ids))[0]
            XCTAssertEqual(try XCTUnwrap(wide.scores[i]), Double(row[yes]) - Double(row[no]), accuracy: 1e-4, a)
            XCTAssertEqual(try XCTUnwrap(narrow.scores[i]), try XCTUnwrap(wide.scores[i]), accuracy: 1e-4, a)
            XCTAssertEqual(wide.tokens[i], ids.count)
        }
        // Likelihood scores equal teacher forcing of " answer</s>" after the question, whatever the batching.
        let likely = try VerifierScorer(model: model, tokenizer: tokenizer, method: .likelihood, chunk: 64).score(t, question: question)
        let likelyNarrow = try VerifierScorer(model: model, tokenizer: tokenizer, method: .likelihood, chunk: 3).score(t, question: question)
        let q = try tokenizer.encode(question, addSpecial: true, parseSpecial: false)
        for (i, answer) in t.answers.enumerated() {
            guard let a = answer.answer else { XCTAssertNil(likely.scores[i]); continue }
            let ids = try tokenizer.encode(question + " " + a, addSpecial: true, parseSpecial: false) + [try XCTUnwrap(tokenizer.eos)]
            XCTAssertEqual(Array(ids.prefix(q.count)), q)
            model.resetCache()
            let rows = try model.forward(.prompt(ids, allLogits: true))
            let expected = (q.count..<ids.count).reduce(0.0) { $0 + log(TreeSampler.softmax(rows[$1 - 1], temperature: 1)[ids[$1]]) }
            XCTAssertEqual(try XCTUnwrap(likely.scores[i]), expected, accuracy: 1e-3, a)
            XCTAssertEqual(try XCTUnwrap(likelyNarrow.scores[i]), try XCTUnwrap(likely.scores[i]), accuracy: 1e-4, a)
        }
        XCTAssertGreaterThan(try XCTUnwrap(likely.scores[0]), try XCTUnwrap(likely.scores[2]), "a model trained on addition prefers 843 to 8433")
        // A problem no sample got right needs no scores: every rule scores 0 on it.
        XCTAssertEqual(try VerifierScorer(model: model, tokenizer: tokenizer).score(tally([("1", false, 3)]), question: question).scores, [])
    }

    // MARK: selection curves

    func tally(_ answers: [(String?, Bool, Int)]) -> ProblemTally {
        ProblemTally(problem: 0, difficulty: nil, promptTokens: 10, n: answers.reduce(0) { $0 + $1.2 }, nodes: 0,
                     answers: answers.map { AnswerTally(text: " \($0.0 ?? "x")", answer: $0.0, correct: $0.1, count: $0.2, tokens: 4, probability: 0) })
    }

    /// Every k-subset of the samples (as answer indices), for brute force.
    func subsets(of pool: [Int], k: Int) -> [[Int]] {
        if k == 0 { return [[]] }
        guard pool.count >= k else { return [] }
        let rest = Array(pool.dropFirst())
        return subsets(of: rest, k: k - 1).map { [pool[0]] + $0 } + subsets(of: rest, k: k)
    }

    func testSelectionCurvesMatchBruteForceOverEverySubset() throws {
        // Two texts of the right answer ("12", "012"), two wrong answers and one without an integer.
        let t = tally([("12", true, 2), ("13", false, 3), ("012", true, 1), ("7", false, 2), (nil, false, 1)])
        let scores: [Double?] = [0.5, 2.0, 3.0, -1, nil]
        let pool = t.answers.indices.flatMap { i in Array(repeating: i, count: t.answers[i].count) }
        var rng = SeededRandom(seed: 2)
        for k in 1...t.n {
            let all = subsets(of: Array(pool.indices), k: k).map { $0.map { pool[$0] } }
            let oracle = Double(all.filter { $0.contains { t.answers[$0].correct } }.count) / Double(all.count)
            XCTAssertEqual(SelectionCurves.oracle(t, k: k), oracle, accuracy: 1e-12, "oracle k=\(k)")
            let verifier = all.map { s -> Double in
                let best = s.max { (scores[$0] ?? -.infinity, -$0) < (scores[$1] ?? -.infinity, -$1) }!
                return t.answers[best].correct ? 1 : 0
            }.reduce(0, +) / Double(all.count)
            XCTAssertEqual(SelectionCurves.verifier(t, scores: scores, k: k), verifier, accuracy: 1e-12, "verifier k=\(k)")
            let majority = all.map { s -> Double in
                var votes: [String: Int] = [:]
                for i in s { if let a = t.answers[i].answer { votes[String(Int(a)!), default: 0] += 1 } }
                guard let top = votes.values.max() else { return 0 }
                let tied = votes.filter { $0.value == top }
                return tied["12"] != nil ? 1 / Double(tied.count) : 0
            }.reduce(0, +) / Double(all.count)
            let estimate = SelectionCurves.majority(t, k: k, trials: 20_000, rng: &rng)
            XCTAssertEqual(estimate, majority, accuracy: 0.015, "majority k=\(k) (Monte Carlo)")
        }
        XCTAssertEqual(SelectionCurves.oracle(tally([("1", false, 5)]), k: 3), 0)
        XCTAssertEqual(SelectionCurves.verifier(tally([("1", false, 5)]), scores: [1], k: 3), 0)
    }

    // MARK: analysis

    /// A grid with a known exchange rate: cell i trains with 10^(11+i) FLOPs and its accuracy at
    /// k samples is 1 − (1 − p_i)^k with p_i chosen so that reaching `target` takes
    /// k_i = 100 · 10^(−i/2) samples: one decade of training saves half a decade of samples.
    func knownGrid(target: Double, seeds: Int = 2, problems: Int = 50) -> (models: [SampledModel], ks: [Int]) {
        let ks = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        var models: [SampledModel] = []
        for i in 0..<4 {
            let need = 100 * pow(10, -Double(i) / 2)
            let p = 1 - pow(1 - target, 1 / need)
            for seed in 0..<seeds {
                let table = ks.map { k in [Double](repeating: 1 - pow(1 - p, Double(k)), count: problems) }
                models.append(SampledModel(cell: "c\(i)", seed: seed, trainFLOPs: pow(10, 11 + Double(i)),
                                           accuracy: [1: [.oracle: table]], inferenceCost: [1: [.oracle: InferenceCost(perQuery: 0, perSample: 1e6)]]))
            }
        }
        return (models, ks)
    }

    func testAnalysisRecoversAKnownExchangeRate() throws {
        let target = 0.6
        let (models, ks) = knownGrid(target: target)
        let curves = ExchangeRateAnalysis.cellCurves(models, temperature: 1, rule: .oracle, ks: ks)
        let need = ExchangeRateAnalysis.requirements(curves, ks: ks, target: target)
        XCTAssertEqual(need.count, 4)
        XCTAssertTrue(need.allSatisfy { $0.efficient && !$0.censored })
        // Interpolating in log k between powers of 2 is not exact for 1 − (1 − p)^k: within 6%.
        for (i, r) in need.enumerated() { XCTAssertEqual(r.k / (100 * pow(10, -Double(i) / 2)), 1, accuracy: 0.06, "cell \(i)") }
        let rate = try XCTUnwrap(ExchangeRateAnalysis.rate(need))
        XCTAssertEqual(rate.elasticity, 0.5, accuracy: 0.03, "C_infer falls half a decade per decade of training")
        XCTAssertLessThan(rate.rate, 0, "more training, less inference")
        // Seeds and problems identical: every bootstrap replicate is the estimate.
        let boot = ExchangeRateAnalysis.bootstrapRates(models, temperature: 1, rule: .oracle, ks: ks, targets: [target], replicates: 50, seed: 1)[0]
        XCTAssertEqual(boot.definedFraction, 1)
        let interval = try XCTUnwrap(boot.elasticityInterval)
        XCTAssertEqual(interval[0], rate.elasticity, accuracy: 1e-9)
        XCTAssertEqual(interval[1], rate.elasticity, accuracy: 1e-9)
        // The total-cost view: few queries → the cheapest-to-train cell; many → the best-trained.
        XCTAssertEqual(ExchangeRateAnalysis.cheapest(need, queries: 1)?.cell, "c0")
        XCTAssertEqual(ExchangeRateAnalysis.cheapest(need, queries: 1e9)?.cell, "c3")
        // A target no cell reaches gives no requirement; a cell at the target with one sample is censored.
        XCTAssertTrue(ExchangeRateAnalysis.requirements(Array(curves.prefix(1)), ks: ks, target: 0.99995).isEmpty, "c0 tops out at 0.99992")
        XCTAssertEqual(ExchangeRateAnalysis.samplesNeeded(accuracy: [0.7, 0.8], ks: [1, 2], target: 0.6)?.censored, true)
        XCTAssertEqual(try XCTUnwrap(ExchangeRateAnalysis.samplesNeeded(accuracy: [0.2, 0.4], ks: [1, 4], target: 0.3)).k, 2, accuracy: 1e-12)
    }
}
