import CPUBackend
import Foundation
import GGUF
import LlamaCore
import OpenCLBackend
@testable import OpenCLVerification
import TestSupport
import XCTest

/// Every fixture model on OpenCL: logits within the budgets the CPU meets against the
/// independent references (float64 `exact`, llama.cpp), and within Budget.openCLModel of the CPU.
final class FixtureModelTests: XCTestCase {
    struct Reference: Decodable {
        let prompt_tokens: [Int]
        let greedy_tokens: [Int]
    }

    func reference(_ model: String) throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: try Fixtures.require("reference/\(model).json"))))
    }

    func check(_ model: String, exactBudget: Double, llamacppBudget: Double) throws {
        let path = try Fixtures.require("models/\(model).gguf")
        let ref = try reference(model)
        let gguf = try GGUFFile(path: path)
        let exact = try NpyReader.read(try Fixtures.require("reference/\(model).exact.logits.npy")).values
        let llamacpp = try NpyReader.read(try Fixtures.require("reference/\(model).llamacpp.logits.npy")).values

        let gpu = try Transformer(gguf: gguf, backend: try openCL(), cacheCells: 64)
        let ours = try gpu.forward(.prompt(ref.prompt_tokens, allLogits: true)).flatMap { $0 }
        let cpu = try Transformer(gguf: gguf, backend: CPUBackend(), cacheCells: 64)
        let cpuLogits = try cpu.forward(.prompt(ref.prompt_tokens, allLogits: true)).flatMap { $0 }

        let e = Budget.nmse(ours, exact), l = Budget.nmse(ours, llamacpp), c = Budget.nmse(ours, cpuLogits)
        print("\(model) [opencl]: NMSE vs exact \(e), vs llama.cpp \(l), vs CPU \(c)")
        XCTAssertLessThanOrEqual(e, exactBudget, "\(model) vs exact")
        XCTAssertLessThanOrEqual(l, llamacppBudget, "\(model) vs llama.cpp")
        XCTAssertLessThanOrEqual(c, Budget.openCLModel, "\(model) vs CPU")
        XCTAssertTrue(ours.allSatisfy(\.isFinite), "\(model): NaN or inf in the logits")
    }

    func testF32() throws { try check("tiny-spm-f32", exactBudget: Budget.f32VsExact, llamacppBudget: Budget.f32VsExact) }
    func testF16() throws { try check("tiny-spm-f16", exactBudget: Budget.halfVsExact, llamacppBudget: Budget.quantizedVsOther) }
    func testQ8_0() throws { try check("tiny-spm-q8_0", exactBudget: Budget.quantizedVsFollowed, llamacppBudget: Budget.quantizedVsOther) }
    func testQ4_0() throws { try check("tiny-spm-q4_0", exactBudget: Budget.quantizedVsFollowed, llamacppBudget: Budget.quantizedVsOther) }
    func testBPEQ8_0TiedOutput() throws { try check("tiny-bpe-q8_0", exactBudget: Budget.quantizedVsFollowed, llamacppBudget: Budget.quantizedVsOther) }

    /// Greedy decoding one token at a time (the fused matvec path) reproduces llama.cpp's tokens,
    /// with the driver's matvec layout and with the GPU's (32 lanes per row) forced.
    func testGreedyTokensF32() throws {
        try greedy(backend: try openCL())
        try greedy(backend: try makeOpenCL(.init(matvecLanes: 32)))
    }

    func greedy(backend: OpenCLBackend) throws {
        let ref = try reference("tiny-spm-f32")
        let model = try Transformer(gguf: GGUFFile(path: try Fixtures.require("models/tiny-spm-f32.gguf")), backend: backend, cacheCells: 128)
        var logits = try model.forward(.prompt(ref.prompt_tokens)).last!
        var out: [Int] = []
        for _ in ref.greedy_tokens.indices {
            let next = argmax(logits)
            out.append(next)
            logits = try model.forward([BatchEntry(token: next, position: ref.prompt_tokens.count + out.count - 1, wantsLogits: true)])[0]
        }
        XCTAssertEqual(out, ref.greedy_tokens)
    }

    /// The model-wide comparison `llamacl verify` runs passes on a quantized fixture.
    func testModelComparisonPasses() throws {
        let ref = try reference("tiny-spm-q4_0")
        let gguf = try GGUFFile(path: try Fixtures.require("models/tiny-spm-q4_0.gguf"))
        let checks = try ModelComparison.run(gguf: gguf, openCL: try openCL(), prompt: ref.prompt_tokens, generate: 6)
        XCTAssertEqual(checks.filter { $0.name.hasPrefix("layer") }.count, 2)
        for c in checks {
            print("\(c.name): \(c.metric) \(c.value) (budget \(c.budget))")
            XCTAssertTrue(c.pass, "\(c.name): \(c.value) vs budget \(c.budget)")
        }
    }
}
