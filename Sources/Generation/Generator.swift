import Foundation
import LlamaCore
import Tokenizers

/// When to stop generating.
public struct StopRules: Sendable {
    public var maxTokens: Int
    public var stopStrings: [String]
    public var stopAtEndOfGeneration: Bool

    public init(maxTokens: Int, stopStrings: [String] = [], stopAtEndOfGeneration: Bool = true) {
        self.maxTokens = maxTokens; self.stopStrings = stopStrings; self.stopAtEndOfGeneration = stopAtEndOfGeneration
    }
}

public enum FinishReason: String, Codable, Sendable { case endOfGeneration = "eos", maxTokens = "length", stopString = "stop", contextFull = "context" }

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

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case promptTooLong(promptTokens: Int, context: Int)
    case emptyPrompt
    case invalidMaxTokens(Int)
    case invalidBatch(Int)

    public var description: String {
        switch self {
        case let .promptTooLong(p, c): return "the prompt is \(p) tokens long but the context holds \(c) tokens"
        case .emptyPrompt: return "the prompt is empty (no tokens to condition on)"
        case let .invalidMaxTokens(n): return "the number of tokens to generate must be positive, got \(n)"
        case let .invalidBatch(n): return "the batch size must be positive, got \(n)"
        }
    }
}

/// The single-sequence generation loop: prompt once, then one token per step through the cache.
public final class Generator {
    public let model: any LanguageModel
    public let tokenizer: any Tokenizer

    public init(model: any LanguageModel, tokenizer: any Tokenizer) {
        self.model = model; self.tokenizer = tokenizer
    }

    /// The longest prompt plus generation the model and its cache can hold.
    public var contextLimit: Int { min(model.config.contextLength, model.cacheCapacity) }

    /// Generates after `prompt`, calling `onText` with each piece of text as it becomes valid UTF-8.
    public func generate(prompt: [Int], sampler: inout Sampler, stop: StopRules, onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        guard !prompt.isEmpty else { throw GenerationError.emptyPrompt }
        guard stop.maxTokens > 0 else { throw GenerationError.invalidMaxTokens(stop.maxTokens) }
        guard prompt.count < contextLimit else { throw GenerationError.promptTooLong(promptTokens: prompt.count, context: contextLimit) }
        model.resetCache()
        var result = GenerationResult(promptTokens: prompt)
        var stream = StreamingDecoder(tokenizer: tokenizer)
        // Decode the output as the continuation of the prompt, not as text of its own: a
        // SentencePiece decoder drops the leading space of the first token of a text, and the
        // first generated word ("▁there" after "Once upon a time") must keep it.
        _ = stream.push(contentsOf: prompt)
        _ = stream.flush()
        var pending = ""   // text held back while it could still be the start of a stop string

        let start = Date()
        var logits = try model.forward(.prompt(prompt)).last!
        result.promptSeconds = Date().timeIntervalSince(start)
        let decodeStart = Date()
        var history = prompt
        while true {
            let next = try sampler.sample(logits, history: history)
            if stop.stopAtEndOfGeneration && tokenizer.isEndOfGeneration(next.token) { result.finishReason = .endOfGeneration; break }
            result.tokens.append(next.token)
            result.logprobs.append(next.logprob)
            history.append(next.token)
            pending += stream.push(next.token)
            if let cut = Self.firstStop(in: result.text + pending, stops: stop.stopStrings) {
                let keep = String((result.text + pending).prefix(upTo: cut))
                // What is new beyond the text already handed out, counted in bytes: characters
                // could merge across the boundary (a combining mark after a letter).
                onText(String(decoding: keep.utf8.dropFirst(result.text.utf8.count), as: UTF8.self))
                result.text = keep
                pending = ""
                result.finishReason = .stopString
                break
            }
            let safe = Self.safePrefixLength(pending, stops: stop.stopStrings)
            if safe > 0 {
                let out = String(pending.prefix(safe))
                onText(out); result.text += out
                pending = String(pending.dropFirst(safe))
            }
            if result.tokens.count >= stop.maxTokens { result.finishReason = .maxTokens; break }
            let position = prompt.count + result.tokens.count - 1
            if position + 1 >= contextLimit { result.finishReason = .contextFull; break }
            logits = try model.forward([BatchEntry(token: next.token, position: position, wantsLogits: true)])[0]
        }
        if result.finishReason != .stopString {
            let rest = pending + stream.flush()
            onText(rest); result.text += rest
        }
        result.generationSeconds = Date().timeIntervalSince(decodeStart)
        return result
    }

    static func firstStop(in text: String, stops: [String]) -> String.Index? {
        stops.filter { !$0.isEmpty }.compactMap { text.range(of: $0)?.lowerBound }.min()
    }

    /// How much of `pending` can be shown: all but a suffix that is a prefix of some stop string.
    static func safePrefixLength(_ pending: String, stops: [String]) -> Int {
        let chars = Array(pending)
        for holdBack in stride(from: min(chars.count, stops.map(\.count).max() ?? 0), to: 0, by: -1) {
            let suffix = String(chars.suffix(holdBack))
            if stops.contains(where: { $0.hasPrefix(suffix) }) { return chars.count - holdBack }
        }
        return chars.count
    }
}
