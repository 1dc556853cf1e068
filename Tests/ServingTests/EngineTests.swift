import CPUBackend
import Foundation
import Generation
import GGUF
import LlamaCore
@testable import Serving
import TestSupport
import Tokenizers
import XCTest

/// The engine thread over a small synthetic model: the loop's per-token callback, seeded
/// requests that give the same tokens alone and among others, cancellation freeing cells, 429.
final class EngineTests: XCTestCase {
    static let shape = ModelSynthesizer.Shape(dim: 64, layers: 2, heads: 4, kvHeads: 2, ffnDim: 96, vocabSize: 700, contextLength: 256)

    func makeModel(cacheCells: Int = 512) throws -> (Transformer<CPUBackend>, any Tokenizer) {
        let w = try ModelSynthesizer(shape: Self.shape, type: .q8_0, seed: 5)
            .makeWriter(tokenizer: ModelSynthesizer.builtinByteVocabulary(size: Self.shape.vocabSize))
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("engine-model.gguf").path
        try w.write(to: path)
        let gguf = try GGUFFile(path: path)
        return (try Transformer(gguf: gguf, backend: CPUBackend(mode: .quantized, threads: 2), cacheCells: cacheCells), try loadTokenizer(from: gguf))
    }

    let settings = SamplerSettings(temperature: 1, topK: 0, topP: 1, minP: 0)

    func job(_ prompt: [Int], seed: UInt64, samples: Int = 1, maxTokens: Int = 12, top: Int? = nil) -> Job {
        Job(prompt: prompt, samples: samples, stop: StopRules(maxTokens: maxTokens, stopAtEndOfGeneration: false), settings: settings,
            seed: seed, topLogprobs: top)
    }

    /// Everything a job delivers, by sample.
    func drain(_ job: Job) async throws -> [Int: SampleDelta] {
        var all: [Int: SampleDelta] = [:]
        while let d = await job.mailbox.next() {
            for (i, s) in d.samples {
                all[i, default: SampleDelta()].text += s.text
                all[i, default: SampleDelta()].tokens += s.tokens
                if let r = s.finishReason { all[i]!.finishReason = r; all[i]!.completionTokens = s.completionTokens }
            }
            if let f = d.failure { throw f }
            if d.done { break }
        }
        return all
    }

    /// The loop's `onToken`: once per output token, in order, with the logprob it reports.
    func testOnTokenSeesEveryOutputToken() throws {
        let (model, tokenizer) = try makeModel()
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: 2)
        var seen: [Int: [(Int, Double, Int)]] = [:]
        var outputs: [SampleOutput] = []
        try loop.submit(DecodeRequest(
            prompt: [1, 50, 60, 70], samples: [0, 1], stop: StopRules(maxTokens: 6),
            makeSampler: { Sampler(settings: self.settings, rng: SeededRandom(seed: 3, streams: [0, UInt64($0)])) },
            onToken: { i, t, logits in seen[i, default: []].append((t.token, t.logprob, logits.count)) },
            onFinish: { outputs.append($0) }))
        try loop.run()
        XCTAssertEqual(outputs.count, 2)
        for o in outputs {
            XCTAssertEqual(seen[o.index]?.map(\.0), o.tokens)
            XCTAssertEqual(seen[o.index]?.map(\.1), o.logprobs)
            XCTAssertTrue(seen[o.index]?.allSatisfy { $0.2 == Self.shape.vocabSize } ?? false)
        }
    }

    func testSeededJobIsTheSameAloneAndUnderLoad() async throws {
        let (model, tokenizer) = try makeModel()
        let engine = try Engine(model: model, tokenizer: tokenizer, options: .init(parallel: 4, maxRequests: 32), metrics: Metrics())
        engine.start()
        defer { engine.stop() }
        let probe = [1, 10, 20, 30, 40]
        let alone = job(probe, seed: 77, samples: 2, top: 2)
        try engine.submit(alone)
        let aloneOut = try await drain(alone)

        var others: [Job] = []
        for k in 0..<6 {
            let o = job([1, 100 + k, 200 + k], seed: UInt64(k), samples: k % 2 + 1, maxTokens: 5 + k)
            try engine.submit(o)
            others.append(o)
        }
        let again = job(probe, seed: 77, samples: 2, top: 2)
        try engine.submit(again)
        let againOut = try await drain(again)
        for o in others { _ = try await drain(o) }

        XCTAssertEqual(aloneOut.keys.sorted(), [0, 1])
        for i in 0...1 {
            XCTAssertEqual(aloneOut[i]?.tokens.map(\.token), againOut[i]?.tokens.map(\.token), "sample \(i)")
            XCTAssertEqual(aloneOut[i]?.text, againOut[i]?.text)
            XCTAssertEqual(aloneOut[i]?.completionTokens, 12)
            XCTAssertEqual(aloneOut[i]?.finishReason, .maxTokens)
            XCTAssertEqual(aloneOut[i]?.tokens.first?.top.count, 2)
        }
        XCTAssertNotEqual(aloneOut[0]?.tokens.map(\.token), aloneOut[1]?.tokens.map(\.token), "samples draw from their own streams")
    }

    func testCancelFreesCellsAtOnce() async throws {
        let (model, tokenizer) = try makeModel()
        let metrics = Metrics()
        let engine = try Engine(model: model, tokenizer: tokenizer, options: .init(parallel: 2, maxRequests: 8), metrics: metrics)
        engine.start()
        defer { engine.stop() }
        let long = job([1, 5, 6, 7], seed: 1, samples: 2, maxTokens: 200)
        try engine.submit(long)
        _ = await long.mailbox.next()   // it is generating
        engine.cancel(long)
        while let d = await long.mailbox.next(), !d.done {}
        for _ in 0..<100 where metrics.kvCellsInUse != 0 { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertEqual(metrics.kvCellsInUse, 0)
        // The engine goes on serving.
        let next = job([1, 2, 3], seed: 2, maxTokens: 3)
        try engine.submit(next)
        let out = try await drain(next)
        XCTAssertEqual(out[0]?.completionTokens, 3)
    }

    func testFullQueueIs429() throws {
        let (model, tokenizer) = try makeModel()
        // Not started: nothing leaves the queue.
        let engine = try Engine(model: model, tokenizer: tokenizer, options: .init(parallel: 1, maxRequests: 2), metrics: Metrics())
        try engine.submit(job([1, 2], seed: 1))
        try engine.submit(job([1, 2], seed: 2))
        XCTAssertThrowsError(try engine.submit(job([1, 2], seed: 3))) { XCTAssertEqual(($0 as? APIError)?.status, 429) }
    }
}
