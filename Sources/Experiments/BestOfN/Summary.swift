import LlamaCore
import Foundation

/// How summaries are computed; recorded in the summary so it can be reproduced.
public struct SummaryOptions: Codable, Equatable, Sendable {
    public var rules: [SelectionRule]
    public var bootstrapResamples: Int
    public var confidence: Double
    /// Random k-subsets per problem for selection accuracy when enumerating all is too costly.
    public var maxSubsets: Int

    public init(rules: [SelectionRule] = SelectionRule.standard, bootstrapResamples: Int = 1000,
                confidence: Double = 0.95, maxSubsets: Int = 64) {
        self.rules = rules
        self.bootstrapResamples = bootstrapResamples
        self.confidence = confidence
        self.maxSubsets = maxSubsets
    }

    enum CodingKeys: String, CodingKey {
        case rules, bootstrapResamples = "bootstrap_resamples", confidence, maxSubsets = "max_subsets"
    }
}

/// The results of a run, written as `summary.json`. Metric dictionaries are keyed by k written
/// as a decimal string (JSON object keys are strings).
///
/// A summary is a pure function of the samples (taken in (problem, sample) order), the
/// parameters and the options: all randomness is seeded from the run seed and problem ids. So a
/// run split into shards and merged gives exactly the summary of the unsharded run.
public struct Summary: Codable, Equatable, Sendable {
    /// Problems with at least one sample.
    public var problems: Int
    public var samples: Int
    /// Unbiased pass@k (Chen et al. 2021), averaged over problems with at least k samples.
    public var passAtK: [String: Estimate]
    /// Coverage as a run of only k samples would have measured it: the fraction of problems
    /// where one of the first k samples (by index) is correct. Same expectation as pass@k, more
    /// noise; it is what "Large Language Monkeys" (Brown et al. 2024) plots.
    public var coverage: [String: Estimate]
    /// Selection-rule accuracy by rule name, then k.
    public var accuracy: [String: [String: Estimate]]
    public var compute: ComputeCost
    public var options: SummaryOptions
    /// What determines the results (run.json's parameters, without their provenance).
    public var parameters: RunParameters
    /// The invocation that wrote this summary: build, command, threads, files read (see
    /// `Provenance`). nil only in summaries written before it existed.
    public var provenance: Provenance? = nil
    /// Samples re-decoded alone and compared with the batched ones (see `BatchInvarianceCheck`);
    /// nil when none were.
    public var batchInvariance: BatchInvarianceCheck? = nil
    /// What an incomplete run lacks, for a merge forced with `allowPartial`; absent (nil) for a
    /// complete run.
    public var partial: [String]? = nil
    /// The pass@k curve fitted with Brown et al.'s exp(a·k^b) beside the i.i.d. prediction
    /// 1 − (1 − pass@1)^k, over the problems with samples for every k; nil when it cannot be
    /// fitted (and in summaries written before it existed).
    public var coverageFit: CoverageFit? = nil

    enum CodingKeys: String, CodingKey {
        case problems, samples, passAtK = "pass_at_k", coverage, accuracy, compute, options, parameters, provenance
        case batchInvariance = "batch_invariance", partial
        case coverageFit = "coverage_fit"
    }

    /// `score` is used by the `verifier` rule (when `options.rules` includes it).
    public static func compute(samples: [Sample], parameters: RunParameters, options: SummaryOptions = SummaryOptions(),
                               score: SampleScore = exactVerifierScore) throws -> Summary {
        let byProblem = Dictionary(grouping: samples, by: \.problem)
        let problemIds = byProblem.keys.sorted()
        let groups = problemIds.map { id in byProblem[id]!.sorted { $0.index < $1.index } }
        let seed = parameters.seed

        // Every metric's interval restarts the same generator stream: with the same problems
        // they share the resampled problem sets (paired comparisons, equal values give equal
        // intervals), and adding a metric does not change the others.
        var stream = SeededRandom(seed: seed, label: "summary-bootstrap")
        let bootstrapSeed = stream.next()
        func estimate(k: Int, _ value: ([Sample]) throws -> Double) throws -> Estimate? {
            let eligible = groups.filter { $0.count >= k }
            guard !eligible.isEmpty else { return nil }
            let values = try eligible.map(value)
            return try bootstrap(values, resamples: options.bootstrapResamples, confidence: options.confidence, seed: bootstrapSeed)
        }

        var passAtK: [String: Estimate] = [:]
        var coverage: [String: Estimate] = [:]
        var accuracy: [String: [String: Estimate]] = [:]
        for k in parameters.ks {
            let key = String(k)
            passAtK[key] = try estimate(k: k) { g in try Experiments.passAtK(n: g.count, c: g.filter(\.correct).count, k: k) }
            coverage[key] = try estimate(k: k) { g in g.prefix(k).contains(where: \.correct) ? 1 : 0 }
            for rule in options.rules {
                let value = try estimate(k: k) { g in
                    try Experiments.accuracy(rule, samples: g, k: k, seed: seed, maxSubsets: options.maxSubsets, score: score)
                }
                if let value { accuracy[rule.rawValue, default: [:]][key] = value }
            }
        }

        // The coverage fit uses one set of problems for every k (paired across k).
        var coverageFit: CoverageFit?
        if let largest = parameters.ks.max() {
            let complete = groups.filter { $0.count >= largest }
            if !complete.isEmpty {
                let perProblem = try parameters.ks.map { k in
                    try complete.map { g in try Experiments.passAtK(n: g.count, c: g.filter(\.correct).count, k: k) }
                }
                coverageFit = CoverageFit.fit(ks: parameters.ks, perProblem: perProblem, resamples: options.bootstrapResamples,
                                              confidence: options.confidence, seed: bootstrapSeed)
            }
        }

        var compute = ComputeCost()
        for g in groups {
            // Every sample of a problem records the same prompt length; take the largest in
            // case an older writer left some at 0.
            compute = compute + ComputeCost.forProblem(promptTokens: g.map(\.promptTokens).max() ?? 0,
                                                       sampleLengths: g.map(\.tokens.count),
                                                       seconds: g.reduce(0) { $0 + $1.seconds },
                                                       model: parameters.model.shape)
        }
        var results = parameters
        results.provenance = nil   // the summary's own block says who wrote it
        return Summary(problems: groups.count, samples: samples.count, passAtK: passAtK, coverage: coverage,
                       accuracy: accuracy, compute: compute, options: options, parameters: results, provenance: parameters.provenance,
                       coverageFit: coverageFit)
    }

    /// Stable JSON: sorted keys, so equal summaries are equal bytes.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

extension Summary {
    /// Also reads summaries written before the provenance block, whose "provenance" key held the
    /// run parameters (committed runs that `compute-matched` still reads).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        problems = try c.decode(Int.self, forKey: .problems)
        samples = try c.decode(Int.self, forKey: .samples)
        passAtK = try c.decode([String: Estimate].self, forKey: .passAtK)
        coverage = try c.decode([String: Estimate].self, forKey: .coverage)
        accuracy = try c.decode([String: [String: Estimate]].self, forKey: .accuracy)
        compute = try c.decode(ComputeCost.self, forKey: .compute)
        options = try c.decode(SummaryOptions.self, forKey: .options)
        if c.contains(.parameters) {
            parameters = try c.decode(RunParameters.self, forKey: .parameters)
            provenance = try c.decodeIfPresent(Provenance.self, forKey: .provenance)
        } else {
            parameters = try c.decode(RunParameters.self, forKey: .provenance)
        }
        batchInvariance = try c.decodeIfPresent(BatchInvarianceCheck.self, forKey: .batchInvariance)
        partial = try c.decodeIfPresent([String].self, forKey: .partial)
        coverageFit = try c.decodeIfPresent(CoverageFit.self, forKey: .coverageFit)
    }
}
