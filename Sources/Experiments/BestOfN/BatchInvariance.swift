import Generation
import LlamaCore
import Tokenizers

/// How many stored samples, decoded again alone (a batch of one), gave exactly the tokens they
/// got in the run's batches: `summary.json`'s `batch_invariance`. A run's results claim that a
/// sample's tokens depend only on (seed, problem, sample index); this is that claim measured on
/// the backend and device the run used, not asserted (an OpenCL device may order its sums
/// differently in a batch than alone).
public struct BatchInvarianceCheck: Codable, Equatable, Sendable {
    public var checked: Int
    public var identical: Int

    public init(checked: Int, identical: Int) { self.checked = checked; self.identical = identical }

    /// The checks of several shards together.
    public static func + (a: Self, b: Self) -> Self { Self(checked: a.checked + b.checked, identical: a.identical + b.identical) }
}

extension BestOfN {
    /// Re-decodes `options.invarianceChecks` of the stored samples of `problems`, each alone,
    /// with the sampler and stop rules the run gave it, and counts those whose tokens are the
    /// stored ones. The samples are spread evenly over the run in (problem, sample) order, so
    /// they include samples admitted into slots that others freed (the refill path), not only
    /// the first batch.
    static func checkBatchInvariance(model: any LanguageModel, tokenizer: any Tokenizer, problems: [(Problem, [Int])],
                                     options: BestOfNOptions, store: ResultStore) throws -> BatchInvarianceCheck {
        let ids = Set(problems.map(\.0.id))
        let stored = store.samples.filter { ids.contains($0.problem) }.sorted { $0.key < $1.key }
        let count = min(options.invarianceChecks, stored.count)
        guard count > 0 else { return BatchInvarianceCheck(checked: 0, identical: 0) }
        let picked = (0..<count).map { stored[$0 * stored.count / count] }
        let prompts = Dictionary(uniqueKeysWithValues: problems.map { ($0.0.id, $0.1) })
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: 1)
        var identical = 0
        for sample in picked {
            try loop.submit(DecodeRequest(prompt: prompts[sample.problem]!, samples: [sample.index], stop: options.stopRules,
                                          makeSampler: options.sampler(problem: sample.problem),
                                          onFinish: { if $0.tokens == sample.tokens { identical += 1 } }))
        }
        try loop.run()
        return BatchInvarianceCheck(checked: count, identical: identical)
    }
}
