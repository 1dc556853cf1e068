import CPUBackend
import Foundation
import GGUF
import LlamaCore
import TestSupport
import XCTest

/// Metadata and tensors that cannot describe a working model are refused with a clear error,
/// before anything runs.
final class ModelValidationTests: XCTestCase {
    static let shape = ModelSynthesizer.Shape(dim: 64, layers: 2, heads: 4, kvHeads: 2, ffnDim: 96, vocabSize: 600, contextLength: 64)

    func writer(_ shape: ModelSynthesizer.Shape = shape) throws -> GGUFWriter {
        try ModelSynthesizer(shape: shape, type: .f32).makeWriter(tokenizer: ModelSynthesizer.builtinByteVocabulary(size: shape.vocabSize))
    }

    func load(_ w: GGUFWriter) throws -> Transformer<CPUBackend> {
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("m.gguf").path
        try w.write(to: path)
        return try Transformer(gguf: GGUFFile(path: path), backend: CPUBackend())
    }

    func assertModelError(_ edit: (inout GGUFWriter) throws -> Void, contains text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var w = try writer()
        try edit(&w)
        XCTAssertThrowsError(try load(w), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            XCTAssertTrue(message.contains(text), "'\(message)' should mention '\(text)'", file: file, line: line)
        }
    }

    func testSyntheticModelLoadsAndRuns() throws {
        let m = try load(try writer())
        let logits = try m.forward(.prompt([1, 5, 9]))
        XCTAssertEqual(logits.count, 1)
        XCTAssertEqual(logits[0].count, 600)
        XCTAssertTrue(logits[0].allSatisfy(\.isFinite))
    }

    func testBadMetadata() throws {
        try assertModelError({ $0.set("llama.attention.head_count", uint32: 0) }, contains: "head_count")
        try assertModelError({ $0.set("llama.attention.head_count", uint32: 5) }, contains: "do not divide the width")
        try assertModelError({ $0.set("llama.attention.head_count_kv", uint32: 3) }, contains: "head_count_kv")
        try assertModelError({ $0.set("llama.rope.freq_base", .float32(.nan)) }, contains: "freq_base")
        try assertModelError({ $0.set("llama.rope.freq_base", .float32(-10000)) }, contains: "freq_base")
        try assertModelError({ $0.set("llama.context_length", uint32: 0) }, contains: "context_length")
        try assertModelError({ $0.set("llama.block_count", uint32: 0) }, contains: "block_count")
        try assertModelError({ $0.set("llama.attention.layer_norm_rms_epsilon", .float32(-1)) }, contains: "epsilon")
        try assertModelError({ $0.set("llama.embedding_length", .string("wide")) }, contains: "embedding_length")
        try assertModelError({ $0.set("general.architecture", "gpt-neox") }, contains: "gpt-neox")
    }

    /// A BOS or EOS id outside the vocabulary is refused at load with the key named, as the
    /// tokenizer refuses it (generation would otherwise embed a token no row exists for).
    func testSpecialTokenOutsideVocabulary() throws {
        for key in ["tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"] {
            try assertModelError({ $0.set(key, uint32: 600) }, contains: key)
            var w = try writer()
            w.set(key, uint32: 600)
            XCTAssertThrowsError(try load(w)) { XCTAssertEqual($0 as? ModelError, .specialTokenOutOfRange(key: key, id: 600, vocabSize: 600)) }
            w.set(key, .int32(-1))
            XCTAssertThrowsError(try load(w)) { XCTAssertEqual($0 as? ModelError, .specialTokenOutOfRange(key: key, id: -1, vocabSize: 600)) }
            w.set(key, uint32: 599)
            XCTAssertNoThrow(try load(w), "the last token is a valid id")
        }
    }

    func testMissingAndMisshapenTensors() throws {
        // More layers than tensors: blk.2 is missing.
        try assertModelError({ $0.set("llama.block_count", uint32: 3) }, contains: "blk.2.attn_norm.weight")
        // A width that contradicts the tensors.
        try assertModelError({ $0.set("llama.feed_forward_length", uint32: 128) }, contains: "ffn_gate.weight")
    }

    func testTokenOutsideVocabularyAndContextOverflow() throws {
        let m = try load(try writer())
        XCTAssertThrowsError(try m.forward(.prompt([1, 600]))) { XCTAssertEqual($0 as? ModelError, .invalidToken(id: 600, vocabSize: 600)) }
        XCTAssertThrowsError(try m.forward([BatchEntry(token: 1, position: 64, wantsLogits: true)])) {
            XCTAssertEqual($0 as? ModelError, .contextOverflow(needed: 65, context: 64))
        }
    }

    /// Several sequences in one batch give the same logits as each run alone (the cells a row
    /// may see are exactly its own sequence's), and a prompt shared by two sequences through
    /// `copySequence` gives the same continuation as recomputing it.
    func testSequencesAreIndependentAndSharedPromptsMatch() throws {
        let m = try load(try writer())
        let a = [1, 40, 41, 42, 43], b = [1, 90, 91]
        let alone = try [a, b].map { prompt -> [Float] in
            m.resetCache()
            return try m.forward(.prompt(prompt)).last!
        }
        m.resetCache()
        let together = try m.forward(.prompt(a, sequence: 0) + .prompt(b, sequence: 1))
        XCTAssertEqual(together.count, 2)
        XCTAssertLessThan(Budget.nmse(together[0], alone[0]), 1e-12)
        XCTAssertLessThan(Budget.nmse(together[1], alone[1]), 1e-12)

        // Shared prompt: sequence 0 holds it, 1 and 2 continue it with different tokens.
        m.resetCache()
        _ = try m.forward(.prompt(a, sequence: 0))
        m.copySequence(0, to: 1); m.copySequence(0, to: 2)
        let forked = try m.forward([BatchEntry(token: 7, position: a.count, sequence: 1, wantsLogits: true),
                                    BatchEntry(token: 8, position: a.count, sequence: 2, wantsLogits: true)])
        XCTAssertEqual(m.cacheCapacity - m.freeCells, a.count + 2, "the prompt is stored once, each sample owns one cell")
        m.removeSequence(1)
        XCTAssertEqual(m.cacheCapacity - m.freeCells, a.count + 1)
        m.removeSequence(0); m.removeSequence(2)
        XCTAssertEqual(m.freeCells, m.cacheCapacity)
        for (i, t) in [7, 8].enumerated() {
            m.resetCache()
            let direct = try m.forward(.prompt(a + [t])).last!
            XCTAssertLessThan(Budget.nmse(forked[i], direct), 1e-12)
        }
    }
}
