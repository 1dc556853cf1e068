import Foundation
import LlamaCore
import Tokenizers

public struct GenerationResult: Sendable {
    public var promptTokens: [Int]
    public var tokens: [Int] = []
    public var logprobs: [Double] = []
    public var text = ""
    public var finishReason = FinishReason.maxTokens
    public var promptSeconds = 0.0
    public var generationSeconds = 0.0

    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens.count) / promptSeconds : 0 }
    /// Decode rate: the first token comes from the prompt pass, so count the steps after it.
    public var generationTokensPerSecond: Double { generationSeconds > 0 ? Double(max(0, tokens.count - 1)) / generationSeconds : 0 }
    public var totalLogprob: Double { logprobs.reduce(0, +) }
}

/// Generation through the decoding loop: one streamed continuation (`generate`), or N samples
/// of one prompt decoded together (`sample`, best-of-N).
public final class Generator {
    public let model: any LanguageModel
    public let tokenizer: any Tokenizer

    public init(model: any LanguageModel, tokenizer: any Tokenizer) {
        self.model = model; self.tokenizer = tokenizer
    }

    /// The longest prompt plus generation the model and its cache can hold.
    public var contextLimit: Int { min(model.config.contextLength, model.cacheCapacity) }

    /// One continuation of `prompt`, calling `onText` with each piece of text as it becomes
    /// valid UTF-8 and can no longer be part of a stop string.
    public func generate(prompt: [Int], sampler: Sampler, stop: StopRules, onText: @escaping (String) -> Void = { _ in }) throws -> GenerationResult {
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: 1)
        var output: SampleOutput?
        try loop.submit(DecodeRequest(prompt: prompt, samples: [0], stop: stop, makeSampler: { _ in sampler },
                                      onText: { _, text in onText(text) }, onFinish: { output = $0 }))
        try loop.run()
        guard let output else { preconditionFailure("the decoding loop ended without finishing its sample") }
        var result = GenerationResult(promptTokens: prompt)
        result.tokens = output.tokens; result.logprobs = output.logprobs; result.text = output.text
        result.finishReason = output.finishReason
        result.promptSeconds = output.promptSeconds; result.generationSeconds = output.decodeSeconds
        return result
    }

    /// Samples `indices` (e.g. 0..<N) of `prompt`, at most `batch` decoding together; sample i
    /// draws from the stream (seed, problem, i). `onFinish` is called as each sample finishes.
    public func sample(prompt: [Int], indices: [Int], batch: Int, settings: SamplerSettings, seed: UInt64, problem: Int, stop: StopRules,
                       onFinish: @escaping (SampleOutput) throws -> Void = { _ in }) throws -> [SampleOutput] {
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: batch)
        var done: [SampleOutput] = []
        try loop.submit(DecodeRequest(
            prompt: prompt, samples: indices, stop: stop,
            makeSampler: { Sampler(settings: settings, rng: SeededRandom(seed: seed, streams: [UInt64(problem), UInt64($0)])) },
            onFinish: { try onFinish($0); done.append($0) }))
        try loop.run()
        return done.sorted { $0.index < $1.index }
    }
}
