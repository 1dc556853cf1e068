import Foundation
import GGUF
import TestSupport
import XCTest

/// The shared fixture files (written by llama.cpp's tools) read correctly.
final class FixtureFileTests: XCTestCase {
    struct Expect {
        let file: String, tensors: Int, vocab: Int, ffn: Int, kvHeads: Int, ropeBase: Double, tied: Bool
        /// Expected type of each 2-D weight (1-D norms are always F32), with exceptions by name.
        let matrixType: TensorType, exceptions: [String: TensorType]
    }

    static let models: [Expect] = [
        Expect(file: "tiny-spm-f32", tensors: 21, vocab: 32000, ffn: 256, kvHeads: 2, ropeBase: 10000, tied: false, matrixType: .f32, exceptions: [:]),
        Expect(file: "tiny-spm-f16", tensors: 21, vocab: 32000, ffn: 256, kvHeads: 2, ropeBase: 10000, tied: false, matrixType: .f16, exceptions: [:]),
        Expect(file: "tiny-spm-q8_0", tensors: 21, vocab: 32000, ffn: 256, kvHeads: 2, ropeBase: 10000, tied: false, matrixType: .q8_0, exceptions: [:]),
        Expect(file: "tiny-spm-q4_0", tensors: 21, vocab: 32000, ffn: 256, kvHeads: 2, ropeBase: 10000, tied: false, matrixType: .q4_0,
               exceptions: ["output.weight": .q8_0]),
        Expect(file: "tiny-bpe-q8_0", tensors: 20, vocab: 128_256, ffn: 384, kvHeads: 1, ropeBase: 500_000, tied: true, matrixType: .q8_0, exceptions: [:]),
    ]

    func testModels() throws {
        for e in Self.models {
            let path = try Fixtures.require("models/\(e.file).gguf")
            let f = try GGUFFile(path: path)
            XCTAssertEqual(f.version, 3, e.file)
            XCTAssertEqual(f.alignment, 32)
            XCTAssertEqual(try f.string("general.architecture"), "llama", e.file)
            XCTAssertEqual(try f.int("llama.embedding_length"), 128)
            XCTAssertEqual(try f.int("llama.block_count"), 2)
            XCTAssertEqual(try f.int("llama.attention.head_count"), 4)
            XCTAssertEqual(try f.int("llama.attention.head_count_kv"), e.kvHeads, e.file)
            XCTAssertEqual(try f.int("llama.feed_forward_length"), e.ffn, e.file)
            XCTAssertEqual(try f.double("llama.rope.freq_base"), e.ropeBase, e.file)
            XCTAssertEqual(try f.stringArray("tokenizer.ggml.tokens")?.count, e.vocab, e.file)
            XCTAssertEqual(try f.string("tokenizer.ggml.model"), e.vocab == 32000 ? "llama" : "gpt2")
            XCTAssertEqual(f.tensors.count, e.tensors, e.file)
            XCTAssertEqual(f.tensor(named: "output.weight") == nil, e.tied, e.file)

            let embd = try f.requireTensor("token_embd.weight")
            XCTAssertEqual(embd.dims, [128, e.vocab])
            for t in f.tensors {
                let want = t.dims.count == 1 ? .f32 : (e.exceptions[t.name] ?? e.matrixType)
                XCTAssertEqual(t.type, want, "\(e.file): \(t.name)")
                XCTAssertEqual(t.offset % f.alignment, 0)
                XCTAssertGreaterThanOrEqual(f.dataOffset + t.offset, f.dataOffset)
                XCTAssertLessThanOrEqual(f.dataOffset + t.offset + t.byteCount, f.file.size, "\(e.file): \(t.name) inside the file")
            }
            for l in 0..<2 {
                for n in ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"] {
                    XCTAssertNotNil(f.tensor(named: "blk.\(l).\(n).weight"), "\(e.file): blk.\(l).\(n)")
                }
            }
            XCTAssertEqual(f.tensor(named: "blk.0.attn_k.weight")?.dims, [128, 32 * e.kvHeads])
            // Tensors do not overlap.
            let spans = f.tensors.map { ($0.offset, $0.offset + $0.byteCount) }.sorted { $0.0 < $1.0 }
            for (a, b) in zip(spans, spans.dropFirst()) { XCTAssertLessThanOrEqual(a.1, b.0) }
        }
    }

    /// The quantized models hold the F32 model's weights: dequantized, they are close to it.
    func testQuantizedWeightsMatchF32Model() throws {
        let reference = try GGUFFile(path: try Fixtures.require("models/tiny-spm-f32.gguf"))
        for (file, bound) in [("tiny-spm-f16", 1e-3), ("tiny-spm-q8_0", 0.01), ("tiny-spm-q4_0", 0.12)] {
            let f = try GGUFFile(path: try Fixtures.require("models/\(file).gguf"))
            for t in f.tensors {
                let r = try XCTUnwrap(reference.tensor(named: t.name))
                XCTAssertEqual(r.dims, t.dims)
                let e = relativeRMS(f.floats(t), reference.floats(r))
                let limit = t.type == .q8_0 ? 0.01 : (t.type == .f32 ? 0 : bound)
                XCTAssertLessThanOrEqual(e, limit, "\(file): \(t.name) (\(t.type))")
            }
        }
    }

    func testTokenizerVocabFiles() throws {
        for (name, model, vocab) in [("llama-spm", "llama", 32000), ("llama-bpe", "gpt2", 128_256)] {
            let f = try GGUFFile(path: try Fixtures.require("tokenizer/ggml-vocab-\(name).gguf"))
            XCTAssertEqual(f.version, 3)
            XCTAssertEqual(try f.string("general.architecture"), "llama")
            XCTAssertTrue(f.tensors.isEmpty, name)
            XCTAssertEqual(try f.string("tokenizer.ggml.model"), model)
            XCTAssertEqual(try f.stringArray("tokenizer.ggml.tokens")?.count, vocab)
            XCTAssertEqual(try f.intArray("tokenizer.ggml.token_type")?.count, vocab)
            // Vocab-only files end right after the header, without padding to the alignment.
            XCTAssertLessThan(f.dataOffset - f.file.size, f.alignment)
            if model == "llama" {
                XCTAssertEqual(try f.floatArray("tokenizer.ggml.scores")?.count, vocab)
                XCTAssertEqual(try f.bool("tokenizer.ggml.add_bos_token"), true)
                XCTAssertEqual(try f.int("tokenizer.ggml.bos_token_id"), 1)
            } else {
                XCTAssertGreaterThan(try f.stringArray("tokenizer.ggml.merges")?.count ?? 0, 100_000)
                XCTAssertEqual(try f.int("tokenizer.ggml.bos_token_id"), 128_000)
            }
        }
    }
}
