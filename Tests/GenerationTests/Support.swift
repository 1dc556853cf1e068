import CPUBackend
import Foundation
import Generation
import GGUF
import LlamaCore
import TestSupport
import Tokenizers
import XCTest

/// A stand-in model that "predicts" a fixed script of tokens: step k's logits put all the mass
/// on script[k] (a one-hot), so greedy generation replays the script exactly. This makes stop
/// strings, EOS and streaming testable on chosen text rather than a random model's output.
final class ScriptedModel: LanguageModel {
    let config: ModelConfig
    var script: [Int]
    let cacheCapacity: Int
    var layerObserver: ((Int, [Float]) -> Void)?
    private(set) var step = 0
    private(set) var fed: [BatchEntry] = []

    init(vocabSize: Int, contextLength: Int = 512, script: [Int]) {
        config = ModelConfig(architecture: .llama, dim: 8, layers: 1, heads: 1, kvHeads: 1, ffnDim: 8, vocabSize: vocabSize, contextLength: contextLength)
        cacheCapacity = contextLength
        self.script = script
    }

    var backendName: String { "scripted" }
    var deviceName: String { "none" }
    var freeCells: Int { cacheCapacity - fed.count }

    func forward(_ batch: [BatchEntry]) throws -> [[Float]] {
        for e in batch {
            guard e.position < config.contextLength else { throw ModelError.contextOverflow(needed: e.position + 1, context: config.contextLength) }
            guard e.position == fed.count else { throw ModelError.invalidBatch("position \(e.position) after \(fed.count) tokens") }
            fed.append(e)
        }
        let next = step < script.count ? script[step] : 0
        step += 1
        var row = [Float](repeating: -10, count: config.vocabSize)
        row[next] = 10
        return batch.filter(\.wantsLogits).map { _ in row }
    }

    func copySequence(_ source: Int, to destination: Int) {}
    func removeSequence(_ seq: Int) {}
    func resetCache() { step = 0; fed = [] }
}

enum GenerationFixtures {
    struct Reference: Decodable {
        let prompt: String
        let prompt_tokens: [Int]
        let greedy_tokens: [Int]
    }

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: try Fixtures.require("reference/tiny-spm-f32.json"))))
    }

    /// The tiny F32 fixture model on the CPU with its tokenizer.
    static func tinyModel(cacheCells: Int = 256) throws -> (Transformer<CPUBackend>, any Tokenizer) {
        let gguf = try GGUFFile(path: try Fixtures.require("models/tiny-spm-f32.gguf"))
        return (try Transformer(gguf: gguf, backend: CPUBackend(), cacheCells: cacheCells), try loadTokenizer(from: gguf))
    }

    /// The Llama 2 SentencePiece tokenizer (32000 tokens) alone.
    static func spmTokenizer() throws -> any Tokenizer {
        try loadTokenizer(path: try Fixtures.require("tokenizer/ggml-vocab-llama-spm.gguf"))
    }

    /// A small random-weight model with a byte-level vocabulary, written to a temporary file.
    static func synthetic(context: Int) throws -> (Transformer<CPUBackend>, any Tokenizer) {
        let shape = ModelSynthesizer.Shape(dim: 64, layers: 1, heads: 2, kvHeads: 1, ffnDim: 96, vocabSize: 600, contextLength: context)
        let url = try Fixtures.temporaryDirectory().appendingPathComponent("synthetic.gguf")
        try ModelSynthesizer(shape: shape, type: .f32).makeWriter(tokenizer: ModelSynthesizer.builtinByteVocabulary(size: 600)).write(to: url.path)
        let gguf = try GGUFFile(path: url.path)
        return (try Transformer(gguf: gguf, backend: CPUBackend()), try loadTokenizer(from: gguf))
    }

    /// The text that `tokens` add after `prompt`: decode(prompt + tokens) minus decode(prompt).
    static func continuation(_ tokenizer: any Tokenizer, prompt: [Int], tokens: [Int]) -> String {
        let all = tokenizer.decodeBytes(prompt + tokens), head = tokenizer.decodeBytes(prompt)
        return String(decoding: all.dropFirst(head.count), as: UTF8.self)
    }
}

extension Generator {
    /// Generates and also returns the pieces handed to `onText`, in order.
    func generateCollecting(prompt: [Int], settings: SamplerSettings = .greedy, seed: UInt64 = 1, stop: StopRules) throws -> (GenerationResult, [String]) {
        let sampler = Sampler(settings: settings, rng: SeededRandom(seed: seed))
        var pieces: [String] = []
        let result = try generate(prompt: prompt, sampler: sampler, stop: stop) { pieces.append($0) }
        return (result, pieces)
    }
}

/// A model that passes every call to `base` and records each forward's batch, so a test can
/// check what the decoding loop asks for (which rows, which logits).
final class RecordingModel: LanguageModel {
    let base: any LanguageModel
    private(set) var batches: [[BatchEntry]] = []

    init(_ base: any LanguageModel) { self.base = base }

    var config: ModelConfig { base.config }
    var backendName: String { base.backendName }
    var deviceName: String { base.deviceName }
    var cacheCapacity: Int { base.cacheCapacity }
    var freeCells: Int { base.freeCells }
    var layerObserver: ((Int, [Float]) -> Void)? {
        get { base.layerObserver }
        set { base.layerObserver = newValue }
    }

    func forward(_ batch: [BatchEntry]) throws -> [[Float]] {
        batches.append(batch)
        return try base.forward(batch)
    }

    func copySequence(_ source: Int, to destination: Int) { base.copySequence(source, to: destination) }
    func removeSequence(_ seq: Int) { base.removeSequence(seq) }
    func resetCache() { base.resetCache() }
}
