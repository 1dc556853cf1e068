import CPUBackend
import Foundation
import Generation
import GGUF
import LlamaCore
import TestSupport
import Tokenizers
import XCTest

/// Best-of-N sampling: each sample's tokens depend only on (seed, problem, sample index),
/// never on how many samples decode together, and the prompt's KV cells are shared.
final class ParallelSamplerTests: XCTestCase {
    static let shape = ModelSynthesizer.Shape(dim: 64, layers: 2, heads: 4, kvHeads: 2, ffnDim: 96, vocabSize: 700, contextLength: 128)

    func makeModel(type: TensorType = .q8_0, mode: CPUBackend.Mode = .fast) throws -> (Transformer<CPUBackend>, any Tokenizer) {
        let w = try ModelSynthesizer(shape: Self.shape, type: type, seed: 7)
            .makeWriter(tokenizer: ModelSynthesizer.builtinByteVocabulary(size: Self.shape.vocabSize))
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("m-\(type)-\(mode).gguf").path
        try w.write(to: path)
        let gguf = try GGUFFile(path: path)
        return (try Transformer(gguf: gguf, backend: CPUBackend(mode: mode, threads: 2), cacheCells: 128), try loadTokenizer(from: gguf))
    }

    /// F32 activations, and the 8-bit-activation kernels the CLI uses by default (a batch of 16
    /// takes the packed panels, a lone sample the decoding path).
    func testBatchInvarianceN16() throws {
        for (type, mode) in [(TensorType.q8_0, CPUBackend.Mode.fast), (.q8_0, .quantized), (.q4_0, .quantized)] {
            try checkBatchInvariance(type: type, mode: mode)
        }
    }

    func checkBatchInvariance(type: TensorType, mode: CPUBackend.Mode) throws {
        let (model, tokenizer) = try makeModel(type: type, mode: mode)
        let prompt = try tokenizer.encode("Q: 12+34=?\nA:")
        let settings = SamplerSettings(temperature: 1.0, topK: 0, topP: 1, minP: 0)
        let sampler = Generator(model: model, tokenizer: tokenizer)
        let stop = StopRules(maxTokens: 6, stopAtEndOfGeneration: false)
        var runs: [[SampleOutput]] = []
        for batch in [1, 4, 16] {
            runs.append(try sampler.sample(prompt: prompt, indices: Array(0..<16), batch: batch, settings: settings, seed: 99, problem: 3, stop: stop))
        }
        XCTAssertEqual(runs[0].map(\.index), Array(0..<16))
        for run in runs.dropFirst() {
            XCTAssertEqual(run.map(\.tokens), runs[0].map(\.tokens), "\(type) \(mode): tokens must not depend on the batch size")
            XCTAssertEqual(run.map(\.logprobs), runs[0].map(\.logprobs), "\(type) \(mode)")
        }
        // Samples in a batch are really different streams, and one sample alone matches too.
        XCTAssertGreaterThan(Set(runs[0].map(\.tokens)).count, 8)
        let alone = try sampler.sample(prompt: prompt, indices: [5], batch: 1, settings: settings, seed: 99, problem: 3, stop: stop)
        XCTAssertEqual(alone[0].tokens, runs[0][5].tokens)
        // Everything is released afterwards.
        XCTAssertEqual(model.freeCells, model.cacheCapacity)
    }

    func testCacheTooSmallForTheBatchIsAnError() throws {
        let (model, tokenizer) = try makeModel()
        let sampler = Generator(model: model, tokenizer: tokenizer)
        XCTAssertThrowsError(try sampler.sample(prompt: [1, 50, 51], indices: Array(0..<16), batch: 16, settings: .greedy, seed: 1, problem: 0,
                                                stop: StopRules(maxTokens: 64))) { error in
            XCTAssertTrue("\(error)".contains("KV cache"), "\(error)")
        }
        XCTAssertThrowsError(try sampler.sample(prompt: [1, 50], indices: [0], batch: 0, settings: .greedy, seed: 1, problem: 0, stop: StopRules(maxTokens: 4)))
    }
}
