import CPUBackend
import Foundation
@testable import Generation
import LlamaCore
import TestSupport
import Tokenizers
import XCTest

/// The generation loop: on the tiny fixture model against llama.cpp's greedy tokens, and on a
/// scripted model for stop strings, end of generation and streaming.
final class GeneratorTests: XCTestCase {
    // MARK: the fixture model

    func testGreedyGenerationReproducesReferenceTokens() throws {
        let ref = try GenerationFixtures.reference()
        let (model, tokenizer) = try GenerationFixtures.tinyModel()
        let generator = Generator(model: model, tokenizer: tokenizer)
        let stop = StopRules(maxTokens: ref.greedy_tokens.count, stopAtEndOfGeneration: false)
        let (result, pieces) = try generator.generateCollecting(prompt: ref.prompt_tokens, stop: stop)
        XCTAssertEqual(result.tokens, ref.greedy_tokens)
        XCTAssertEqual(result.promptTokens, ref.prompt_tokens)
        XCTAssertEqual(result.finishReason, .maxTokens)
        XCTAssertEqual(result.logprobs.count, ref.greedy_tokens.count)
        XCTAssert(result.logprobs.allSatisfy { $0 <= 0 && $0.isFinite })
        XCTAssertEqual(pieces.joined(), result.text)
        XCTAssertEqual(result.text, GenerationFixtures.continuation(tokenizer, prompt: ref.prompt_tokens, tokens: result.tokens))
        // the prompt text also tokenizes to the reference ids
        XCTAssertEqual(try tokenizer.encode(ref.prompt), ref.prompt_tokens)
        // a second run on the same generator (cache reset) gives the same tokens
        XCTAssertEqual(try generator.generateCollecting(prompt: ref.prompt_tokens, stop: stop).0.tokens, ref.greedy_tokens)
    }

    func testSeededSamplingIsReproducibleOnTheModel() throws {
        let ref = try GenerationFixtures.reference()
        let (model, tokenizer) = try GenerationFixtures.tinyModel()
        let generator = Generator(model: model, tokenizer: tokenizer)
        let settings = SamplerSettings(temperature: 1.0, topK: 0, topP: 1, minP: 0)
        let stop = StopRules(maxTokens: 12, stopAtEndOfGeneration: false)
        let a = try generator.generateCollecting(prompt: ref.prompt_tokens, settings: settings, seed: 1, stop: stop).0
        let b = try generator.generateCollecting(prompt: ref.prompt_tokens, settings: settings, seed: 1, stop: stop).0
        let c = try generator.generateCollecting(prompt: ref.prompt_tokens, settings: settings, seed: 2, stop: stop).0
        XCTAssertEqual(a.tokens, b.tokens)
        XCTAssertEqual(a.text, b.text)
        XCTAssertNotEqual(a.tokens, c.tokens)
    }

    func testMaxTokensIsRespected() throws {
        let ref = try GenerationFixtures.reference()
        let (model, tokenizer) = try GenerationFixtures.tinyModel()
        let generator = Generator(model: model, tokenizer: tokenizer)
        for n in [1, 2, 7] {
            let (result, pieces) = try generator.generateCollecting(prompt: ref.prompt_tokens, stop: StopRules(maxTokens: n, stopAtEndOfGeneration: false))
            XCTAssertEqual(result.tokens, Array(ref.greedy_tokens.prefix(n)))
            XCTAssertEqual(result.finishReason, .maxTokens)
            XCTAssertEqual(pieces.joined(), result.text)
        }
    }

    /// Best-of-N decoding gives each sample the same text the single-sequence loop gives.
    func testParallelSamplerTextMatchesTheGenerator() throws {
        let ref = try GenerationFixtures.reference()
        let (model, tokenizer) = try GenerationFixtures.tinyModel()
        let stop = StopRules(maxTokens: 8, stopAtEndOfGeneration: false)
        let single = try Generator(model: model, tokenizer: tokenizer).generateCollecting(prompt: ref.prompt_tokens, stop: stop).0
        let samples = try Generator(model: model, tokenizer: tokenizer).sample(prompt: ref.prompt_tokens, indices: [0, 1], batch: 2, settings: .greedy, seed: 1, problem: 0, stop: stop)
        XCTAssertEqual(samples.count, 2)
        for s in samples {
            XCTAssertEqual(s.tokens, single.tokens)
            XCTAssertEqual(s.text, single.text)
            XCTAssertEqual(s.text, GenerationFixtures.continuation(tokenizer, prompt: ref.prompt_tokens, tokens: s.tokens))
        }
    }

    // MARK: limits and bad requests

    func testPromptLongerThanTheContextIsAnError() throws {
        let (model, tokenizer) = try GenerationFixtures.synthetic(context: 16)
        let generator = Generator(model: model, tokenizer: tokenizer)
        XCTAssertEqual(generator.contextLimit, 16)
        let prompt = try tokenizer.encode(String(repeating: "hello world, ", count: 4))
        XCTAssertGreaterThan(prompt.count, 16)
        XCTAssertThrowsError(try generator.generateCollecting(prompt: prompt, stop: StopRules(maxTokens: 4))) { error in
            XCTAssertEqual(error as? GenerationError, .promptTooLong(promptTokens: prompt.count, context: 16))
            let message = "\(error)"
            XCTAssert(message.contains("\(prompt.count)") && message.contains("16"), message)
        }
    }

    func testGenerationStopsWhenTheContextIsFull() throws {
        let (model, tokenizer) = try GenerationFixtures.synthetic(context: 16)
        let generator = Generator(model: model, tokenizer: tokenizer)
        let prompt = Array(try tokenizer.encode("hello world").prefix(10))
        let (result, pieces) = try generator.generateCollecting(prompt: prompt, stop: StopRules(maxTokens: 100, stopAtEndOfGeneration: false))
        XCTAssertEqual(result.finishReason, .contextFull)
        XCTAssertEqual(prompt.count + result.tokens.count, 16, "prompt and generation fill the context exactly")
        XCTAssertEqual(pieces.joined(), result.text)
        // a prompt one short of the context still gets one token
        let long = Array(repeating: prompt.last!, count: 15)
        let one = try generator.generateCollecting(prompt: long, stop: StopRules(maxTokens: 100, stopAtEndOfGeneration: false)).0
        XCTAssertEqual(one.tokens.count, 1)
        XCTAssertEqual(one.finishReason, .contextFull)
    }

    func testEmptyPromptAndNonPositiveMaxTokensAreErrors() throws {
        let tokenizer = try GenerationFixtures.spmTokenizer()
        let generator = Generator(model: ScriptedModel(vocabSize: tokenizer.vocabSize, script: [100]), tokenizer: tokenizer)
        XCTAssertThrowsError(try generator.generateCollecting(prompt: [], stop: StopRules(maxTokens: 4))) {
            XCTAssertEqual($0 as? GenerationError, .emptyPrompt)
        }
        for n in [0, -1] {
            XCTAssertThrowsError(try generator.generateCollecting(prompt: [1], stop: StopRules(maxTokens: n))) {
                XCTAssertEqual($0 as? GenerationError, .invalidMaxTokens(n))
            }
        }
        // a token outside the vocabulary in the prompt is the model's error, not a crash
        let (model, tok) = try GenerationFixtures.synthetic(context: 32)
        XCTAssertThrowsError(try Generator(model: model, tokenizer: tok).generateCollecting(prompt: [1, 600], stop: StopRules(maxTokens: 2)))
    }

    // MARK: end of generation

    func testEndOfGenerationStopsAndIsNotPartOfTheOutput() throws {
        let tokenizer = try GenerationFixtures.spmTokenizer()
        let eos = try XCTUnwrap(tokenizer.eos)
        let words = try tokenizer.encode("Hello there", addSpecial: false, parseSpecial: false)
        let model = ScriptedModel(vocabSize: tokenizer.vocabSize, script: words + [eos] + words)
        let generator = Generator(model: model, tokenizer: tokenizer)
        let prompt = try tokenizer.encode("Say hi:")
        let (result, pieces) = try generator.generateCollecting(prompt: prompt, stop: StopRules(maxTokens: 50))
        XCTAssertEqual(result.tokens, words)
        XCTAssertEqual(result.finishReason, .endOfGeneration)
        XCTAssertEqual(result.text, " Hello there", "the first generated word keeps its space after the prompt")
        XCTAssertEqual(pieces.joined(), result.text)
        // EOS is not fed back to the model
        XCTAssertFalse(model.fed.contains { $0.token == eos })

        let (all, _) = try generator.generateCollecting(prompt: prompt, stop: StopRules(maxTokens: 50, stopAtEndOfGeneration: false))
        XCTAssertEqual(Array(all.tokens.prefix(2 * words.count + 1)), words + [eos] + words)
        XCTAssertEqual(all.finishReason, .maxTokens)
    }
}
