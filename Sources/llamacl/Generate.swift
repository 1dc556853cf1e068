import ArgumentParser
import Foundation
import Generation
import GGUF
import LlamaCore
import Tokenizers

struct SamplingOptions: ParsableArguments {
    @Option(help: "Temperature (0 = greedy).") var temp: Float = 0.8
    @Option(help: "Top-k (0 = off).") var topK: Int = 40
    @Option(help: "Top-p (1 = off).") var topP: Float = 0.95
    @Option(help: "Min-p (0 = off).") var minP: Float = 0.05
    @Option(help: "Repetition penalty (1 = off).") var repeatPenalty: Float = 1.0
    @Option(help: "Tokens the repetition penalty looks back over.") var repeatLastN: Int = 64
    @Option(help: "Random seed.") var seed: UInt64 = 42

    var settings: SamplerSettings {
        SamplerSettings(temperature: temp, topK: topK, topP: topP, minP: minP, repeatPenalty: repeatPenalty, repeatLastN: repeatLastN)
    }

    func validate() throws {
        do { try settings.validate() } catch { throw ValidationError("\(error)") }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text after a prompt, streaming it as it comes.")

    @OptionGroup var model: ModelOption
    @OptionGroup var backend: BackendOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(name: [.short, .customLong("prompt")], help: "The prompt.") var prompt: String
    @Option(name: [.short, .customLong("n-predict")], help: "Tokens to generate at most.") var n: Int = 128
    @Option(help: "Stop when this text appears (repeatable).") var stop: [String] = []
    @Flag(help: "Wrap the prompt in the model's chat template as a user message.") var chat = false
    @Option(help: "System message for --chat.") var system: String?
    @Flag(help: "Parse special tokens written in the prompt.") var special = false
    @Flag(help: "Print one JSON object as the last line instead of streaming text.") var json = false

    func validate() throws {
        guard n > 0 else { throw ValidationError("-n must be positive, got \(n)") }
    }

    func run() throws {
        let (gguf, lm) = try backend.load(model.model)
        let tokenizer = try loadTokenizer(from: gguf)
        let ids: [Int]
        if chat {
            let template = try ChatTemplate(gguf: gguf)
            var messages: [ChatMessage] = []
            if let system { messages.append(ChatMessage(role: "system", content: system)) }
            messages.append(ChatMessage(role: "user", content: prompt))
            ids = try template.encode(messages, with: tokenizer)
        } else {
            ids = try tokenizer.encode(prompt, addSpecial: true, parseSpecial: special)
        }
        let sampler = Sampler(settings: sampling.settings, rng: SeededRandom(seed: sampling.seed))
        let generator = Generator(model: lm, tokenizer: tokenizer)
        let result = try generator.generate(prompt: ids, sampler: sampler, stop: StopRules(maxTokens: n, stopStrings: stop)) { text in
            if !json { print(text, terminator: ""); fflush(stdout) }
        }
        if json {
            print(try jsonLine([
                "prompt_tokens": result.promptTokens, "tokens": result.tokens, "text": result.text,
                "finish_reason": result.finishReason.rawValue, "logprob": result.totalLogprob,
                "timings": ["prompt_seconds": result.promptSeconds, "generation_seconds": result.generationSeconds,
                            "prompt_tokens_per_second": result.promptTokensPerSecond,
                            "generation_tokens_per_second": result.generationTokensPerSecond],
                "backend": lm.backendName, "seed": sampling.seed,
            ]))
        } else {
            print()
            print(String(format: "[%d prompt tokens at %.1f t/s, %d generated at %.1f t/s, stop: %@]", result.promptTokens.count,
                         result.promptTokensPerSecond, result.tokens.count, result.generationTokensPerSecond, result.finishReason.rawValue),
                  to: &standardError)
        }
    }
}
