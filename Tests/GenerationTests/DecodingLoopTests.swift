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
    func run(_ jobs: [Job], model: any LanguageModel, tokenizer: any Tokenizer, maxBatch: Int, stop: StopRules) throws -> [[[Int]]] {
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: maxBatch)
        var results = jobs.map { Array(repeating: [Int](), count: $0.samples) }
        for (j, job) in jobs.enumerated() {
            let settings = SamplerSettings(temperature: 1.0, topK: 0, topP: 1, minP: 0)
            try loop.submit(DecodeRequest(prompt: job.prompt, samples: Array(0..<job.samples), stop: stop,
                                          makeSampler: { Sampler(settings: settings, rng: SeededRandom(seed: job.seed, streams: [0, UInt64($0)])) },
                                          onFinish: { results[j][$0.index] = $0.tokens }))
        }
        try loop.run()
        XCTAssertEqual(model.freeCells, model.cacheCapacity, "every cell is freed when the loop is idle")
        return results
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
        XCTAssertTrue(loop.isIdle)
    }
}
