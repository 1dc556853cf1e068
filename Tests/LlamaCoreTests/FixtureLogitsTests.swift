import CPUBackend
import Foundation
import GGUF
import LlamaCore
import TestSupport
import XCTest

/// The CPU forward pass against the fixtures' independent references (float64 `exact` math
/// and llama.cpp), within DESIGN.md's budgets.
final class FixtureLogitsTests: XCTestCase {
    struct Reference: Decodable {
        let prompt_tokens: [Int]
        let greedy_tokens: [Int]
    }

    func logits(model: String, mode: CPUBackend.Mode) throws -> (ours: [Float], exact: [Float], llamacpp: [Float], ref: Reference) {
        let path = try Fixtures.require("models/\(model).gguf")
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: try Fixtures.require("reference/\(model).json"))))
        let gguf = try GGUFFile(path: path)
        let model = try Transformer(gguf: gguf, backend: CPUBackend(mode: mode), cacheCells: 64)
        let rows = try model.forward(.prompt(ref.prompt_tokens, allLogits: true))
        let stem = (path as NSString).lastPathComponent.replacingOccurrences(of: ".gguf", with: "")
        let exact = try NpyReader.read(try Fixtures.require("reference/\(stem).exact.logits.npy"))
        let llamacpp = try NpyReader.read(try Fixtures.require("reference/\(stem).llamacpp.logits.npy"))
        XCTAssertEqual(exact.shape, [ref.prompt_tokens.count, model.config.vocabSize])
        return (rows.flatMap { $0 }, exact.values, llamacpp.values, ref)
    }

    func check(_ model: String, exactBudget: Double, llamacppBudget: Double, modes: [CPUBackend.Mode] = [.fast]) throws {
        for mode in modes {
            let r = try logits(model: model, mode: mode)
            let e = Budget.nmse(r.ours, r.exact), l = Budget.nmse(r.ours, r.llamacpp)
            print("\(model) [\(mode)]: NMSE vs exact \(e), vs llama.cpp \(l)")
            XCTAssertLessThanOrEqual(e, exactBudget, "\(model) \(mode) vs exact")
            XCTAssertLessThanOrEqual(l, llamacppBudget, "\(model) \(mode) vs llama.cpp")
        }
    }

    func testF32MatchesExact() throws {
        try check("tiny-spm-f32", exactBudget: Budget.f32VsExact, llamacppBudget: Budget.f32VsExact, modes: [.fast, .reference])
    }

    func testF16MatchesExact() throws {
        try check("tiny-spm-f16", exactBudget: Budget.halfVsExact, llamacppBudget: Budget.quantizedVsOther)
    }

    func testQ8_0() throws {
        try check("tiny-spm-q8_0", exactBudget: Budget.quantizedVsFollowed, llamacppBudget: Budget.quantizedVsOther, modes: [.fast, .reference])
    }

    func testQ4_0() throws {
        try check("tiny-spm-q4_0", exactBudget: Budget.quantizedVsFollowed, llamacppBudget: Budget.quantizedVsOther)
    }

    func testBPEQ8_0TiedOutput() throws {
        try check("tiny-bpe-q8_0", exactBudget: Budget.quantizedVsFollowed, llamacppBudget: Budget.quantizedVsOther)
    }

    /// `.quantized` rounds activations to 8 bits per block as llama.cpp does, so it follows
    /// llama.cpp's logits (the tight budget) and the float64 ones only loosely.
    func testQuantizedModeFollowsLlamaCpp() throws {
        for model in ["tiny-spm-q8_0", "tiny-spm-q4_0", "tiny-bpe-q8_0"] {
            try check(model, exactBudget: Budget.quantizedVsOther, llamacppBudget: Budget.quantizedVsFollowed, modes: [.quantized])
        }
    }

    /// Greedy decoding, one token at a time through the KV cache, reproduces llama.cpp's tokens.
    func testGreedyTokensF32() throws {
        let path = try Fixtures.require("models/tiny-spm-f32.gguf")
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: try Fixtures.require("reference/tiny-spm-f32.json"))))
        let model = try Transformer(gguf: GGUFFile(path: path), backend: CPUBackend(), cacheCells: 128)
        var logits = try model.forward(.prompt(ref.prompt_tokens)).last!
        var out: [Int] = []
        for _ in ref.greedy_tokens.indices {
            let next = logits.indices.max { logits[$0] < logits[$1] }!
            out.append(next)
            logits = try model.forward([BatchEntry(token: next, position: ref.prompt_tokens.count + out.count - 1, wantsLogits: true)])[0]
        }
        XCTAssertEqual(out, ref.greedy_tokens)
    }
}
