import Foundation
import LlamaCore
import Tokenizers

/// One finished sample of a prompt.
public struct SampleOutput: Sendable {
    public var index: Int
    public var tokens: [Int] = []
    public var logprobs: [Double] = []
    public var text = ""
    public var finishReason = FinishReason.maxTokens
    public var totalLogprob: Double { logprobs.reduce(0, +) }
}

/// N samples of one prompt decoded together: the prompt is processed once and its KV cells are
/// shared by every sample (each owns only its own tail); each step is one batch of the live
/// samples, so every weight is read once per step for all of them. A sample's random stream
/// depends only on (seed, problem, sample index), and every op computes a row the same way
/// whatever else is in the batch, so its tokens do not depend on the batch size.
public final class ParallelSampler {
    public let model: any LanguageModel
    public let tokenizer: any Tokenizer
    public let settings: SamplerSettings

    /// Sequence id that holds the shared prompt; samples use 1...N.
    static let promptSequence = 0

    public init(model: any LanguageModel, tokenizer: any Tokenizer, settings: SamplerSettings) {
        self.model = model; self.tokenizer = tokenizer; self.settings = settings
    }

    /// KV cells needed for a prompt and `batch` samples of up to `maxTokens` each.
    public static func cellsNeeded(promptTokens: Int, batch: Int, maxTokens: Int) -> Int { promptTokens + batch * maxTokens }

    /// Samples `indices` (e.g. 0..<N) of `prompt`, at most `batch` decoding together.
    /// `onFinish` is called as each sample finishes (for streaming results to disk).
    public func sample(prompt: [Int], indices: [Int], batch: Int, seed: UInt64, problem: Int, stop: StopRules,
                       onFinish: (SampleOutput) throws -> Void = { _ in }) throws -> [SampleOutput] {
        guard !prompt.isEmpty else { throw GenerationError.emptyPrompt }
        guard stop.maxTokens > 0 else { throw GenerationError.invalidMaxTokens(stop.maxTokens) }
        guard batch > 0 else { throw GenerationError.invalidBatch(batch) }
        let limit = min(model.config.contextLength, model.cacheCapacity)
        guard prompt.count < limit else { throw GenerationError.promptTooLong(promptTokens: prompt.count, context: limit) }
        let needed = Self.cellsNeeded(promptTokens: prompt.count, batch: min(batch, indices.count), maxTokens: stop.maxTokens)
        guard needed <= model.cacheCapacity else { throw ModelError.cacheFull(needed: needed, free: model.cacheCapacity) }

        model.resetCache()
        let promptLogits = try model.forward(.prompt(prompt, sequence: Self.promptSequence)).last!
        var done: [SampleOutput] = []
        var queue = indices[...]

        // A live sample: its sequence id, sampler, streaming decoder and last logits.
        struct Live {
            var output: SampleOutput
            var sequence: Int
            var sampler: Sampler
            var decoder: StreamingDecoder
            var logits: [Float]
        }
        // Each sample's text continues the prompt (see Generator: a fresh SentencePiece decoder
        // would drop the first generated word's leading space).
        var continuation = StreamingDecoder(tokenizer: tokenizer)
        _ = continuation.push(contentsOf: prompt)
        _ = continuation.flush()
        var live: [Live] = []
        var nextSequence = 1
        while !live.isEmpty || !queue.isEmpty {
            // Fill free batch slots with new samples forked from the prompt.
            while live.count < batch, let index = queue.popFirst() {
                let seq = nextSequence
                nextSequence += 1
                model.copySequence(Self.promptSequence, to: seq)
                live.append(Live(output: SampleOutput(index: index), sequence: seq,
                                 sampler: Sampler(settings: settings, rng: SeededRandom(seed: seed, streams: [UInt64(problem), UInt64(index)])),
                                 decoder: continuation, logits: promptLogits))
            }
            // Sample one token for every live sample; retire the finished ones.
            var entries: [BatchEntry] = []
            var stepping: [Int] = []
            for i in live.indices {
                let history = prompt + live[i].output.tokens
                let next = try live[i].sampler.sample(live[i].logits, history: history)
                var finished: FinishReason?
                if stop.stopAtEndOfGeneration && tokenizer.isEndOfGeneration(next.token) {
                    finished = .endOfGeneration
                } else {
                    live[i].output.tokens.append(next.token)
                    live[i].output.logprobs.append(next.logprob)
                    live[i].output.text += live[i].decoder.push(next.token)
                    if let cut = Generator.firstStop(in: live[i].output.text, stops: stop.stopStrings) {
                        live[i].output.text = String(live[i].output.text[..<cut])
                        finished = .stopString
                    } else if live[i].output.tokens.count >= stop.maxTokens {
                        finished = .maxTokens
                    } else if prompt.count + live[i].output.tokens.count >= limit {
                        finished = .contextFull
                    }
                }
                if let reason = finished {
                    live[i].output.finishReason = reason
                    if reason != .stopString { live[i].output.text += live[i].decoder.flush() }
                } else {
                    let position = prompt.count + live[i].output.tokens.count - 1
                    entries.append(BatchEntry(token: live[i].output.tokens.last!, position: position, sequence: live[i].sequence, wantsLogits: true))
                    stepping.append(i)
                }
            }
            let finished = live.indices.filter { !stepping.contains($0) }
            for i in finished {
                model.removeSequence(live[i].sequence)
                try onFinish(live[i].output)
                done.append(live[i].output)
            }
            if !entries.isEmpty {
                let logits = try model.forward(entries)
                for (row, i) in stepping.enumerated() { live[i].logits = logits[row] }
            }
            live = stepping.map { live[$0] }
        }
        model.removeSequence(Self.promptSequence)
        return done.sorted { $0.index < $1.index }
    }
}
