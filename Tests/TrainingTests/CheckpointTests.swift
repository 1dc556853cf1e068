import CPUBackend
import Foundation
import GGUF
import LlamaCore
import TestSupport
import Tokenizers
import Training
import XCTest

/// A checkpoint loads in the inference engine and gives the logits training computed.
final class CheckpointTests: XCTestCase {
    static let vocabulary = CharVocabulary(coveringTexts: ["Q: 123+456=?\nA: 579", "Numbers: 3 5 7\nTarget: 24 (3 * 8) / x"])

    func trainedModel(tied: Bool, steps: Int = 3) throws -> TinyLlama<Float> {
        let config = ModelConfig.training(dim: 32, layers: 2, heads: 4, kvHeads: 2, ffnDim: 48, vocabSize: Self.vocabulary.count,
                                     contextLength: 24, tiedOutput: tied)
        let model = try TinyLlama<Float>(config: config, threads: 2)
        model.params.initialize(seed: 5, std: 0.1)
        // A few real updates so the norms and weights are no longer at their initial values.
        let adam = AdamW<Float>(config: config)
        let batch = TokenBatch(sequence: Self.sequence)
        for _ in 0..<steps {
            try model.forward(batch)
            try model.backward()
            adam.update(model.params, grads: model.grads, lr: 1e-2)
        }
        return model
    }

    static let sequence = [CharVocabulary.bos] + vocabulary.encode("Q: 12+345=?\nA: 357")

    func logitsThroughEngine(_ path: String, tokens: [Int], mode: CPUBackend.Mode) throws -> [[Float]] {
        let lm = try Transformer(gguf: GGUFFile(path: path), backend: CPUBackend(mode: mode))
        return try lm.forward(.prompt(tokens, allLogits: true))
    }

    func checkLogits(tied: Bool, type: TensorType, budget: Double) throws {
        let model = try trainedModel(tied: tied)
        let dir = try Fixtures.temporaryDirectory()
        let path = dir.appendingPathComponent("m.gguf").path
        try Checkpoint.write(params: model.params, vocabulary: Self.vocabulary, type: type, training: [("training.steps", .uint32(3))], to: path)

        let tokens = Self.sequence
        // Training's own forward of the weights as stored (F16 rounds them; compare like with like).
        let reloaded = try TinyLlama<Float>(config: model.config)
        try Checkpoint.load(GGUFFile(path: path), into: reloaded.params)
        try reloaded.forward(TokenBatch(sequence: tokens))
        let mine = reloaded.logits
        // The reference loops (the oracle) and the fast paths `llamacl eval` runs by default.
        for mode in [CPUBackend.Mode.reference, .fast] {
            let engine = try logitsThroughEngine(path, tokens: tokens, mode: mode).flatMap { $0 }
            let nmse = Budget.nmse(engine, mine)
            print("checkpoint \(type) \(tied ? "tied" : "untied"): NMSE engine (\(mode)) vs training forward = \(nmse)")
            XCTAssertLessThanOrEqual(nmse, budget, "\(mode)")
        }
        if type == .f32 {
            XCTAssertEqual(reloaded.params.entries.map(\.tensor.values), model.params.entries.map(\.tensor.values), "F32 round-trips exactly")
        }
    }

    func testF32TiedLogitsMatchEngine() throws { try checkLogits(tied: true, type: .f32, budget: Budget.f32VsExact) }
    func testF32UntiedLogitsMatchEngine() throws { try checkLogits(tied: false, type: .f32, budget: Budget.f32VsExact) }
    func testF16LogitsMatchEngine() throws { try checkLogits(tied: true, type: .f16, budget: Budget.f32VsExact) }

    func testMetadataAndTensors() throws {
        let model = try trainedModel(tied: true, steps: 0)
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("m.gguf").path
        try Checkpoint.write(params: model.params, vocabulary: Self.vocabulary, training: [("training.task", .string("unit"))], to: path)
        let gguf = try GGUFFile(path: path)
        let config = try ModelConfig(gguf: gguf)
        XCTAssertEqual(config.dim, 32); XCTAssertEqual(config.layers, 2); XCTAssertEqual(config.heads, 4); XCTAssertEqual(config.kvHeads, 2)
        XCTAssertEqual(config.ffnDim, 48); XCTAssertEqual(config.vocabSize, Self.vocabulary.count); XCTAssertEqual(config.contextLength, 24)
        XCTAssertEqual(config.ropeStyle, .normal)
        XCTAssertNil(gguf.tensor(named: "output.weight"), "tied output writes no output.weight")
        XCTAssertEqual(try gguf.string("training.task"), "unit")
        XCTAssertEqual(try gguf.bool("tokenizer.ggml.add_space_prefix"), false)
        XCTAssertThrowsError(try Checkpoint.write(params: model.params, vocabulary: Self.vocabulary, type: .q4_0, to: path + "2"))
    }

    /// Our SPM tokenizer reads the vocabulary back and encodes task text one token per character,
    /// exactly as the trainer does; decoding round-trips.
    func testTokenizerEncodesOneTokenPerCharacter() throws {
        let model = try trainedModel(tied: true, steps: 0)
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("m.gguf").path
        try Checkpoint.write(params: model.params, vocabulary: Self.vocabulary, to: path)
        let tokenizer = try loadTokenizer(path: path)
        XCTAssertEqual(tokenizer.vocabSize, Self.vocabulary.count)
        for text in ["Q: 123+456=?\nA: 579", "12+3", " 7 * (3 - 5) / 8", "Target: 24", "ünïcode ☃ and \t tabs"] {
            let ids = try tokenizer.encode(text, addSpecial: true, parseSpecial: false)
            XCTAssertEqual(ids, [CharVocabulary.bos] + Self.vocabulary.encode(text), text)
            XCTAssertEqual(tokenizer.decode(ids), text)
            XCTAssertEqual(Self.vocabulary.decode(Self.vocabulary.encode(text)), text)
        }
        // Alphabet characters: one token each (the newline goes through its byte token, also one).
        let task = "Q: 123+456=?\nA: 579"
        XCTAssertEqual(try tokenizer.encode(task, addSpecial: false, parseSpecial: false).count, task.unicodeScalars.count)
        XCTAssertEqual(tokenizer.tokenText(Self.vocabulary.encode(" ")[0]), "\u{2581}")
    }

    /// A checkpoint writes `ModelConfig.ggufMetadata` and `TrainingProvenance.metadata`, and reads back as both.
    func testSchemaAndProvenanceRoundTrip() throws {
        let model = try trainedModel(tied: false, steps: 0)
        let provenance = TrainingProvenance(data: "unit", steps: 3, tokens: 72, seed: 5, items: 10, batch: 1, learningRate: 0.01,
                                            lossScope: "all", engine: "llamacl test", finalLoss: 2.5, heldOutLoss: nil)
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("m.gguf").path
        try Checkpoint.write(params: model.params, vocabulary: Self.vocabulary, training: provenance.metadata, to: path)
        let gguf = try GGUFFile(path: path)
        XCTAssertEqual(try ModelConfig(gguf: gguf), model.config)
        let llamaKeys = gguf.metadataKeys.filter { $0.hasPrefix("llama.") }
        XCTAssertEqual(llamaKeys, model.config.ggufMetadata.map(\.0))
        XCTAssertEqual(llamaKeys.map { gguf.metadata[$0]! }, model.config.ggufMetadata.map(\.1))
        var expected = provenance
        expected.learningRate = Double(Float(0.01))   // stored as float32
        XCTAssertEqual(try TrainingProvenance(gguf: gguf), expected)
    }

    /// The committed checkpoints, read and written again through `ModelConfig.ggufMetadata` and
    /// `TrainingProvenance`, come out byte for byte the same (one predates `training.items`).
    func testCommittedCheckpointsRewriteIdentically() throws {
        for relative in ["models/arithmetic.gguf", "experiments/compute-matched/models/c1e13_d48l2.gguf"] {
            let path = Fixtures.packageRoot.appendingPathComponent(relative).path
            guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(relative) not in this checkout") }
            let gguf = try GGUFFile(path: path)
            let config = try ModelConfig(gguf: gguf)
            XCTAssertNoThrow(try config.validateForTraining())
            let provenance = try XCTUnwrap(try TrainingProvenance(gguf: gguf), relative)
            XCTAssertEqual(provenance.items == nil, relative.contains("c1e13"), relative)
            XCTAssertEqual(provenance.metadata.map(\.0), gguf.metadataKeys.filter { $0.hasPrefix("training.") })
            let tokens = try XCTUnwrap(try gguf.stringArray("tokenizer.ggml.tokens"))
            let vocabulary = CharVocabulary(characters: tokens[3..<(tokens.count - 256)].map { $0.unicodeScalars.first! })
            let params = ParameterSet<Float>(config: config)
            try Checkpoint.load(gguf, into: params)
            let out = try Fixtures.temporaryDirectory().appendingPathComponent("m.gguf").path
            try Checkpoint.write(params: params, vocabulary: vocabulary, type: .f32, name: try XCTUnwrap(try gguf.string("general.name")),
                                 training: provenance.metadata, to: out)
            let original = try Data(contentsOf: URL(fileURLWithPath: path)), rewritten = try Data(contentsOf: URL(fileURLWithPath: out))
            XCTAssertEqual(original.count, rewritten.count, relative)
            XCTAssertTrue(original == rewritten, "\(relative) rewritten differs")
        }
    }
}
