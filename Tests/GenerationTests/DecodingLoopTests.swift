import CPUBackend
import Foundation
import Generation
import GGUF
import LlamaCore
import TestSupport
import Tokenizers
import XCTest

/// The one decoding loop as a server's scheduler uses it: several requests admitted at token
/// boundaries, samples that stop early (stop strings) freeing slots that waiting samples
/// refill, cancellation. A seeded sample's tokens must not depend on what runs beside it.
final class DecodingLoopTests: XCTestCase {
    static let shape = ModelSynthesizer.Shape(dim: 64, layers: 2, heads: 4, kvHeads: 2, ffnDim: 96, vocabSize: 700, contextLength: 256)

    func makeModel(cacheCells: Int = 256) throws -> (Transformer<CPUBackend>, any Tokenizer) {
        let w = try ModelSynthesizer(shape: Self.shape, type: .q8_0, seed: 11)
            .makeWriter(tokenizer: ModelSynthesizer.builtinByteVocabulary(size: Self.shape.vocabSize))
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("loop-model.gguf").path
        try w.write(to: path)
        let gguf = try GGUFFile(path: path)
        return (try Transformer(gguf: gguf, backend: CPUBackend(mode: .quantized, threads: 2), cacheCells: cacheCells), try loadTokenizer(from: gguf))
    }

    struct Job {
        let prompt: [Int]
        let seed: UInt64
        let samples: Int
    }

    /// Runs `jobs` in one loop with `maxBatch` slots; returns each job's samples' tokens by index.
    func run(_ jobs: [Job], model: any LanguageModel, tokenizer: any Tokenizer, maxBatch: Int, stop: StopRules,
             prefillChunk: Int = DecodingLoop.defaultPrefillChunk) throws -> [[[Int]]] {
        try outputs(jobs, model: model, tokenizer: tokenizer, maxBatch: maxBatch, stop: stop, prefillChunk: prefillChunk).map { $0.map(\.tokens) }
    }

    /// Like `run`, with each sample's whole output (its logprobs show bit-level differences in the logits).
    func outputs(_ jobs: [Job], model: any LanguageModel, tokenizer: any Tokenizer, maxBatch: Int, stop: StopRules,
                 prefillChunk: Int = DecodingLoop.defaultPrefillChunk) throws -> [[SampleOutput]] {
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: maxBatch, prefillChunk: prefillChunk)
        var results = jobs.map { Array(repeating: [SampleOutput](), count: $0.samples) }
        for (j, job) in jobs.enumerated() {
            let settings = SamplerSettings(temperature: 1.0, topK: 0, topP: 1, minP: 0)
            try loop.submit(DecodeRequest(prompt: job.prompt, samples: Array(0..<job.samples), stop: stop,
                                          makeSampler: { Sampler(settings: settings, rng: SeededRandom(seed: job.seed, streams: [0, UInt64($0)])) },
                                          onFinish: { results[j][$0.index] = [$0] }))
        }
        try loop.run()
        XCTAssertEqual(model.freeCells, model.cacheCapacity, "every cell is freed when the loop is idle")
        return results.map { $0.flatMap { $0 } }
    }

    /// Samples that end early on a stop string (or EOS-like text) are refilled by waiting ones;
    /// each sample's tokens are the same alone, in a small batch and beside other requests.
    func testSeededSamplesDoNotDependOnNeighboursWithEarlyStopsAndRefills() throws {
        let (model, tokenizer) = try makeModel()
        // Single-letter stop strings make many samples stop after a token or two while others run on.
        let stop = StopRules(maxTokens: 12, stopStrings: ["e", "a"], stopAtEndOfGeneration: true)
        let a = Job(prompt: try tokenizer.encode("Q: 12+34=?\nA:"), seed: 5, samples: 6)
        let b = Job(prompt: try tokenizer.encode("Once upon a time"), seed: 9, samples: 5)
        let c = Job(prompt: try tokenizer.encode("x"), seed: 2, samples: 3)
        let aloneA = try run([a], model: model, tokenizer: tokenizer, maxBatch: 1, stop: stop)[0]
        let aloneB = try run([b], model: model, tokenizer: tokenizer, maxBatch: 1, stop: stop)[0]
        let aloneC = try run([c], model: model, tokenizer: tokenizer, maxBatch: 1, stop: stop)[0]
        let lengths = aloneA.map(\.count) + aloneB.map(\.count)
        XCTAssertTrue(lengths.contains { $0 < 12 } && lengths.contains { $0 == 12 }, "the test needs early stops beside long samples: \(lengths)")
        for maxBatch in [3, 7, 16] {
            let together = try run([a, b, c], model: model, tokenizer: tokenizer, maxBatch: maxBatch, stop: stop)
            XCTAssertEqual(together[0], aloneA, "request A beside others, batch \(maxBatch)")
            XCTAssertEqual(together[1], aloneB, "request B beside others, batch \(maxBatch)")
            XCTAssertEqual(together[2], aloneC, "request C beside others, batch \(maxBatch)")
        }
    }

    /// A request submitted while another is decoding joins at the next token boundary.
    func testARequestJoinsARunningBatch() throws {
        let (model, tokenizer) = try makeModel()
        let stop = StopRules(maxTokens: 10, stopAtEndOfGeneration: false)
        let settings = SamplerSettings.greedy
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: 8)
        var first: [Int] = [], second: [Int] = []
        let prompt = try tokenizer.encode("Hello")
        try loop.submit(DecodeRequest(prompt: prompt, samples: [0], stop: stop, makeSampler: { _ in Sampler(settings: settings, rng: SeededRandom(seed: 1)) },
                                      onFinish: { first = $0.tokens }))
        for _ in 0..<4 { try loop.step() }
        XCTAssertEqual(loop.liveCount, 1)
        try loop.submit(DecodeRequest(prompt: prompt, samples: [0], stop: stop, makeSampler: { _ in Sampler(settings: settings, rng: SeededRandom(seed: 1)) },
                                      onFinish: { second = $0.tokens }))
        try loop.step()
        XCTAssertEqual(loop.liveCount, 2, "the new request decodes beside the running one")
        try loop.run()
        XCTAssertEqual(first.count, 10)
        XCTAssertEqual(first, second, "greedy continuations of the same prompt agree whenever they start")
    }

    /// Cancelling frees the request's cells at once; the others run on.
    func testCancelFreesCellsAtOnce() throws {
        let (model, tokenizer) = try makeModel()
        let stop = StopRules(maxTokens: 20, stopAtEndOfGeneration: false)
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: 8)
        var finished: [Int] = []
        let prompt = try tokenizer.encode("Once upon a time")
        let doomed = try loop.submit(DecodeRequest(prompt: prompt, samples: Array(0..<4), stop: stop,
                                                   makeSampler: { Sampler(settings: .greedy, rng: SeededRandom(seed: UInt64($0))) }))
        try loop.submit(DecodeRequest(prompt: prompt, samples: [0], stop: stop, makeSampler: { _ in Sampler(settings: .greedy, rng: SeededRandom(seed: 3)) },
                                      onFinish: { finished = $0.tokens }))
        for _ in 0..<3 { try loop.step() }
        let usedBefore = model.cacheCapacity - model.freeCells
        loop.cancel(doomed)
        let usedAfter = model.cacheCapacity - model.freeCells
        XCTAssertEqual(loop.liveCount, 1)
        XCTAssertLessThan(usedAfter, usedBefore, "the cancelled samples' cells are free")
        try loop.run()
        XCTAssertEqual(finished.count, 20)
        XCTAssertEqual(model.freeCells, model.cacheCapacity)
    }

    /// A 150-token prompt: long enough for many chunks, short enough for the 256-token context.
    static let longPrompt = (0..<150).map { 3 + ($0 * 37) % 690 }

    /// A long prompt prefilled in chunks, alone or while other requests decode, gives the same
    /// tokens as the whole prompt in one forward call (what the loop did before chunking).
    func testChunkedPrefillGivesTheSameTokensAloneAndBesideDecoding() throws {
        let (model, tokenizer) = try makeModel(cacheCells: 512)
        let stop = StopRules(maxTokens: 12, stopAtEndOfGeneration: false)
        let long = Job(prompt: Self.longPrompt, seed: 21, samples: 2)
        let short = Job(prompt: try tokenizer.encode("Once upon a time"), seed: 4, samples: 3)
        // Tokens and logprobs: equal logprobs mean the logits they came from are equal to the bit.
        func signature(_ samples: [SampleOutput]) -> [[Double]] { samples.map { $0.tokens.map(Double.init) + $0.logprobs } }
        let whole = signature(try outputs([long], model: model, tokenizer: tokenizer, maxBatch: 4, stop: stop, prefillChunk: 1000)[0])
        // 16: ten chunks, the last one of 6 tokens; 149: a last chunk of one token; 7: odd splits.
        for chunk in [16, 149, 7] {
            XCTAssertEqual(signature(try outputs([long], model: model, tokenizer: tokenizer, maxBatch: 4, stop: stop, prefillChunk: chunk)[0]), whole,
                           "alone, \(chunk) prompt tokens per step")
        }
        let shortAlone = signature(try outputs([short], model: model, tokenizer: tokenizer, maxBatch: 4, stop: stop)[0])
        // The short request is admitted first and decodes while the long prompt is prefilled.
        let recording = RecordingModel(model)
        let together = try outputs([short, long], model: recording, tokenizer: tokenizer, maxBatch: 8, stop: stop, prefillChunk: 16)
        XCTAssertEqual(signature(together[0]), shortAlone)
        XCTAssertEqual(signature(together[1]), whole, "the long prompt prefilled in chunks beside decoding sequences")
        let mixed = recording.batches.filter { b in b.contains { $0.wantsLogits && $0.position < short.prompt.count + 12 && $0.position >= short.prompt.count }
                                                  && b.contains { !$0.wantsLogits } }
        XCTAssertGreaterThan(mixed.count, 3, "several steps ran prompt chunks beside decoding rows")
    }

    /// While a long prompt is prefilled chunk by chunk, a running sequence gets a token every
    /// step; each step carries at most `prefillChunk` prompt rows, and only the prompt's last
    /// position asks for logits.
    func testRunningSequencesGetATokenEveryStepWhileALongPromptPrefills() throws {
        let (base, tokenizer) = try makeModel()
        let model = RecordingModel(base)
        let chunk = 16
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: 4, prefillChunk: chunk)
        var runningTokens = 0
        try loop.submit(DecodeRequest(prompt: try tokenizer.encode("Hello"), samples: [0], stop: StopRules(maxTokens: 60, stopAtEndOfGeneration: false),
                                      makeSampler: { _ in Sampler(settings: .greedy, rng: SeededRandom(seed: 1)) },
                                      onToken: { _, _, _ in runningTokens += 1 }))
        for _ in 0..<3 { try loop.step() }
        XCTAssertEqual(loop.liveCount, 1)
        var longTokens = 0
        try loop.submit(DecodeRequest(prompt: Self.longPrompt, samples: [0], stop: StopRules(maxTokens: 4, stopAtEndOfGeneration: false),
                                      makeSampler: { _ in Sampler(settings: .greedy, rng: SeededRandom(seed: 2)) },
                                      onToken: { _, _, _ in longTokens += 1 }))
        let firstPrefillBatch = model.batches.count
        var prefillSteps = 0
        repeat {
            let before = runningTokens
            try loop.step()
            prefillSteps += 1
            XCTAssertEqual(runningTokens, before + 1, "the running sequence produced a token in prefill step \(prefillSteps)")
            XCTAssertEqual(longTokens, 0, "no token before the prompt is complete")
        } while loop.prefillingCount > 0
        XCTAssertEqual(prefillSteps, (Self.longPrompt.count + chunk - 1) / chunk)
        XCTAssertEqual(loop.liveCount, 2, "the long request's sample joined when its last chunk ran")

        var promptPositions: [Int] = []
        for batch in model.batches[firstPrefillBatch...] {
            XCTAssertTrue(batch[0].wantsLogits, "the running sequence's row leads the batch")
            let prompt = batch.dropFirst()
            XCTAssertLessThanOrEqual(prompt.count, chunk)
            for e in prompt {
                XCTAssertEqual(e.wantsLogits, e.position == Self.longPrompt.count - 1, "logits only for the prompt's last position (row at \(e.position))")
                XCTAssertEqual(e.token, Self.longPrompt[e.position])
            }
            promptPositions += prompt.map(\.position)
        }
        XCTAssertEqual(promptPositions, Array(0..<Self.longPrompt.count), "every prompt position exactly once, in order")
        try loop.run()
        XCTAssertEqual(longTokens, 4)
        XCTAssertEqual(runningTokens, 60)
    }

    /// Cancelling a request while its prompt is being prefilled frees its cells at once; the
    /// running request goes on.
    func testCancelDuringPrefillFreesItsCells() throws {
        let (model, tokenizer) = try makeModel()
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: 4, prefillChunk: 16)
        var finished: [Int] = []
        try loop.submit(DecodeRequest(prompt: try tokenizer.encode("Hello"), samples: [0], stop: StopRules(maxTokens: 20, stopAtEndOfGeneration: false),
                                      makeSampler: { _ in Sampler(settings: .greedy, rng: SeededRandom(seed: 1)) }, onFinish: { finished = $0.tokens }))
        try loop.step()
        let long = try loop.submit(DecodeRequest(prompt: Self.longPrompt, samples: [0, 1], stop: StopRules(maxTokens: 8),
                                                 makeSampler: { _ in Sampler(settings: .greedy, rng: SeededRandom(seed: 2)) }))
        let usedBefore = model.cacheCapacity - model.freeCells
        for _ in 0..<3 { try loop.step() }
        XCTAssertEqual(loop.prefillingCount, 1)
        let used = model.cacheCapacity - model.freeCells
        XCTAssertEqual(used, usedBefore + 3 + 3 * 16, "three decoded tokens and three prompt chunks")
        loop.cancel(long)
        XCTAssertEqual(model.cacheCapacity - model.freeCells, usedBefore + 3, "the partial prompt's cells are free")
        XCTAssertEqual(loop.prefillingCount, 0)
        try loop.run()
        XCTAssertEqual(finished.count, 20)
        XCTAssertEqual(model.freeCells, model.cacheCapacity)
        XCTAssertTrue(loop.isIdle)
    }

    func testBadRequestsAreErrors() throws {
        let (model, tokenizer) = try makeModel(cacheCells: 64)
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: 4)
        let make: (Int) -> Sampler = { _ in Sampler(settings: .greedy, rng: SeededRandom(seed: 1)) }
        XCTAssertThrowsError(try loop.submit(DecodeRequest(prompt: [], samples: [0], stop: StopRules(maxTokens: 4), makeSampler: make)))
        XCTAssertThrowsError(try loop.submit(DecodeRequest(prompt: [1], samples: [], stop: StopRules(maxTokens: 4), makeSampler: make)))
        XCTAssertThrowsError(try loop.submit(DecodeRequest(prompt: [1], samples: [0], stop: StopRules(maxTokens: 0), makeSampler: make)))
        XCTAssertThrowsError(try loop.submit(DecodeRequest(prompt: Array(repeating: 5, count: 64), samples: [0], stop: StopRules(maxTokens: 4), makeSampler: make)))
        XCTAssertThrowsError(try loop.submit(DecodeRequest(prompt: [1, 2], samples: Array(0..<4), stop: StopRules(maxTokens: 30), makeSampler: make))) { error in
            XCTAssertTrue("\(error)".contains("KV cache"), "\(error)")
        }
        XCTAssertThrowsError(try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: 0))
        XCTAssertThrowsError(try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: 1, prefillChunk: 0))
        XCTAssertTrue(loop.isIdle)
    }
}
